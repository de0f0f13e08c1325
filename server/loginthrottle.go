package server

import (
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"
)

// Password logins are limited three ways, so that a password cannot be
// guessed at the speed of bcrypt and password checks cannot burn the
// server's CPU:
//
//   - per email: after loginMaxFails failures within loginFailWindow,
//     further attempts for that email are refused (429) until the oldest
//     of them leaves the window;
//   - per client address (Options.TrustedProxies says where it comes
//     from; an IPv6 client counts by its /64): loginClientBurst attempts,
//     then one per loginClientEvery;
//   - for the whole server: loginGlobalRate password checks a second
//     (burst loginGlobalBurst).
//
// An email with no user, or a user without a password, is checked against
// a dummy hash made at start, under the same limits, so neither the answer
// nor its timing tells whether the email is a user's.
const (
	loginMaxFails    = 10
	loginFailWindow  = 15 * time.Minute
	loginMaxTracked  = 10000 // emails tracked at once (memory bound)
	loginDummySecret = "interval-go: no such user"

	loginClientEvery  = 3 * time.Second
	loginClientBurst  = 10
	loginMaxClients   = 10000 // client addresses tracked at once
	loginGlobalRate   = 10
	loginGlobalBurst  = 30
	loginEvictPercent = 10 // of loginMaxTracked, evicted at once when full
)

type loginThrottle struct {
	mu      sync.Mutex
	fails   map[string][]time.Time // by lower-cased email, oldest first
	clients map[netip.Prefix]*rate.Limiter
	global  *rate.Limiter

	// Limits (the constants above; tests lower them).
	maxTracked, maxClients int
	clientEvery            time.Duration
	clientBurst            int

	dummyOnce sync.Once
	dummy     []byte // a hash compared for unknown users (same timing)
}

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{
		fails:       map[string][]time.Time{},
		clients:     map[netip.Prefix]*rate.Limiter{},
		global:      rate.NewLimiter(loginGlobalRate, loginGlobalBurst),
		maxTracked:  loginMaxTracked,
		maxClients:  loginMaxClients,
		clientEvery: loginClientEvery,
		clientBurst: loginClientBurst,
	}
}

// clientKey is what a client's attempts count under: its address, or the
// /64 of an IPv6 address (one subscriber's block).
func clientKey(a netip.Addr) netip.Prefix {
	if a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return p
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen())
}

// allowClient takes one attempt from client's allowance; false with how
// long to wait when it has none left.
func (l *loginThrottle) allowClient(client netip.Addr, now time.Time) (bool, time.Duration) {
	key := clientKey(client)
	l.mu.Lock()
	lim, ok := l.clients[key]
	if !ok {
		if len(l.clients) >= l.maxClients {
			// Forget clients whose allowance is full again: they hold
			// no state.
			for k, c := range l.clients {
				if c.TokensAt(now) >= float64(l.clientBurst) {
					delete(l.clients, k)
				}
			}
		}
		if len(l.clients) >= l.maxClients {
			// More clients at their limit than the global ceiling lets
			// through: a flood; refuse rather than forget one.
			l.mu.Unlock()
			return false, l.clientEvery
		}
		lim = rate.NewLimiter(rate.Every(l.clientEvery), l.clientBurst)
		l.clients[key] = lim
	}
	l.mu.Unlock()
	if lim.AllowN(now, 1) {
		return true, 0
	}
	r := lim.ReserveN(now, 1)
	d := r.DelayFrom(now)
	r.CancelAt(now)
	return false, d
}

// allowGlobal takes one password check from the server's allowance.
func (l *loginThrottle) allowGlobal(now time.Time) (bool, time.Duration) {
	if l.global.AllowN(now, 1) {
		return true, 0
	}
	r := l.global.ReserveN(now, 1)
	d := r.DelayFrom(now)
	r.CancelAt(now)
	return false, d
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

// fail records a failed attempt for email. Every failure is recorded: when
// loginMaxTracked emails are tracked, the ones with the fewest recent
// failures make room, so an email one guessed at is the last to be
// forgotten (failing once for each of many made-up emails does not reset
// it).
func (l *loginThrottle) fail(email string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := strings.ToLower(email)
	if _, ok := l.fails[key]; !ok && len(l.fails) >= l.maxTracked {
		l.evict(now)
	}
	fs := append(l.recent(key, now), now)
	if len(fs) > loginMaxFails {
		fs = fs[len(fs)-loginMaxFails:] // enough to know when it may try
	}
	l.fails[key] = fs
}

// evict makes room for loginEvictPercent of the tracked emails: expired
// ones first, then those with the fewest recent failures (l.mu held).
func (l *loginThrottle) evict(now time.Time) {
	byCount := make([][]string, loginMaxFails+1)
	for k := range l.fails {
		if n := len(l.recent(k, now)); n > 0 {
			byCount[n] = append(byCount[n], k)
		}
	}
	free := func() int { return l.maxTracked - len(l.fails) }
	want := max(l.maxTracked*loginEvictPercent/100, 1)
	for n := 1; n <= loginMaxFails && free() < want; n++ {
		for _, k := range byCount[n] {
			if free() >= want {
				break
			}
			delete(l.fails, k)
		}
	}
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

// prepareDummy makes the dummy hash (New calls it, so the first unknown
// email is not slower than the others).
func (l *loginThrottle) prepareDummy() {
	l.dummyOnce.Do(func() {
		l.dummy, _ = bcrypt.GenerateFromPassword([]byte(loginDummySecret), bcryptCost)
	})
}

// compareDummy spends the time of a password check for an unknown user or
// one without a password, so the answer's timing does not tell them apart.
func (l *loginThrottle) compareDummy(password string) {
	l.prepareDummy()
	bcrypt.CompareHashAndPassword(l.dummy, []byte(password))
}
