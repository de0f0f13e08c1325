package server

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

// A run opened while the only host of its action is reconnecting waits for
// a host instead of failing at once: the operator is told the host is
// away (HOST_CLOSED_UNEXPECTEDLY), the run starts when a host with the
// action initializes (HOST_RECONNECTED), and completes. One that no host
// comes back for fails after HostReturnWait; an action whose host left
// longer ago than that is unknown again, as before.
func TestRunWaitsForReconnectingHost(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	key := admin.key("development")
	b := admin.browser()
	inst := uuid.NewString()
	h := e.host(key, inst, action("calc"))
	h.close()
	until(t, e, "the host's socket to end", func(hb *hub) bool { return hb.hosts[inst] == nil })

	id := admin.createTx("calc", "development")
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	var ref protocol.TransactionRef
	b.next(protocol.MethodHostClosedUnexpectedly).decode(t, &ref)
	if ref.TransactionID != id {
		t.Fatalf("HOST_CLOSED_UNEXPECTEDLY for %s, want %s", ref.TransactionID, id)
	}
	wantStatus(t, admin, store.StatusHostDropped, id)

	h2 := e.host(key, inst, action("calc"))
	if in := h2.expect(protocol.MethodStartTransaction).start(t); in.TransactionID != id {
		t.Fatalf("START_TRANSACTION for %s, want %s", in.TransactionID, id)
	}
	b.next(protocol.MethodHostReconnected)
	wantStatus(t, admin, store.StatusRunning, id)
	complete(t, h2, id, "done")
	b.next(protocol.MethodTransactionCompleted)
	if d := admin.tx(id); d.Status != store.StatusCompleted || d.ResultStatus != "SUCCESS" {
		t.Fatalf("after its result: %+v", d)
	}

	// No host comes back: it fails after the wait, saying why.
	h2.close()
	until(t, e, "the host's socket to end", func(hb *hub) bool { return hb.hosts[inst] == nil })
	lost := admin.createTx("calc", "development")
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: lost})
	b.next(protocol.MethodHostClosedUnexpectedly)
	e.s.hub.sweep(time.Now().Add(DefaultHostReturnWait / 2))
	wantStatus(t, admin, store.StatusHostDropped, lost)
	e.s.hub.sweep(time.Now().Add(DefaultHostReturnWait + time.Second))
	var done protocol.TransactionCompletedInputs
	b.next(protocol.MethodTransactionCompleted).decode(t, &done)
	if done.TransactionID != lost || done.ResultStatus != "FAILURE" || !strings.Contains(done.Result, "NoHostOnline") {
		t.Fatalf("TRANSACTION_COMPLETED %+v", done)
	}

	// Long gone: its action is no longer known (the create is refused).
	var out json.RawMessage
	if code := admin.try("POST", "/api/console/transactions", map[string]any{"slug": "calc", "env": "development"}, &out); code != 404 {
		t.Fatalf("create after the wait: HTTP %d, want 404", code)
	}
}
