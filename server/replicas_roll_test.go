package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
	"github.com/interval-go/sdk/server/store/pgtest"
)

// Regressions found by the rolling restart of three replicas under load
// (cmd/interval-server TestRollingRestart).

// awaitHostGone waits until replica e no longer lists host instance inst
// of another replica as connected.
func awaitHostGone(t *testing.T, e *env, inst string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		e.s.hub.mu.Lock()
		_, listed := e.s.hub.remoteHosts[inst]
		e.s.hub.mu.Unlock()
		if !listed {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("host %s still listed on %s", inst, e.hs.URL)
}

// TestReplicasRunWaitsForHostOnAnotherReplica: the only host of an action,
// on replica B, drops (its replica restarting, say). A run of the action
// created on replica A meanwhile is created and waits for a host, as on a
// single server, rather than being refused as an unknown action; when a
// host of the action comes back on B, the run starts there and completes.
// (Before: A forgot the host at once and answered 404, and a waiting run
// only started on a host of its own replica, so it failed after
// HostReturnWait.)
func TestReplicasRunWaitsForHostOnAnotherReplica(t *testing.T) {
	rs := replicas(t, 2)
	a, b := rs[0], rs[1]
	adminA := loginOn(t, a)
	key := adminA.key(store.EnvProduction)
	h := b.host(key, "inst-1", action("hello"))
	awaitAction(t, adminA, "hello")
	h.close() // no BEGIN_HOST_SHUTDOWN: it is likely reconnecting
	awaitHostGone(t, a, "inst-1")

	var created struct{ ID string }
	if code := adminA.try("POST", "/api/console/transactions", map[string]any{"slug": "hello", "env": store.EnvProduction,
		"params": map[string]any{}}, &created); code != http.StatusCreated {
		t.Fatalf("creating a run while the action's host reconnects: HTTP %d, want 201", code)
	}
	id := created.ID
	br := adminA.browser()
	br.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})

	h2 := b.host(key, "inst-2", action("hello"))
	if st := h2.next(protocol.MethodStartTransaction).start(t); st.TransactionID != id {
		t.Fatalf("started %s, want %s", st.TransactionID, id)
	}
	h2.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("c1", "g1", "INPUT_TEXT")})
	answerAndComplete(t, br, h2, id)
	if d := adminA.tx(id); d.Status != store.StatusCompleted {
		t.Fatalf("status %s, want COMPLETED", d.Status)
	}
}

// TestReplicasNewReplicaKnowsHostsAway: a replica that starts while a host
// of another replica is reconnecting (as during a rolling restart, where
// the replica restarted just before took its hosts away) learns it from
// the others: a run of its action created there waits for it instead of
// being refused as an unknown action.
func TestReplicasNewReplicaKnowsHostsAway(t *testing.T) {
	url := pgtest.NewDatabase(t)
	a := newEnv(t, replicaOpts(url))
	b := newEnv(t, replicaOpts(url))
	adminA := loginOn(t, a)
	key := adminA.key(store.EnvProduction)
	h := b.host(key, "inst-1", action("hello"))
	awaitAction(t, adminA, "hello")
	h.close()
	awaitHostGone(t, a, "inst-1")

	c := newEnv(t, replicaOpts(url))
	deadline := time.Now().Add(wait)
	for {
		c.s.hub.mu.Lock()
		_, known := c.s.hub.left["inst-1"]
		c.s.hub.mu.Unlock()
		if known {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the new replica never learned of the host reconnecting")
		}
		time.Sleep(20 * time.Millisecond)
	}
	adminC := loginOn(t, c)
	var created struct{ ID string }
	if code := adminC.try("POST", "/api/console/transactions", map[string]any{"slug": "hello", "env": store.EnvProduction,
		"params": map[string]any{}}, &created); code != http.StatusCreated {
		t.Fatalf("creating a run on the new replica while the action's host reconnects: HTTP %d, want 201", code)
	}
}

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
	id := adminA.waitingRun(br, h, "hello")

	// The store names B as the run's owner, B has not loaded it.
	ctx := context.Background()
	if moved, err := a.s.cl.db.HandTransaction(ctx, id, a.s.cl.id, b.s.cl.id); err != nil || !moved {
		t.Fatalf("moving the owner: %v %v", moved, err)
	}
	adminC := loginOn(t, c)
	brC := adminC.browser()
	answered, code := brC.callUntilClosed(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	if answered {
		t.Fatal("CONNECT answered true for a run the replica asked does not hold")
	}
	if code != 1012 {
		t.Fatalf("closed with %v, want 1012", brC.conn.Err())
	}

	// Where the run really is again, the console reconnects and finishes.
	if moved, err := a.s.cl.db.HandTransaction(ctx, id, b.s.cl.id, a.s.cl.id); err != nil || !moved {
		t.Fatalf("moving the owner back: %v %v", moved, err)
	}
	brC2 := adminC.browser()
	brC2.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	answerAndComplete(t, brC2, h, id)
}

// TestReplicasNewReplicaListsHostsAtOnce: a replica serves only once it
// knows the hosts of the others: its first request for an action a host
// of another replica serves finds it online. (Before: the first
// heartbeat ran beside the first requests, which were refused as an
// unknown action for a moment after every restart.)
func TestReplicasNewReplicaListsHostsAtOnce(t *testing.T) {
	url := pgtest.NewDatabase(t)
	a := newEnv(t, replicaOpts(url))
	adminA := loginOn(t, a)
	key := adminA.key(store.EnvProduction)
	a.host(key, "inst-1", action("hello"))
	awaitPublished(t, a, "inst-1")

	b := newEnv(t, replicaOpts(url))
	adminB := loginOn(t, b)
	b.s.hub.mu.Lock()
	_, _, online := b.s.hub.findAction(store.EnvProduction, mustUser(t, adminB), "hello")
	b.s.hub.mu.Unlock()
	if !online {
		t.Fatal("a replica just started does not list the host of another as online")
	}
}

// awaitPublished waits until replica e has listed its host inst for the
// others.
func awaitPublished(t *testing.T, e *env, inst string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		e.s.cl.mu.Lock()
		listed := strings.Contains(e.s.cl.lastCard, inst)
		e.s.cl.mu.Unlock()
		if listed {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("host %s never listed by %s", inst, e.hs.URL)
}
