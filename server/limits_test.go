package server

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/coder/websocket"

	"github.com/interval-go/sdk/internal/protocol"
)

// Options.BrowserCallsPerSecond replaces the default limit: a console
// socket making more calls in a second is closed, while the same calls are
// fine under the default (100).
func TestBrowserCallsPerSecondOption(t *testing.T) {
	for _, tc := range []struct {
		limit  int
		closed bool
	}{{0, false}, {3, true}} {
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
				t.Fatalf("default limit: 10 calls at once closed the socket: %v", err)
			}
			continue
		}
		<-b.conn.Done()
		if code, reason := closeStatus(b.conn.Err()); code != websocket.StatusPolicyViolation || reason != "Rate limit exceeded." {
			t.Fatalf("limit %d: close %d %q", tc.limit, code, reason)
		}
	}
}

func TestNegativeLimitsRefused(t *testing.T) {
	for _, o := range []Options{{HostCallsPerSecond: -1}, {BrowserCallsPerSecond: -1}, {InboxSize: -1}} {
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
