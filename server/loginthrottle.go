package server

import (
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Password logins are throttled per email: after loginMaxFails failures
// within loginFailWindow, further attempts for that email are refused
// (429) until the oldest of them leaves the window, so a password cannot
// be guessed at the speed of bcrypt.
const (
	loginMaxFails    = 10
	loginFailWindow  = 15 * time.Minute
	loginMaxTracked  = 10000 // emails tracked at once (memory bound)
	loginDummySecret = "interval-go: no such user"
)

type loginThrottle struct {
	mu    sync.Mutex
	fails map[string][]time.Time // by lower-cased email, oldest first

	dummyOnce sync.Once
	dummy     []byte // a hash compared for unknown users (same timing)
}

// retryAfter returns how long email must wait before the next attempt;
// zero when it may try now.
func (l *loginThrottle) retryAfter(email string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	fs := l.recent(strings.ToLower(email), now)
	if len(fs) < loginMaxFails {
		return 0
	}
	return fs[len(fs)-loginMaxFails].Add(loginFailWindow).Sub(now)
}

// fail records a failed attempt for email.
func (l *loginThrottle) fail(email string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := strings.ToLower(email)
	if l.fails == nil {
		l.fails = map[string][]time.Time{}
	}
	if _, ok := l.fails[key]; !ok && len(l.fails) >= loginMaxTracked {
		for k := range l.fails {
			l.recent(k, now)
		}
		if len(l.fails) >= loginMaxTracked {
			return
		}
	}
	l.fails[key] = append(l.recent(key, now), now)
}

// succeed forgets email's failures.
func (l *loginThrottle) succeed(email string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, strings.ToLower(email))
}

// recent drops key's failures older than the window and returns the rest
// (l.mu held).
func (l *loginThrottle) recent(key string, now time.Time) []time.Time {
	fs := l.fails[key]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) >= loginFailWindow {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(l.fails, key)
		return nil
	}
	l.fails[key] = fs
	return fs
}

// compareDummy spends the time of a password check for an unknown user or
// one without a password, so the answer's timing does not tell them apart.
func (l *loginThrottle) compareDummy(password string) {
	l.dummyOnce.Do(func() {
		l.dummy, _ = bcrypt.GenerateFromPassword([]byte(loginDummySecret), bcryptCost)
	})
	bcrypt.CompareHashAndPassword(l.dummy, []byte(password))
}
