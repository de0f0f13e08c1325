package server

import (
	"net/http"
	"testing"

	"github.com/coder/websocket"

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
	var users struct{ Users []userJSON }
	admin.do("GET", "/api/console/users", nil, http.StatusOK, &users)
	var bossID string
	for _, u := range users.Users {
		if u.Email == "boss@example.com" {
			bossID = u.ID
		}
	}
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
