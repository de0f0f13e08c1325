package server

import (
	"testing"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

// SEND_LOADING_CALL reaches the operator as LOADING_STATE (a legacy title
// becomes the label), is replayed to a browser that connects later, and is
// cleared by the next IO call, as in Interval; loading for a run the host
// does not own is refused.
func TestLoadingState(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	key := admin.key(store.EnvDevelopment)
	h := e.host(key, "", action("job"))
	b := admin.browser()
	id := admin.startRun(b, h, "job", store.EnvDevelopment)
	n := 2
	h.must(protocol.MethodSendLoadingCall, protocol.SendLoadingCallInputs{TransactionID: id,
		LoadingState: protocol.LoadingState{Title: "Importing", ItemsInQueue: &n}})
	var ls protocol.LoadingStateInputs
	b.next(protocol.MethodLoadingState).decode(t, &ls)
	if ls.TransactionID != id || ls.Label != "Importing" || ls.ItemsInQueue == nil || *ls.ItemsInQueue != 2 {
		t.Fatalf("LOADING_STATE %+v", ls)
	}
	// A browser opening the run now gets the loading state.
	b2 := admin.browser()
	b2.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	b2.expect(protocol.MethodLoadingState).decode(t, &ls)
	if ls.Label != "Importing" {
		t.Fatalf("replayed LOADING_STATE %+v", ls)
	}
	// An IO call replaces it: the next browser gets the form, no loading.
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("r1", "g1", "INPUT_TEXT")})
	b2.next(protocol.MethodRender)
	b3 := admin.browser()
	b3.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	b3.next(protocol.MethodRender)
	e.s.hub.mu.Lock()
	loading := e.s.hub.txs[id].loading
	e.s.hub.mu.Unlock()
	if loading != nil {
		t.Fatalf("loading state kept after an IO call: %+v", loading)
	}
	// Another host instance cannot set it.
	other := e.host(key, "", action("job"))
	var ok bool
	if err := other.call(protocol.MethodSendLoadingCall, protocol.SendLoadingCallInputs{TransactionID: id,
		LoadingState: protocol.LoadingState{Label: "hijack"}}, &ok); err != nil || ok {
		t.Fatalf("another host's loading state: %v %v", err, ok)
	}
}
