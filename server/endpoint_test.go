package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/isocket"
	"github.com/interval-go/sdk/internal/protocol"
)

// The answers to the messages an endpoint handles as one batch wait once
// for the store (the barrier) and go out together, in order, never before
// the barrier let them: five calls, of which the last four arrive while the
// first is being handled, take two waits, not five.
func TestEndpointAnswersBatchWaitOnce(t *testing.T) {
	var (
		barriers atomic.Int32
		hold     = make(chan struct{}) // closed: the second barrier may pass
		started  = make(chan struct{}) // closed as the first call is handled
		first    = make(chan struct{}) // closed once the first call is handled
		ep       *endpoint
		handled  []string
		mu       sync.Mutex
	)
	queued := func() int {
		ep.inMu.Lock()
		defer ep.inMu.Unlock()
		return len(ep.inQ)
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
			close(first)
		}
		return method, nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := isocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		e := newEndpoint(ws, isocket.Config{DisablePing: true}, false, socketLimits{rate: 1000, inbox: 100}, handle, slog.New(slog.DiscardHandler), slog.LevelDebug, nil)
		e.barrier = func(ctx context.Context) error {
			if barriers.Add(1) == 2 {
				select {
				case <-hold:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		}
		ep = e
		if err := e.conn.SendAuthenticated(r.Context()); err != nil {
			t.Error(err)
			return
		}
		e.run()
	}))
	defer srv.Close()

	answers := make(chan string, 10)
	conn, err := isocket.Dial(t.Context(), isocket.DialOptions{Endpoint: srv.URL, APIKey: "k"}, isocket.Config{
		DisablePing: true,
		OnMessage: func(data string) {
			if env, err := protocol.DecodeEnvelope(data); err == nil && env.Kind == protocol.KindResponse {
				answers <- env.ID + "=" + string(env.Data)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := range 5 {
		if i == 1 {
			<-started // the first is handled alone
		}
		env := protocol.AppendEnvelope(nil, protocol.Envelope{ID: fmt.Sprint(i), Kind: protocol.KindCall, MethodName: fmt.Sprintf("m%d", i)})
		if err := conn.Post(t.Context(), string(env), 5*time.Second, func(error) {}); err != nil {
			t.Fatal(err)
		}
	}
	<-first
	if got := <-answers; got != `0="m0"` {
		t.Fatalf("first answer %s, want 0=\"m0\"", got)
	}
	select {
	case got := <-answers:
		t.Fatalf("answer %s went out before the store let it", got)
	case <-time.After(100 * time.Millisecond):
	}
	close(hold)
	for i := 1; i < 5; i++ {
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
	if n := barriers.Load(); n != 2 {
		t.Fatalf("the store was waited for %d times for two batches, want 2", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(handled) != 5 {
		t.Fatalf("handled %v", handled)
	}
}
