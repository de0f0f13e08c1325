package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

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
