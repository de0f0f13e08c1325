package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// setClientLimit changes the per-client allowance of clients not seen yet
// (tests).
func (l *loginThrottle) setClientLimit(every time.Duration, burst int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clientEvery, l.clientBurst = every, burst
}

// An email too long to be anyone's is refused at once, logged, and not
// tracked by the login throttle (10,000 emails of 4 MiB each would hold
// 40 GB); creating a user with one is a 400.
func TestLoginEmailTooLong(t *testing.T) {
	var logs logBuf
	e := newEnv(t, Options{Logger: logs.logger()})
	admin := e.admin()
	long := strings.Repeat("a", 1<<20) + "@example.com"
	body, _ := json.Marshal(map[string]string{"email": long, "password": "whatever-password"})
	req, _ := http.NewRequest("POST", e.hs.URL+"/api/auth/login", bytes.NewReader(body))
	req.Header.Set(ConsoleHeader, "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("login with a 1 MiB email: HTTP %d", resp.StatusCode)
	}
	waitLogged(t, &logs, `msg="password login failed: email too long"`)
	e.s.logins.mu.Lock()
	tracked := len(e.s.logins.fails)
	e.s.logins.mu.Unlock()
	if tracked != 0 {
		t.Fatalf("%d emails tracked by the throttle", tracked)
	}
	if code := admin.try("POST", "/api/console/users", map[string]any{"email": long, "role": "member"}, nil); code != http.StatusBadRequest {
		t.Fatalf("user with a 1 MiB email: HTTP %d", code)
	}
}

// Failing once for each of more made-up emails than the throttle tracks
// does not switch it off: it stopped recording at 10,000 emails, so the
// real account could then be guessed at without limit. Every failure is
// recorded, and an email guessed at outlives emails tried once.
func TestLoginThrottleNotBypassedByManyEmails(t *testing.T) {
	l := newLoginThrottle()
	now := time.Unix(1_800_000_000, 0)
	victim := "admin@example.com"
	for i := 0; i < loginMaxFails-1; i++ {
		l.fail(victim, now)
	}
	for i := range loginMaxTracked + 10 {
		l.fail(fmt.Sprintf("nobody%d@example.com", i), now)
	}
	l.fail(strings.ToUpper(victim), now)
	if l.retryAfter(victim, now) <= 0 {
		t.Fatalf("%d failures for %s, then %d other emails: not locked", loginMaxFails, victim, loginMaxTracked+10)
	}
	if n := len(l.fails); n > loginMaxTracked {
		t.Fatalf("%d emails tracked, bound %d", n, loginMaxTracked)
	}
	// Fill it first, then guess: still locked after loginMaxFails.
	l = newLoginThrottle()
	for i := range loginMaxTracked * 2 {
		l.fail(fmt.Sprintf("nobody%d@example.com", i), now)
	}
	for range loginMaxFails {
		l.fail(victim, now)
	}
	if l.retryAfter(victim, now) <= 0 {
		t.Fatal("guesses after the table filled up were not counted")
	}
	if wait := l.retryAfter(victim, now.Add(loginFailWindow)); wait != 0 {
		t.Fatalf("still locked after the window: %v", wait)
	}
}

// Password checks are limited per client address: after the burst, more
// attempts from the same client get 429 with Retry-After before any
// password is checked, whatever email they name (made-up emails cost a
// password check each: an unauthenticated way to burn the CPU). The
// client is the TCP peer unless it is a trusted proxy: then X-Forwarded-For
// says who; the header from anyone else changes nothing.
func TestLoginLimitedPerClient(t *testing.T) {
	var logs logBuf
	e := newEnv(t, Options{Logger: logs.logger(), TrustedProxies: []string{"127.0.0.0/8"}})
	e.s.logins.setClientLimit(time.Hour, 3)
	login := func(email, xff string) (int, string) {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"email": email, "password": "wrong password"})
		req, _ := http.NewRequest("POST", e.hs.URL+"/api/auth/login", bytes.NewReader(b))
		req.Header.Set(ConsoleHeader, "1")
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	for i := range 3 {
		if code, _ := login(fmt.Sprintf("nobody%d@example.com", i), "203.0.113.7"); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: HTTP %d", i, code)
		}
	}
	for _, email := range []string{"nobody9@example.com", "admin@localhost"} {
		if code, after := login(email, "203.0.113.7"); code != http.StatusTooManyRequests || after == "" {
			t.Fatalf("%s past the client's limit: HTTP %d, Retry-After %q", email, code, after)
		}
	}
	waitLogged(t, &logs, `msg="password login refused: too many attempts from this client" client=203.0.113.7`)
	// The client's own X-Forwarded-For entries left of the proxy's are
	// not believed; another client has its own allowance.
	if code, _ := login("nobody@example.com", "198.51.100.1, 203.0.113.7"); code != http.StatusTooManyRequests {
		t.Fatalf("a forged X-Forwarded-For entry got past the limit: HTTP %d", code)
	}
	if code, _ := login("nobody@example.com", "203.0.113.8"); code != http.StatusUnauthorized {
		t.Fatalf("another client: HTTP %d", code)
	}
	// IPv6 clients count by their /64.
	for i := range 3 {
		if code, _ := login("nobody@example.com", fmt.Sprintf("2001:db8:1:2::%x", i+1)); code != http.StatusUnauthorized {
			t.Fatalf("IPv6 attempt %d: HTTP %d", i, code)
		}
	}
	if code, _ := login("nobody@example.com", "2001:db8:1:2:ffff::1"); code != http.StatusTooManyRequests {
		t.Fatalf("another address of the same /64: HTTP %d", code)
	}
}

