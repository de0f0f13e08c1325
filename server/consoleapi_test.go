package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/interval-go/sdk/server/store"
)

// Every console endpoint with a JSON body refuses a malformed or
// wrong-typed one with 400 and a log line naming the path (never the
// body: the login's password stays out of it), and the API keeps working.
func TestConsoleAPIBadBodiesLogged(t *testing.T) {
	var logs logBuf
	e := newEnv(t, Options{Logger: logs.logger()})
	admin := e.admin()
	other := e.newUser(admin, "m@example.com", store.RoleMember)
	memberID := other.userID(t, e)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/auth/login", map[string]any{"email": 5, "password": "Secret-Password-In-Body"}},
		{"POST", "/api/auth/password", "not an object"},
		{"POST", "/api/console/transactions", map[string]any{"slug": []int{1}}},
		{"POST", "/api/console/users", map[string]any{"email": "x@example.com", "teams": "support"}},
		{"PATCH", "/api/console/users/" + memberID, map[string]any{"role": 1}},
		{"POST", "/api/console/teams", []string{"a"}},
		{"POST", "/api/console/keys", map[string]any{"env": true}},
		{"POST", "/api/console/http-hosts", map[string]any{"url": 3}},
	} {
		if code := admin.try(c.method, c.path, c.body, nil); code != http.StatusBadRequest {
			t.Fatalf("%s %s with a wrong-typed body: HTTP %d", c.method, c.path, code)
		}
		waitLogged(t, &logs, `msg="console request refused: invalid JSON body" method=`+c.method+` path=`+c.path+" ")
	}
	if strings.Contains(logs.String(), "Secret-Password-In-Body") {
		t.Fatalf("a request body was logged:\n%s", logs.String())
	}
	// The API and the users' sessions still work.
	other.do("GET", "/api/auth/me", nil, http.StatusOK, nil)
	admin.do("POST", "/api/console/teams", map[string]string{"slug": "ops"}, http.StatusCreated, nil)
}
