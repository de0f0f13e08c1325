package server

import (
	"context"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

// Regressions found by the rolling restart of three replicas under load
// (cmd/interval-server TestRollingRestart).

// TestReplicasConnectNeverWatchesNothing: the replica a console socket's
// CONNECT_TO_TRANSACTION_AS_CLIENT is sent to no longer holds the run
// (it moved on between the lookup and the call, as when a host moves to
// another replica). The socket is not told true while attached to
// nothing (its answers would then be refused for ever): it is closed with
// 1012, and the console, reconnecting, finds the run where it is.
func TestReplicasConnectNeverWatchesNothing(t *testing.T) {
	rs := replicas(t, 3)
	a, b, c := rs[0], rs[1], rs[2]
	adminA := loginOn(t, a)
	key := adminA.key(store.EnvProduction)
	h := a.host(key, "inst-1", action("hello"))
	awaitAction(t, adminA, "hello")
	br := adminA.browser()
	id := adminA.startRun(br, h, "hello", store.EnvProduction)
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("c1", "g1", "INPUT_TEXT")})
	br.next(protocol.MethodRender)

	// The store names B as the run's owner, B has not loaded it.
	ctx := context.Background()
	if moved, err := a.s.cl.db.HandTransaction(ctx, id, a.s.cl.id, b.s.cl.id); err != nil || !moved {
		t.Fatalf("moving the owner: %v %v", moved, err)
	}
	adminC := loginOn(t, c)
	brC := adminC.browser()
	var ok bool
	if err := brC.call(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id}, &ok); err == nil && ok {
		t.Fatal("CONNECT answered true for a run the replica asked does not hold")
	}
	select {
	case <-brC.conn.Done():
	case <-time.After(wait):
		t.Fatal("the console socket was not closed to reconnect")
	}
	if code, _ := closeStatus(brC.conn.Err()); code != 1012 {
		t.Fatalf("closed with %v, want 1012", brC.conn.Err())
	}

	// Where the run really is again, the console reconnects and finishes.
	if moved, err := a.s.cl.db.HandTransaction(ctx, id, b.s.cl.id, a.s.cl.id); err != nil || !moved {
		t.Fatalf("moving the owner back: %v %v", moved, err)
	}
	brC2 := adminC.browser()
	brC2.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	brC2.next(protocol.MethodRender)
	brC2.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id,
		IOResponse: ioResponse(id, "c1", "g1", protocol.KindReturn, "Ada")})
	h.next(protocol.MethodIOResponse)
	complete(t, h, id, "done")
	brC2.next(protocol.MethodTransactionCompleted)
}