// Without a trusted proxy, X-Forwarded-For is ignored: a client cannot
// get a fresh allowance by writing another address into it.
func TestLoginForwardedForIgnoredByDefault(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.logins.setClientLimit(time.Hour, 2)
	codes := []int{}
	for i := range 4 {
		b, _ := json.Marshal(map[string]string{"email": "nobody@example.com", "password": "wrong password"})
		req, _ := http.NewRequest("POST", e.hs.URL+"/api/auth/login", bytes.NewReader(b))
		req.Header.Set(ConsoleHeader, "1")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if fmt.Sprint(codes) != fmt.Sprint([]int{401, 401, 429, 429}) {
		t.Fatalf("codes %v", codes)
	}
	if _, err := New(t.Context(), Options{DataDir: t.TempDir(), TrustedProxies: []string{"proxy.internal"}}); err == nil || !strings.Contains(err.Error(), "proxy.internal") {
		t.Fatalf("New with a host name as trusted proxy: %v", err)
	}
}

// All clients together get at most the server's ceiling of password
// checks; beyond it logins are refused (429) without checking a password.
func TestLoginGlobalCeiling(t *testing.T) {
	l := newLoginThrottle()
	now := time.Unix(1_800_000_000, 0)
	allowed := 0
	for i := range loginGlobalBurst * 3 {
		if ok, _ := l.allowClient(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), now); !ok {
			t.Fatalf("client %d refused on its first attempt", i)
		}
		if ok, wait := l.allowGlobal(now); ok {
			allowed++
		} else if wait <= 0 {
			t.Fatal("refused without a wait")
		}
	}
	if allowed != loginGlobalBurst {
		t.Fatalf("%d password checks allowed at once, want the burst %d", allowed, loginGlobalBurst)
	}
	if ok, _ := l.allowGlobal(now.Add(time.Second)); !ok {
		t.Fatal("no password check allowed a second later")
	}
	// Clients at their limit are never forgotten to make room: past the
	// bound, new clients are refused until old ones are idle again.
	l = newLoginThrottle()
	l.maxClients = 5
	for i := range 5 {
		for range loginClientBurst {
			l.allowClient(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), now)
		}
	}
	if ok, _ := l.allowClient(netip.AddrFrom4([4]byte{10, 0, 1, 1}), now); ok {
		t.Fatal("a new client forgot a limited one")
	}
	if ok, _ := l.allowClient(netip.AddrFrom4([4]byte{10, 0, 0, 0}), now); ok {
		t.Fatal("a limited client allowed again")
	}
	later := now.Add(loginClientEvery * loginClientBurst)
	if ok, _ := l.allowClient(netip.AddrFrom4([4]byte{10, 0, 1, 1}), later); !ok {
		t.Fatal("a new client refused once the others were idle")
	}
}

// Over HTTP: past the server's ceiling, a client with allowance left is
// refused with 429 and a message saying the server is busy.
func TestLoginGlobalCeilingHTTP(t *testing.T) {
	var logs logBuf
	e := newEnv(t, Options{Logger: logs.logger(), TrustedProxies: []string{"127.0.0.1"}})
	now := time.Now()
	e.s.logins.global.SetLimitAt(now, rate.Every(time.Hour))
	e.s.logins.global.SetBurstAt(now, 2)
	var codes []int
	var last map[string]string
	for i := range 3 {
		b, _ := json.Marshal(map[string]string{"email": "nobody@example.com", "password": "wrong password"})
		req, _ := http.NewRequest("POST", e.hs.URL+"/api/auth/login", bytes.NewReader(b))
		req.Header.Set(ConsoleHeader, "1")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		last = nil
		json.NewDecoder(resp.Body).Decode(&last)
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if fmt.Sprint(codes) != fmt.Sprint([]int{401, 401, 429}) || !strings.Contains(last["error"], "too many passwords") {
		t.Fatalf("codes %v, last %v", codes, last)
	}
	waitLogged(t, &logs, `msg="password login refused: the server's password checks are at their ceiling" client=203.0.113.2`)
}
