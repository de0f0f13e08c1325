package server

import (
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	wsa "github.com/interval-go/sdk/internal/isocket"
	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

// A console socket acts as the user it was opened by: when an admin
// changes that user's role or teams, their open consoles are closed (to
// reconnect as the new user), so a demoted admin keeps no admin socket;
// a deleted user's consoles are closed too. A name change closes nothing.
func TestUserChangesReachOpenConsoles(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	h := e.host(admin.key(store.EnvDevelopment), "", action("job"))
	ab := admin.browser()
	id := admin.startRun(ab, h, "job", store.EnvDevelopment)
	complete(t, h, id, "done")
	ab.next(protocol.MethodTransactionCompleted)

	boss := e.newUser(admin, "boss@example.com", store.RoleAdmin)
	bossID := boss.userID(t, e)
	connect := func(b *peer) bool {
		t.Helper()
		var ok bool
		if err := b.call(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id}, &ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	bb := boss.browser()
	if !connect(bb) {
		t.Fatal("an admin cannot open another user's run")
	}

	admin.do("PATCH", "/api/console/users/"+bossID, map[string]any{"firstName": "Big"}, http.StatusOK, nil)
	var ok bool
	if err := bb.call(protocol.MethodInitializeClient, nil, &ok); err != nil || !ok {
		t.Fatalf("a name change closed the console: %v", err)
	}

	admin.do("PATCH", "/api/console/users/"+bossID, map[string]any{"role": store.RoleMember}, http.StatusOK, nil)
	<-bb.conn.Done()
	if code, reason := closeStatus(bb.conn.Err()); code != websocket.StatusServiceRestart || reason == "" {
		t.Fatalf("demoted admin's console: close %d %q", code, reason)
	}
	if connect(boss.browser()) {
		t.Fatal("a demoted admin still opens another user's run")
	}

	bb = boss.browser()
	admin.do("PATCH", "/api/console/users/"+bossID, map[string]any{"teams": []string{"support"}}, http.StatusOK, nil)
	<-bb.conn.Done()
	if code, _ := closeStatus(bb.conn.Err()); code != websocket.StatusServiceRestart {
		t.Fatalf("console after a team change: close %d", code)
	}
	bb = boss.browser()
	admin.do("DELETE", "/api/console/users/"+bossID, nil, http.StatusNoContent, nil)
	<-bb.conn.Done()
	if code, reason := closeStatus(bb.conn.Err()); code != websocket.StatusPolicyViolation || reason != "User deleted." {
		t.Fatalf("deleted user's console: close %d %q", code, reason)
	}
}

// A developer made a member keeps no development host: the hosts of their
// development keys are closed, the keys are refused from then on (socket
// and host API alike), and a live key the admin made keeps working.
func TestDemotedDeveloperLosesDevelopmentKeys(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	dev := e.newUser(admin, "dev@example.com", store.RoleDeveloper)
	key := dev.key(store.EnvDevelopment)
	h := e.host(key, "", action("mine"))
	live := e.host(admin.key(store.EnvProduction), "", action("shared"))

	devID := dev.userID(t, e)
	admin.do("PATCH", "/api/console/users/"+devID, map[string]any{"role": store.RoleMember}, http.StatusOK, nil)
	select {
	case <-h.conn.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the demoted developer's host stays connected")
	}
	if code, reason := closeStatus(h.conn.Err()); code != websocket.StatusPolicyViolation || !strings.Contains(reason, "may no longer develop") {
		t.Fatalf("demoted developer's host: close %d %q", code, reason)
	}
	if _, err := dialHost(t, e, key, ""); !errors.Is(err, wsa.ErrUnauthorized) {
		t.Fatalf("demoted developer's key reconnects: %v", err)
	}
	if code := notifyWithKey(t, e, key); code != http.StatusForbidden {
		t.Fatalf("host API with a demoted developer's key: HTTP %d, want 403", code)
	}
	if ret := live.init(action("shared")); ret.Type != "success" {
		t.Fatalf("the live host after the demotion: %+v", ret)
	}
	// Made a developer again, the same key works.
	admin.do("PATCH", "/api/console/users/"+devID, map[string]any{"role": store.RoleDeveloper}, http.StatusOK, nil)
	e.host(key, "", action("mine"))
}

// The organization keeps an admin: the only admin cannot be made a
// developer or member (409, nothing changes); once someone else is an
// admin, they can.
func TestOnlyAdminCannotBeDemoted(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	var me struct{ User userJSON }
	admin.do("GET", "/api/auth/me", nil, http.StatusOK, &me)
	if code := admin.try("PATCH", "/api/console/users/"+me.User.ID, map[string]any{"role": store.RoleDeveloper}, nil); code != http.StatusConflict {
		t.Fatalf("demoting the only admin: HTTP %d, want 409", code)
	}
	admin.do("GET", "/api/auth/me", nil, http.StatusOK, &me)
	if me.User.Role != store.RoleAdmin {
		t.Fatalf("the only admin is now %q", me.User.Role)
	}
	e.newUser(admin, "second@example.com", store.RoleAdmin)
	admin.do("PATCH", "/api/console/users/"+me.User.ID, map[string]any{"role": store.RoleDeveloper}, http.StatusOK, nil)
	admin.do("GET", "/api/auth/me", nil, http.StatusOK, &me)
	if me.User.Role != store.RoleDeveloper {
		t.Fatalf("role after the demotion: %q", me.User.Role)
	}
}

// Changing a password ends the user's other sessions (another browser, or
// whoever had the old password) and closes the consoles open on them; the
// session that changed it, and its console, carry on. Unused login links
// of the user end too. Another user's session is untouched.
func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	bob := e.newUser(admin, "bob@example.com", store.RoleDeveloper)
	bobID := bob.userID(t, e)
	other := e.admin() // the admin in a second browser
	unused, err := e.s.LoginLink(t.Context(), "admin@localhost")
	if err != nil {
		t.Fatal(err)
	}
	mine, theirs, bobs := admin.browser(), other.browser(), bob.browser()

	admin.do("POST", "/api/auth/password", map[string]string{"password": "a new long password"}, http.StatusNoContent, nil)

	select {
	case <-theirs.conn.Done():
	case <-time.After(wait):
		t.Fatal("the other session's console stayed open")
	}
	if code, reason := closeStatus(theirs.conn.Err()); code != websocket.StatusPolicyViolation || !strings.Contains(reason, "log in again") {
		t.Fatalf("other session's console: close %d %q", code, reason)
	}
	if code := other.try("GET", "/api/auth/me", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("other session after the password change: HTTP %d", code)
	}
	if p, err := other.dialBrowser(e.hs.URL); err != nil {
		t.Fatal(err)
	} else {
		refused(t, p, "the ended session's socket")
		if _, reason := closeStatus(p.conn.Err()); !strings.Contains(reason, "Invalid session") {
			t.Fatalf("ended session's new socket: %q", reason)
		}
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(unused)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?link=invalid" || len(resp.Cookies()) != 0 {
		t.Fatalf("login link made before the password change: HTTP %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// The session that changed it, its console and other users carry on.
	for name, p := range map[string]*peer{"own": mine, "bob's": bobs} {
		var ok bool
		if err := p.call(protocol.MethodInitializeClient, nil, &ok); err != nil || !ok {
			t.Fatalf("%s console after the password change: %v %v", name, err, ok)
		}
	}
	admin.do("GET", "/api/auth/me", nil, http.StatusOK, nil)
	var me struct{ User userJSON }
	bob.do("GET", "/api/auth/me", nil, http.StatusOK, &me)
	if me.User.ID != bobID {
		t.Fatalf("bob is %+v", me.User)
	}
	// The new password logs in; the user's role was not rewritten.
	other.do("POST", "/api/auth/login", map[string]string{"email": "admin@localhost", "password": "a new long password"}, http.StatusOK, &me)
	if me.User.Role != store.RoleAdmin || !me.User.HasPassword {
		t.Fatalf("after login %+v", me.User)
	}
}

// TestSessionLookupSeesChangesAtOnce: the console API looks a session's
// user up on every request (one query, no cache): a role or team change
// applies to the very next request, and a session logged out, expired or
// whose user was deleted is refused at once.
func TestSessionLookupSeesChangesAtOnce(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	admin.do("POST", "/api/console/teams", map[string]string{"slug": "support", "name": "Support"}, http.StatusCreated, nil)
	admin.do("POST", "/api/console/teams", map[string]string{"slug": "billing", "name": "Billing"}, http.StatusCreated, nil)
	bob := e.newUser(admin, "bob@example.com", store.RoleMember, "support")
	bobID := bob.userID(t, e)
	me := func(c *client) userJSON {
		t.Helper()
		var out struct{ User userJSON }
		c.do("GET", "/api/auth/me", nil, http.StatusOK, &out)
		return out.User
	}
	if u := me(bob); u.Role != store.RoleMember || !slices.Equal(u.Teams, []string{"support"}) {
		t.Fatalf("bob before: %+v", u)
	}
	admin.do("PATCH", "/api/console/users/"+bobID, map[string]any{"role": store.RoleDeveloper, "teams": []string{"support", "billing"}}, http.StatusOK, nil)
	if u := me(bob); u.Role != store.RoleDeveloper || !slices.Equal(u.Teams, []string{"billing", "support"}) {
		t.Fatalf("bob after the change: %+v (want developer of billing, support)", u)
	}
	if code := bob.try("GET", "/api/console/users", nil, nil); code != http.StatusForbidden {
		t.Fatalf("a developer listing users: HTTP %d", code)
	}
	admin.do("PATCH", "/api/console/users/"+bobID, map[string]any{"role": store.RoleAdmin, "teams": []string{}}, http.StatusOK, nil)
	if u := me(bob); u.Role != store.RoleAdmin || len(u.Teams) != 0 || u.Teams == nil {
		t.Fatalf("bob made admin without teams: %+v", u)
	}
	bob.do("GET", "/api/console/users", nil, http.StatusOK, nil)

	// Logged out: the same cookie is refused on the next request.
	carol := e.newUser(admin, "carol@example.com", store.RoleMember)
	base, _ := url.Parse(e.hs.URL)
	stolen, _ := cookiejar.New(nil)
	stolen.SetCookies(base, carol.http.Jar.Cookies(base))
	carol.do("POST", "/api/auth/logout", nil, http.StatusNoContent, nil)
	replay := &client{t: t, e: e, http: &http.Client{Jar: stolen}}
	if code := replay.try("GET", "/api/auth/me", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("a logged-out session's cookie: HTTP %d", code)
	}

	// Deleted: bob's session ends with him.
	admin.do("DELETE", "/api/console/users/"+bobID, nil, http.StatusNoContent, nil)
	if code := bob.try("GET", "/api/auth/me", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("a deleted user's session: HTTP %d", code)
	}
}
