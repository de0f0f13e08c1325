package server

import (
	"context"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	wsa "github.com/interval-go/sdk/internal/isocket"
	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

// freezableConn is a host's TCP connection that the test can make
// half-open: once frozen it drops everything it receives (the host answers
// nothing, not even the server's close frame) until cut, which closes it.
type freezableConn struct {
	net.Conn
	frozen atomic.Bool
	lost   atomic.Int64 // bytes dropped while frozen
	cut    chan struct{}
	once   sync.Once
}

func (c *freezableConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if c.frozen.Load() {
		c.lost.Add(int64(n))
		<-c.cut
		return 0, net.ErrClosed
	}
	return n, err
}

func (c *freezableConn) Close() error {
	c.once.Do(func() { close(c.cut) })
	return c.Conn.Close()
}

// freezableHost dials and initializes a host whose connection the test can
// freeze and cut.
func (e *env) freezableHost(key, instanceID string, actions ...protocol.ActionDefinition) (*peer, *freezableConn) {
	e.t.Helper()
	var fc *freezableConn
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		fc = &freezableConn{Conn: nc, cut: make(chan struct{})}
		return fc, nil
	}}
	p, err := newPeer(e.t, nil, func(cfg wsa.Config) (*wsa.Conn, error) {
		return wsa.Dial(context.Background(), wsa.DialOptions{Endpoint: e.wsURL(), APIKey: key, InstanceID: instanceID,
			HTTPClient: &http.Client{Transport: tr}}, cfg)
	})
	if err != nil {
		e.t.Fatalf("dial host: %v", err)
	}
	e.t.Cleanup(func() { fc.Close() })
	if ret := p.initAs(goSDK, actions...); ret.Type != "success" {
		e.t.Fatalf("INITIALIZE_HOST: %+v", ret)
	}
	return p, fc
}

// goHost dials a host that initializes as the Go SDK (which re-delivers
// its calls after a reconnection).
func (e *env) goHost(key, instanceID string, actions ...protocol.ActionDefinition) *peer {
	e.t.Helper()
	p, err := dialHost(e.t, e, key, instanceID)
	if err != nil {
		e.t.Fatalf("dial host: %v", err)
	}
	if ret := p.initAs(goSDK, actions...); ret.Type != "success" {
		e.t.Fatalf("INITIALIZE_HOST: %+v", ret)
	}
	return p
}

// answeredRun starts a development run of slug on host h, opened in
// browser b, whose one text input the operator answers; the host has the
// answer (and computes) when it returns.
func answeredRun(admin *client, b, h *peer, slug string) string {
	id := admin.startRun(b, h, slug, "development")
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("a1", "ga", "INPUT_TEXT")})
	b.next(protocol.MethodRender)
	b.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id, IOResponse: ioResponse(id, "a1", "ga", "RETURN", "x")})
	h.next(protocol.MethodIOResponse)
	return id
}

// until waits for cond, checked under the hub's lock, to hold (the server
// handles a host's answers to its calls in the background).
func until(t *testing.T, e *env, what string, cond func(hb *hub) bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		e.s.hub.mu.Lock()
		ok := cond(e.s.hub)
		e.s.hub.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func statusOf(admin *client, ids ...string) []string {
	admin.t.Helper()
	var out []string
	for _, id := range ids {
		out = append(out, admin.tx(id).Status)
	}
	return out
}

func wantStatus(t *testing.T, admin *client, want string, ids ...string) {
	t.Helper()
	for i, s := range statusOf(admin, ids...) {
		if s != want {
			t.Fatalf("transaction %d (%s): status %s, want %s", i, ids[i], s, want)
		}
	}
}

// nextRefs returns the transaction ids of the next n calls of method to b.
func nextRefs(t *testing.T, b *peer, method string, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		var ref protocol.TransactionRef
		b.next(method).decode(t, &ref)
		ids = append(ids, ref.TransactionID)
	}
	sort.Strings(ids)
	return ids
}

func sorted(ids ...string) []string {
	ids = append([]string(nil), ids...)
	sort.Strings(ids)
	return ids
}

