package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/isocket"
	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/internal/rpc"
)

// The answers to the messages a socket gets wait for the store (the
// barrier) and go out in order, never before the barrier let them, each
// batch of them after one wait: five calls, the last four arriving while
// the first is handled, take at most two waits, not five. Their ACKs, held
// to go with the answers, do not wait for a slow store past ackHold.
func TestEndpointAnswersBatchWaitOnce(t *testing.T) {
	var (
		passed  atomic.Int32          // waits for the store passed
		hold    = make(chan struct{}) // closed: the store lets answers go
		started = make(chan struct{}) // closed as the first call is handled
		ep      atomic.Pointer[endpoint]
		handled []string
		mu      sync.Mutex
	)
	queued := func() int {
		e := ep.Load()
		e.inMu.Lock()
		defer e.inMu.Unlock()
		return len(e.inQ)
	}
	handle := func(method string, data json.RawMessage) (any, error) {
		mu.Lock()
		handled = append(handled, method)
		mu.Unlock()
		if method == "m0" {
			close(started)
			// Wait, as a slow handler would, until the other four wait
			// in the inbox: they become the next batch.
			for deadline := time.Now().Add(10 * time.Second); queued() < 4 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
		}
		return method, nil
	}
	barrier := func(ctx context.Context) error {
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
		passed.Add(1)
		return nil
	}
	answers := make(chan string, 10)
	acks := make(chan error, 10)
	conn, e := serveEndpoint(t, handle, barrier, func(env protocol.Envelope) {
		if env.Kind == protocol.KindResponse {
			answers <- env.ID + "=" + string(env.Data)
		}
	})
	ep.Store(e)
	for i := range 5 {
		if i == 1 {
			<-started // the first is handled alone
		}
		env := protocol.AppendEnvelope(nil, protocol.Envelope{ID: fmt.Sprint(i), Kind: protocol.KindCall, MethodName: fmt.Sprintf("m%d", i)})
		if err := conn.Post(t.Context(), string(env), 5*time.Second, func(err error) { acks <- err }); err != nil {
			t.Fatal(err)
		}
	}
	// The store holds the answers; the ACKs come all the same.
	for i := range 5 {
		select {
		case err := <-acks:
			if err != nil {
				t.Fatalf("ACK %d: %v", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of 5 ACKs came while the store held the answers", i)
		}
	}
	select {
	case got := <-answers:
		t.Fatalf("answer %s went out before the store let it", got)
	case <-time.After(100 * time.Millisecond):
	}
	close(hold)
	for i := range 5 {
		want := fmt.Sprintf(`%d="m%d"`, i, i)
		select {
		case got := <-answers:
			if got != want {
				t.Fatalf("answer %s, want %s (in order)", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("answer %s never came", want)
		}
	}
	if n := passed.Load(); n < 1 || n > 2 {
		t.Fatalf("the store was waited for %d times for two batches of answers, want 1 or 2", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(handled) != 5 {
		t.Fatalf("handled %v", handled)
	}
}

// What a socket sends leaves in the order the server decided it: a call
// queued before the answer to one of the peer's calls (a render the
// server sent before it took the operator's answer) reaches the peer
// before that answer, even when the store makes both wait.
func TestEndpointCallBeforeAnswerKeepsOrder(t *testing.T) {
	var ep atomic.Pointer[endpoint]
	gate := make(chan struct{})
	handle := func(method string, data json.RawMessage) (any, error) {
		if method == "ASK" {
			ep.Load().call("FIRST", map[string]int{"n": 1}, nil)
		}
		return "answer", nil
	}
	barrier := gated(gate)
	got := make(chan string, 10)
	conn, e := serveEndpoint(t, handle, barrier, func(env protocol.Envelope) {
		got <- string(env.Kind) + " " + env.MethodName + " " + env.ID
	})
	ep.Store(e)
	for i := range 20 {
		env := protocol.AppendEnvelope(nil, protocol.Envelope{ID: fmt.Sprint(i), Kind: protocol.KindCall, MethodName: "ASK"})
		if err := conn.Post(t.Context(), string(env), 5*time.Second, func(error) {}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond) // let some of them queue behind the store
	close(gate)
	// Answer i comes after the call its handling queued, and those of
	// the answers before it; answers come in order.
	firsts, answered := 0, 0
	for answered < 20 {
		select {
		case g := <-got:
			switch {
			case strings.HasPrefix(g, "CALL FIRST "):
				firsts++
			case g == fmt.Sprint("RESPONSE ASK ", answered):
				answered++
				if firsts < answered {
					t.Fatalf("answer %d came after %d of the calls queued before it", answered-1, firsts)
				}
			default:
				t.Fatalf("got %q, want the call or answer %d", g, answered)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("answer %d never came", answered)
		}
	}
}

// serveEndpoint serves sockets with endpoints as the server's host sockets
// are (a reader goroutine, held ACKs), answering with handle and waiting
// for barrier before they send; it dials one and returns the connection,
// whose messages go to onMessage, and the server's endpoint of it.
func serveEndpoint(t *testing.T, handle rpc.HandlerFunc, barrier func(context.Context) error, onMessage func(env protocol.Envelope)) (*isocket.Conn, *endpoint) {
	t.Helper()
	eps := make(chan *endpoint, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := isocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		e := newEndpoint(ws, isocket.Config{DisablePing: true, AckHold: ackHold}, false, socketLimits{rate: 1000, inbox: 100}, handle, slog.New(slog.DiscardHandler), slog.LevelDebug, nil)
		e.barrier = barrier
		eps <- e
		if err := e.conn.SendAuthenticated(r.Context()); err != nil {
			t.Error(err)
			return
		}
		e.run()
	}))
	t.Cleanup(srv.Close)
	conn, err := isocket.Dial(t.Context(), isocket.DialOptions{Endpoint: srv.URL, APIKey: "k"}, isocket.Config{
		DisablePing: true,
		OnMessage: func(data string) {
			if env, err := protocol.DecodeEnvelope(data); err == nil {
				onMessage(env)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, <-eps
}

// What promises nothing stored (callFree, freeAnswer) goes out while the
// store is held; what waits for the store keeps it waiting, and a free
// call queued behind it does not overtake it.
func TestEndpointFreeMessagesSkipTheStore(t *testing.T) {
	var ep atomic.Pointer[endpoint]
	gate := make(chan struct{})
	handle := func(method string, data json.RawMessage) (any, error) {
		switch method {
		case "FREE":
			ep.Load().freeAnswer()
		case "HELD":
			ep.Load().call("AFTER_HELD", nil, nil)
			ep.Load().callFree("FREE_BEHIND", nil, nil)
		}
		return "answer", nil
	}
	barrier := gated(gate)
	got := make(chan string, 10)
	conn, e := serveEndpoint(t, handle, barrier, func(env protocol.Envelope) {
		got <- string(env.Kind) + " " + env.MethodName
	})
	ep.Store(e)
	post := func(method string) {
		t.Helper()
		env := protocol.AppendEnvelope(nil, protocol.Envelope{ID: method, Kind: protocol.KindCall, MethodName: method})
		if err := conn.Post(t.Context(), string(env), 5*time.Second, func(error) {}); err != nil {
			t.Fatal(err)
		}
	}
	next := func(want string) {
		t.Helper()
		select {
		case g := <-got:
			if g != want {
				t.Fatalf("got %q, want %q", g, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %q while the store is held", want)
		}
	}
	post("FREE")
	next("RESPONSE FREE")
	e.callFree("RENDER", nil, nil)
	next("CALL RENDER")

	post("HELD")
	select {
	case g := <-got:
		t.Fatalf("%q went out while the store was held", g)
	case <-time.After(100 * time.Millisecond):
	}
	close(gate)
	next("CALL AFTER_HELD")
	next("CALL FREE_BEHIND")
	next("RESPONSE HELD")
}

// gated is a store barrier that waits until gate is closed.
func gated(gate <-chan struct{}) func(context.Context) error {
	return func(ctx context.Context) error {
		select {
		case <-gate:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
