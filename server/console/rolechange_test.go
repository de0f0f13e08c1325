package console_test

import (
	"context"
	"testing"
)

// TestBrowserRoleChangeFollows: when an admin's role changes while their
// console is open (here they make themselves a developer, another admin
// existing), the server closes their socket and the console follows at
// once: the admin links leave the sidebar, the developer's stay.
func TestBrowserRoleChangeFollows(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	if _, err := e.srv.CreateUser(context.Background(), "boss@example.com", "admin", "", nil); err != nil {
		t.Fatal(err)
	}
	e.login()
	e.waitText(".side-links", "Users and teams")
	e.waitJS(`window.__intervalSocket.status === 'open'`, "the console socket")
	e.waitJS(`(window.__roleChange = fetch('/api/auth/me').then(r => r.json()).then(me =>
		fetch('/api/console/users/' + me.user.id, {method: 'PATCH', headers: {'Content-Type': 'application/json', 'X-Interval-Console': '1'},
			body: JSON.stringify({role: 'developer'})})).then(r => r.status)), true`, "the role change request")
	e.waitJS(`window.__roleChangeStatus === 200 || (window.__roleChange.then(s => { window.__roleChangeStatus = s }), false)`, "the role change to succeed")
	e.waitNoText(".side-links", "Users and teams")
	e.waitText(".side-links", "API keys")
	e.waitJS(`window.__intervalSocket.status === 'open'`, "the socket to reconnect")
}
