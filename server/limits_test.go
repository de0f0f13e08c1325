package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

// Options.BrowserCallsPerSecond replaces the default limit: a console
// socket making more calls in a second is closed, while the same calls are
// fine under the default (100) and under the largest limit.
func TestBrowserCallsPerSecondOption(t *testing.T) {
	for _, tc := range []struct {
		limit  int
		closed bool
	}{{0, false}, {3, true}, {math.MaxInt, false}} {
		e := newEnv(t, Options{BrowserCallsPerSecond: tc.limit})
		b := e.admin().browser()
		for range 10 {
			if err := b.conn.Send(context.Background(), string(protocol.AppendEnvelope(nil, protocol.Envelope{
				ID: "x", Kind: "CALL", MethodName: protocol.MethodInitializeClient}))); err != nil {
				break // closed by the server
			}
		}
		if !tc.closed {
			// Under the limit: the socket still answers.
			var ok bool
			if err := b.call(protocol.MethodRespondToIOCall, map[string]any{"transactionId": "x", "ioResponse": "garbage"}, &ok); err != nil {
				t.Fatalf("limit %d: 10 calls at once closed the socket: %v", tc.limit, err)
			}
			continue
		}
		<-b.conn.Done()
		if code, reason := closeStatus(b.conn.Err()); code != websocket.StatusPolicyViolation || reason != "Rate limit exceeded." {
			t.Fatalf("limit %d: close %d %q", tc.limit, code, reason)
		}
	}
}

// A console socket's limit is an average: calls made within it but read
// together (after a network stall, or by a server short of CPU) keep the
// socket open, while calls over it on average still close it. Counted by
// the second they were read, the 20 below closed a socket limited to 10.
func TestBrowserBurstWithinRateKept(t *testing.T) {
	e := newEnv(t, Options{BrowserCallsPerSecond: 10})
	b := e.admin().browser()
	send := func(n int) error {
		for range n {
			if err := b.conn.Send(context.Background(), string(protocol.AppendEnvelope(nil, protocol.Envelope{
				ID: "x", Kind: "CALL", MethodName: protocol.MethodInitializeClient}))); err != nil {
				return err
			}
		}
		return nil
	}
	if err := send(8); err != nil { // with the socket's own first calls, within the limit
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // the stall: then two seconds' worth of calls arrive at once
	if err := send(19); err != nil {
		t.Fatalf("20 calls after quiet seconds closed a socket limited to 10 a second: %v", err)
	}
	var ok bool
	if err := b.call(protocol.MethodRespondToIOCall, map[string]any{"transactionId": "x", "ioResponse": "garbage"}, &ok); err != nil {
		t.Fatalf("20 calls after quiet seconds closed a socket limited to 10 a second: %v", err)
	}
	// Over the limit on average: closed.
	_ = send(15)
	<-b.conn.Done()
	if code, reason := closeStatus(b.conn.Err()); code != websocket.StatusPolicyViolation || reason != "Rate limit exceeded." {
		t.Fatalf("close %d %q", code, reason)
	}
}

func TestNegativeLimitsRefused(t *testing.T) {
	for _, o := range []Options{{HostCallsPerSecond: -1}, {BrowserCallsPerSecond: -1}, {InboxSize: -1},
		{CommitDelay: -time.Millisecond}, {CommitDelay: time.Hour}} {
		o.DataDir = t.TempDir()
		if s, err := New(t.Context(), o); !errors.Is(err, ErrBadOptions) {
			if s != nil {
				s.Close()
			}
			t.Fatalf("%+v: %v, want ErrBadOptions", o, err)
		}
	}
}

// The inbox holds what waits, in order, up to its size, and nothing once
// it is empty.
func TestInboxBounded(t *testing.T) {
	e := &endpoint{inMax: 2}
	if !e.push("a") || !e.push("b") || e.push("c") {
		t.Fatal("an inbox of 2 took other than 2 messages")
	}
	if got := e.popBatch(nil); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("popped %q, want [a b]", got)
	}
	if got := e.popBatch(nil); len(got) != 0 || e.inQ != nil {
		t.Fatalf("empty inbox gave %q and still holds %v", got, e.inQ)
	}
	if !e.push("d") {
		t.Fatal("a drained inbox refused a message")
	}
}

// A socket with nothing to do keeps no worker goroutine: they start with
// work and end with it.
func TestIdleSocketHasNoWorkers(t *testing.T) {
	e := newEnv(t, Options{})
	b := e.admin().browser()
	var ok bool
	if err := b.call(protocol.MethodRespondToIOCall, map[string]any{"transactionId": "x", "ioResponse": "garbage"}, &ok); err != nil {
		t.Fatal(err)
	}
	idle := func() bool {
		e.s.mu.Lock()
		defer e.s.mu.Unlock()
		if len(e.s.conns) == 0 {
			return false
		}
		for ep := range e.s.conns {
			ep.inMu.Lock()
			in := ep.in.running || ep.inQ != nil
			ep.inMu.Unlock()
			ep.outMu.Lock()
			out := ep.out.running || ep.outQ != nil
			ep.outMu.Unlock()
			if in || out {
				return false
			}
		}
		return true
	}
	waitFor(t, idle, "the socket's workers to end once it is idle")
}

// A host socket making more calls in a second than HostCallsPerSecond is
// slowed down, not closed: every call is answered, the socket stays open,
// the calls past the limit are read from the next second on, and the
// pause is counted (rate_limited_total{host_socket}).
func TestHostOverItsRatePaced(t *testing.T) {
	const limit, calls = 4, 11 // three seconds' worth
	e := newEnv(t, Options{HostCallsPerSecond: limit, MetricsToken: metricsToken})
	admin := e.admin()
	h := e.host(admin.key(store.EnvProduction), "", action("job"))
	// The init was the first call of its second: start on a fresh one,
	// so that each second holds limit calls.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	start := time.Now()
	type answer struct {
		at  time.Time
		err error
	}
	answers := make(chan answer, calls)
	for i := range calls {
		go func() {
			var ok bool
			err := h.call(protocol.MethodSendLog, protocol.SendLogInputs{TransactionID: fmt.Sprint("none", i), Data: "x"}, &ok)
			answers <- answer{time.Now(), err}
		}()
	}
	var last time.Time
	for range calls {
		a := <-answers
		if a.err != nil {
			t.Fatalf("a call past the rate failed: %v", a.err)
		}
		if a.at.After(last) {
			last = a.at
		}
	}
	select {
	case <-h.conn.Done():
		t.Fatalf("the host's socket was closed: %v", h.conn.Err())
	default:
	}
	// 11 calls at 4 a second: the last ones are read in the third second
	// (the server's window is the wall clock's second) or later.
	if third := start.Truncate(time.Second).Add(2 * time.Second); last.Before(third) {
		t.Fatalf("%d calls at %d a second all answered %v after the first second began", calls, limit, last.Sub(start.Truncate(time.Second)))
	}
	if n := e.scrape(t).value("interval_server_rate_limited_total", "limit", limitHostSocket); n < 2 {
		t.Fatalf("rate_limited_total{host_socket} = %v, want a pause counted for each of two seconds", n)
	}
}
