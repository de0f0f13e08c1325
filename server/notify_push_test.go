package server

import (
	"testing"

	"github.com/interval-go/sdk/internal/protocol"
)

// TestNotificationsPushed: a notification shows at once in every open
// console of its recipients (not only in the one watching its transaction),
// and in no one else's.
func TestNotificationsPushed(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	member := e.newUser(admin, "member@example.com", "member")
	live := admin.key("production")
	adminTab1, adminTab2 := admin.browser(), admin.browser()
	memberTab := member.browser()
	// INITIALIZE_CLIENT answered means the sockets are registered.
	adminTab1.must(protocol.MethodInitializeClient, nil)
	adminTab2.must(protocol.MethodInitializeClient, nil)
	memberTab.must(protocol.MethodInitializeClient, nil)

	got := func(p *peer) protocol.ClientNotifyInputs {
		t.Helper()
		var in protocol.ClientNotifyInputs
		p.next(protocol.MethodClientNotify).decode(t, &in)
		return in
	}
	notifyOK(t, e, live, map[string]any{"message": "to admins", "title": "Deploy"})
	for _, tab := range []*peer{adminTab1, adminTab2} {
		if in := got(tab); in.Message != "to admins" || in.Title != "Deploy" {
			t.Fatalf("admin tab got %+v", in)
		}
	}
	notifyOK(t, e, live, map[string]any{"message": "for the member", "deliveryInstructions": []any{
		map[string]any{"to": "member@example.com", "method": "EMAIL"}}})
	if in := got(memberTab); in.Message != "for the member" {
		t.Fatalf("member tab got %+v", in)
	}
	// The admin's tabs did not get the member's notification: the next
	// one they see is the next one addressed to them.
	notifyOK(t, e, live, map[string]any{"message": "admins again"})
	for _, tab := range []*peer{adminTab1, adminTab2} {
		if in := got(tab); in.Message != "admins again" {
			t.Fatalf("admin tab got %q, another user's notification", in.Message)
		}
	}
}
