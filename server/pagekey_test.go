package server

import (
	"strings"
	"testing"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

// A browser cannot open a page under the id of a running transaction (nor
// under an absurd key): the page would receive the loading states and
// redirects that run's host sends for that id. The run is unaffected.
func TestPageKeyCannotTakeTransactionID(t *testing.T) {
	var logs logBuf
	e := newEnv(t, Options{Logger: logs.logger()})
	admin := e.admin()
	h, err := dialHost(t, e, admin.key(store.EnvProduction), "")
	if err != nil {
		t.Fatal(err)
	}
	var ret protocol.InitializeHostReturns
	h.call(protocol.MethodInitializeHost, protocol.InitializeHostInputs{Actions: []protocol.ActionDefinition{action("job")},
		Groups: []protocol.PageDefinition{{Slug: "dash", Name: "Dash", HasHandler: true}}, SDKName: "@interval/sdk", SDKVersion: "2.0.0"}, &ret)
	if ret.Type != "success" {
		t.Fatalf("INITIALIZE_HOST %+v", ret)
	}
	b := admin.browser()
	id := admin.startRun(b, h, "job", store.EnvProduction)

	other := e.newUser(admin, "m@example.com", store.RoleMember)
	ob := other.browser()
	for _, key := range []string{id, strings.Repeat("k", 200)} {
		var r protocol.OpenPageReturns
		if err := ob.call(protocol.MethodRequestPage, protocol.RequestPageInputs{PageKey: key, PageSlug: "dash",
			OrganizationEnvironmentID: store.EnvProduction}, &r); err != nil || r.Type != "ERROR" {
			t.Fatalf("REQUEST_PAGE with key %.20s…: %v %+v", key, err, r)
		}
	}
	var r protocol.OpenPageReturns
	if err := ob.call(protocol.MethodRequestPage, protocol.RequestPageInputs{PageKey: "k1", PageSlug: "dash",
		OrganizationEnvironmentID: store.EnvProduction, Params: map[string]any{"a": map[string]any{"b": 1}}}, &r); err != nil || r.Type != "ERROR" {
		t.Fatalf("REQUEST_PAGE with nested params: %v %+v", err, r)
	}
	waitLogged(t, &logs, `msg="refusing REQUEST_PAGE" browser=`, `err="Page key already in use."`, `err="Invalid request."`,
		`err="Page params must be strings, numbers, booleans or null."`)

	// The run's loading state still reaches its own operator.
	h.must(protocol.MethodSendLoadingCall, protocol.SendLoadingCallInputs{TransactionID: id, LoadingState: protocol.LoadingState{Label: "Working"}})
	var ls protocol.LoadingStateInputs
	b.next(protocol.MethodLoadingState).decode(t, &ls)
	if ls.TransactionID != id || ls.Label != "Working" {
		t.Fatalf("LOADING_STATE %+v", ls)
	}
	complete(t, h, id, "ok")
	b.next(protocol.MethodTransactionCompleted)
	if s := admin.tx(id).Status; s != store.StatusCompleted {
		t.Fatalf("status %s", s)
	}
}