func sameIDs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A host that drops while computing runs (no IO call waiting on the
// operator) and comes back with the same instance id has nothing to
// re-send for them: they continue as soon as it initializes, and outlive
// the grace. Runs waiting on the operator, or whose answer may not have
// reached the host, wait for the host to re-send their call, as before;
// another instance revives nothing.
func TestHostReturnRevivesComputingRuns(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	key := admin.key("development")
	inst := uuid.NewString()
	h, fc := e.freezableHost(key, inst, action("calc"))
	b := admin.browser()

	// answered: its answer reached the host, which computes.
	answered := answeredRun(admin, b, h, "calc")
	// busy: computing since it started, nothing sent yet.
	busy := admin.startRun(b, h, "calc", "development")
	// waiting: its form waits on the operator.
	waiting := admin.startRun(b, h, "calc", "development")
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: waiting, IOCall: ioCall("w1", "gw", "INPUT_TEXT")})
	b.next(protocol.MethodRender)
	// inflight: answered while the host's connection was already dead.
	inflight := admin.startRun(b, h, "calc", "development")
	cInflight := ioCall("i1", "gi", "INPUT_TEXT")
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: inflight, IOCall: cInflight})
	b.next(protocol.MethodRender)
	until(t, e, "the host's answers to START_TRANSACTION and IO_RESPONSE", func(hb *hub) bool {
		return hb.txs[answered].hostHas && !hb.txs[answered].awaiting && hb.txs[busy].hostHas
	})
	fc.frozen.Store(true)
	b.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: inflight, IOResponse: ioResponse(inflight, "i1", "gi", "RETURN", "y")})
	fc.Close()

	all := sorted(answered, busy, waiting, inflight)
	if got := nextRefs(t, b, protocol.MethodHostClosedUnexpectedly, 4); !sameIDs(got, all) {
		t.Fatalf("HOST_CLOSED_UNEXPECTEDLY for %v, want %v", got, all)
	}
	wantStatus(t, admin, store.StatusHostDropped, all...)

	// A new process (another instance id) does not have them.
	other := e.goHost(key, "", action("calc"))
	wantStatus(t, admin, store.StatusHostDropped, all...)
	other.close()
	// A host that does not re-deliver its calls after a reconnection (the
	// official Node SDK names no implementation) may have lost a result
	// meanwhile: its runs wait for it to act.
	node := e.host(key, inst, action("calc"))
	wantStatus(t, admin, store.StatusHostDropped, all...)
	node.close()
	until(t, e, "the Node-like host's socket to end", func(hb *hub) bool { return hb.hosts[inst] == nil })

	h2 := e.goHost(key, inst, action("calc"))
	// Continued by INITIALIZE_HOST alone.
	wantStatus(t, admin, store.StatusRunning, answered, busy)
	if got, want := nextRefs(t, b, protocol.MethodHostReconnected, 2), sorted(answered, busy); !sameIDs(got, want) {
		t.Fatalf("HOST_RECONNECTED for %v, want %v", got, want)
	}
	wantStatus(t, admin, store.StatusHostDropped, waiting, inflight)

	// The others continue when the host re-sends their calls.
	for _, id := range []string{waiting, inflight} {
		h2.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("r-"+id, "g-"+id, "INPUT_TEXT")})
		var ref protocol.TransactionRef
		b.next(protocol.MethodHostReconnected).decode(t, &ref)
		if ref.TransactionID != id {
			t.Fatalf("HOST_RECONNECTED for %s, want %s", ref.TransactionID, id)
		}
	}
	wantStatus(t, admin, store.StatusAwaitingInput, waiting, inflight)

	// Past the grace nothing fails: the host has them all.
	e.s.hub.sweep(time.Now().Add(2 * DefaultHostDropGrace))
	wantStatus(t, admin, store.StatusRunning, answered, busy)
	wantStatus(t, admin, store.StatusAwaitingInput, waiting, inflight)

	for _, id := range all {
		complete(t, h2, id, "done")
	}
	if got := nextRefs(t, b, protocol.MethodTransactionCompleted, 4); !sameIDs(got, all) {
		t.Fatalf("TRANSACTION_COMPLETED for %v, want %v", got, all)
	}
	for _, id := range all {
		if d := admin.tx(id); d.Status != store.StatusCompleted || d.ResultStatus != "SUCCESS" {
			t.Fatalf("%s after its result: %+v", id, d)
		}
	}
}

// The host reconnects, and initializes, before the server notices that
// its old connection is dead (half-open: the old socket ends only when the
// server gives up on it): the run it was computing continues on the new
// socket as soon as the old one's end is noticed.
func TestHostReturnBeforeDropNoticedRevivesComputingRun(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	key := admin.key("development")
	inst := uuid.NewString()
	h, fc := e.freezableHost(key, inst, action("calc"))
	b := admin.browser()
	id := answeredRun(admin, b, h, "calc")
	until(t, e, "the host's answer to IO_RESPONSE", func(hb *hub) bool { return !hb.txs[id].awaiting })

	fc.frozen.Store(true)
	h2 := e.goHost(key, inst, action("calc")) // the server closes the old socket, which does not answer
	wantStatus(t, admin, store.StatusRunning, id)
	fc.Close() // now the old socket ends

	b.next(protocol.MethodHostClosedUnexpectedly)
	// The call was queued under the hub's lock by the old socket's end,
	// which has run to its end once the lock is free.
	e.s.hub.mu.Lock()
	e.s.hub.mu.Unlock() //nolint:staticcheck // a barrier
	wantStatus(t, admin, store.StatusRunning, id)
	b.next(protocol.MethodHostReconnected)
	e.s.hub.sweep(time.Now().Add(2 * DefaultHostDropGrace))
	wantStatus(t, admin, store.StatusRunning, id)
	complete(t, h2, id, "done")
	b.next(protocol.MethodTransactionCompleted)
	if d := admin.tx(id); d.Status != store.StatusCompleted || d.ResultStatus != "SUCCESS" {
		t.Fatalf("after its result: %+v", d)
	}
}

// A START_TRANSACTION written into a connection that stalls and then dies
// never reached the host: when the same instance returns, the Go SDK (which
// ignores a start of a run it has) gets it again and the run goes on.
func TestHostReturnRestartsUnacknowledgedStart(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	key := admin.key("development")
	b := admin.browser()
	inst := uuid.NewString()
	_, fc := e.freezableHost(key, inst, action("calc"))
	fc.frozen.Store(true)
	id := frozenStart(t, admin, b, fc)
	var ref protocol.TransactionRef
	b.next(protocol.MethodHostClosedUnexpectedly).decode(t, &ref)
	if ref.TransactionID != id {
		t.Fatalf("HOST_CLOSED_UNEXPECTEDLY for %s, want %s", ref.TransactionID, id)
	}
	wantStatus(t, admin, store.StatusHostDropped, id)

	h2 := e.goHost(key, inst, action("calc"))
	if in := h2.expect(protocol.MethodStartTransaction).start(t); in.TransactionID != id || in.Action.Slug != "calc" {
		t.Fatalf("START_TRANSACTION sent again: %+v", in)
	}
	b.next(protocol.MethodHostReconnected)
	wantStatus(t, admin, store.StatusRunning, id)
	until(t, e, "the host's answer to the start", func(hb *hub) bool { return hb.txs[id].hostHas })
	// Once acknowledged it is not sent a third time, even after another
	// drop.
	h2.close()
	b.next(protocol.MethodHostClosedUnexpectedly)
	h3 := e.goHost(key, inst, action("calc"))
	b.next(protocol.MethodHostReconnected)
	complete(t, h3, id, "done")
	b.next(protocol.MethodTransactionCompleted)
	for _, c := range drain(h3) {
		if c.method == protocol.MethodStartTransaction {
			t.Fatalf("START_TRANSACTION sent a third time: %s", c.data)
		}
	}
	if d := admin.tx(id); d.Status != store.StatusCompleted || d.ResultStatus != "SUCCESS" {
		t.Fatalf("after its result: %+v", d)
	}
}

// A host that runs a duplicate start twice (the official Node SDK names no
// implementation) is not sent an unacknowledged start again: its run
// waits, as before, rather than risk running twice.
func TestNodeHostReturnGetsNoSecondStart(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	key := admin.key("development")
	b := admin.browser()
	inst := uuid.NewString()
	_, fc := e.freezableHost(key, inst, action("calc"))
	fc.frozen.Store(true)
	id := frozenStart(t, admin, b, fc)
	b.next(protocol.MethodHostClosedUnexpectedly)
	node := e.host(key, inst, action("calc"))
	// A barrier: the host's next call is answered after anything the
	// initialization queued for it.
	node.init(action("calc"))
	for _, c := range drain(node) {
		if c.method == protocol.MethodStartTransaction {
			t.Fatalf("START_TRANSACTION sent again to a host that would run it twice: %s", c.data)
		}
	}
	wantStatus(t, admin, store.StatusHostDropped, id)
	// It goes on when the host acts for it, as before.
	complete(t, node, id, "done")
	b.next(protocol.MethodTransactionCompleted)
}

// frozenStart opens a run of calc whose START_TRANSACTION is written into
// the frozen connection fc (the host never reads it), then cuts fc.
func frozenStart(t *testing.T, admin *client, b *peer, fc *freezableConn) string {
	t.Helper()
	id := admin.createTx("calc", "development")
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	deadline := time.Now().Add(wait)
	for fc.lost.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("START_TRANSACTION never written to the host's connection")
		}
		time.Sleep(5 * time.Millisecond)
	}
	fc.Close()
	return id
}

// drain returns the calls p received so far.
func drain(p *peer) []call {
	var out []call
	for {
		select {
		case c := <-p.calls:
			out = append(out, c)
		default:
			return out
		}
	}
}
