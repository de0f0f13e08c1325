package interval_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/interval-go/sdk/adapters/websocket"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
	"github.com/interval-go/sdk/router"
)

// connEvents records what a client reports to Options.OnConnection.
type connEvents struct {
	mu      sync.Mutex
	events  []interval.ConnectionEvent
	changed chan struct{} // closed and replaced on every event
}

func newConnEvents() *connEvents { return &connEvents{changed: make(chan struct{})} }

// hook is the recorder's interval.ConnectionHook.
func (r *connEvents) hook(ev interval.ConnectionEvent) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// wait waits until cond holds for the events reported so far and returns
// them; the test fails when ctx ends first.
func (r *connEvents) wait(t *testing.T, ctx context.Context, what string, cond func([]interval.ConnectionEvent) bool) []interval.ConnectionEvent {
	t.Helper()
	for {
		r.mu.Lock()
		evs, ch := append([]interval.ConnectionEvent(nil), r.events...), r.changed
		r.mu.Unlock()
		if cond(evs) {
			return evs
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("OnConnection was not told %s; it was told %v", what, kinds(evs))
		}
	}
}

// count returns how many events of kind k evs holds (of resend kind rk
// too, if not empty).
func count(evs []interval.ConnectionEvent, k interval.ConnectionEventKind, rk interval.ResendKind) int {
	n := 0
	for _, ev := range evs {
		if ev.Kind == k && (rk == "" || ev.Resend == rk) {
			n++
		}
	}
	return n
}

func kinds(evs []interval.ConnectionEvent) []string {
	var s []string
	for _, ev := range evs {
		if ev.Kind == interval.Resent {
			s = append(s, "resent "+string(ev.Resend))
		} else {
			s = append(s, ev.Kind.String())
		}
	}
	return s
}

// waitRefused waits until the server has refused n connection attempts.
func waitRefused(t *testing.T, ctx context.Context, h *intervaltest.Harness, n int) {
	t.Helper()
	for h.Refused() < n {
		select {
		case <-ctx.Done():
			t.Fatalf("the host stopped trying to reconnect after %d attempts", h.Refused())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// OnConnection is told of the first connection, of a drop with its
// error, of the reconnection with the attempts it took and the downtime,
// of each pending IO call, loading state and page layout re-sent over the
// new connection, and of the disconnection when the client closes.
func TestOnConnectionReportsReconnectionAndResends(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	r := router.New()
	r.Action("ask", func(ctx context.Context, tx *interval.Tx) (any, error) {
		return tx.IO.Input.Number("Count").Run(ctx)
	})
	r.Action("copy", func(ctx context.Context, tx *interval.Tx) (any, error) {
		tx.Loading.Start(interval.LoadingState{Label: "Copying"})
		select {
		case <-release:
			return "copied", nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	r.Page("dashboard", func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
		return &interval.Layout{Title: "Dashboard"}, nil
	})
	rec := newConnEvents()
	h := intervaltest.New(t, r, func(o *interval.Options) { o.OnConnection = rec.hook })
	ctx := testCtx(t)
	rec.wait(t, ctx, "connected", func(evs []interval.ConnectionEvent) bool { return len(evs) > 0 })

	ask, err := h.Start(ctx, "ask")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ask.Next(ctx); err != nil {
		t.Fatal(err)
	}
	cp, err := h.Start(ctx, "copy")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cp.NextLoading(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := h.OpenPage(ctx, "dashboard")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := page.Next(ctx); err != nil {
		t.Fatal(err)
	}
	host, _ := h.WaitHost(ctx)
	// Once the host has the answers, nothing is in flight: each comes
	// again only because the host re-sends it.
	for _, m := range []string{"SEND_IO_CALL", "SEND_LOADING_CALL", "SEND_PAGE"} {
		if err := host.WaitAnswered(ctx, m, 1); err != nil {
			t.Fatal(err)
		}
	}

	// Down for a few attempts.
	h.Refuse(true)
	host.Drop()
	rec.wait(t, ctx, "the drop", func(evs []interval.ConnectionEvent) bool { return count(evs, interval.Disconnected, "") == 1 })
	waitRefused(t, ctx, h, 3)
	h.Refuse(false)
	if _, err := ask.Next(ctx); err != nil { // the IO call, re-sent
		t.Fatal(err)
	}
	evs := rec.wait(t, ctx, "the three calls re-sent", func(evs []interval.ConnectionEvent) bool { return count(evs, interval.Resent, "") == 3 })

	if evs[0].Kind != interval.Connected || evs[1].Kind != interval.Disconnected || evs[2].Kind != interval.Reconnected {
		t.Fatalf("events %v, want connected, disconnected, reconnected, then the re-sends", kinds(evs))
	}
	if err := evs[1].Err; err == nil || errors.Is(err, interval.ErrClosed) {
		t.Errorf("disconnected with error %v, want the connection's", err)
	}
	// Every failed attempt was refused: the last one succeeded.
	if re, refused := evs[2], h.Refused(); re.Attempts != refused+1 || re.Downtime <= 0 {
		t.Errorf("reconnected after %d attempts, %v down; the server refused %d", re.Attempts, re.Downtime, refused)
	}
	for _, k := range []interval.ResendKind{interval.ResendIOCall, interval.ResendLoading, interval.ResendPage} {
		if n := count(evs, interval.Resent, k); n != 1 {
			t.Errorf("%d re-sends of kind %s reported, want 1 (events %v)", n, k, kinds(evs))
		}
	}

	// Closing the client ends the connection: a last disconnected.
	h.Client.Close()
	evs = rec.wait(t, ctx, "the close", func(evs []interval.ConnectionEvent) bool { return count(evs, interval.Disconnected, "") == 2 })
	if last := evs[len(evs)-1]; last.Kind != interval.Disconnected || !errors.Is(last.Err, interval.ErrClosed) {
		t.Errorf("last event %v (%v), want disconnected with ErrClosed", last.Kind, last.Err)
	}
	if len(evs) != 7 {
		t.Errorf("events %v, want 7", kinds(evs))
	}
}

// closeOnSendTransport is the websocket transport whose connection closes
// as the first message of method is sent, as a network failure at that
// instant would.
type closeOnSendTransport struct {
	method string
	once   sync.Once
}

func (tr *closeOnSendTransport) Dial(ctx context.Context, cfg interval.DialConfig) (interval.Conn, error) {
	c, err := (&websocket.Transport{}).Dial(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("dialing: %w", err)
	}
	return closeOnSendConn{c, tr}, nil
}

type closeOnSendConn struct {
	interval.Conn
	tr *closeOnSendTransport
}

func (c closeOnSendConn) Post(ctx context.Context, data string, timeout time.Duration, acked func(error)) error {
	var env struct{ MethodName string }
	if json.Unmarshal([]byte(data), &env) == nil && env.MethodName == c.tr.method {
		c.tr.once.Do(func() { c.Conn.Close() })
	}
	return c.Conn.Post(ctx, data, timeout, acked)
}

// A result whose connection drops as it is sent goes again over the next
// connection, and OnConnection is told of it.
func TestOnConnectionReportsResentResult(t *testing.T) {
	rec := newConnEvents()
	tr := &closeOnSendTransport{method: "MARK_TRANSACTION_COMPLETE"}
	// The handler returns once the server has the start's answer: the
	// connection closed with the result must not take that answer along.
	started := make(chan struct{})
	h := intervaltest.New(t, routes{
		"job": func(ctx context.Context, tx *interval.Tx) (any, error) {
			select {
			case <-started:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return "done", nil
		},
	}, func(o *interval.Options) { o.Transport, o.OnConnection = tr, rec.hook })
	ctx := testCtx(t)
	run, err := h.Start(ctx, "job")
	if err != nil {
		t.Fatal(err)
	}
	close(started)
	if res, err := run.Result(ctx); err != nil || res.Data != "done" {
		t.Fatalf("result %+v, %v", res, err)
	}
	evs := rec.wait(t, ctx, "the result re-sent", func(evs []interval.ConnectionEvent) bool { return count(evs, interval.Resent, "") == 1 })
	if len(evs) != 4 || evs[0].Kind != interval.Connected || evs[1].Kind != interval.Disconnected ||
		evs[2].Kind != interval.Reconnected || evs[3].Resend != interval.ResendResult {
		t.Fatalf("events %v, want connected, disconnected, reconnected, resent result", kinds(evs))
	}
	if evs[2].Attempts != 1 {
		t.Errorf("reconnected after %d attempts, want 1", evs[2].Attempts)
	}
	if n := run.Completions(); n != 1 {
		t.Errorf("%d results reached the server, want 1", n)
	}
}

// Close returns once OnConnection was told of the disconnection, however
// long the hook takes: a metric of the connection reads 0 after Close.
// (Close returned while Listen's connection still ended, and a gauge read
// just after said connected: red in a CI run of otelinterval's test.)
func TestCloseWaitsForDisconnectedReport(t *testing.T) {
	r := router.New()
	r.Action("noop", func(ctx context.Context, tx *interval.Tx) (any, error) { return nil, nil })
	var mu sync.Mutex
	up := 0
	h := intervaltest.New(t, r, func(o *interval.Options) {
		o.OnConnection = func(ev interval.ConnectionEvent) {
			if ev.Kind == interval.Disconnected {
				time.Sleep(50 * time.Millisecond) // a slow exporter
			}
			mu.Lock()
			defer mu.Unlock()
			switch ev.Kind {
			case interval.Connected, interval.Reconnected:
				up++
			case interval.Disconnected:
				up--
			}
		}
	})
	ctx := testCtx(t)
	if _, err := h.WaitHost(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		mu.Lock()
		n := up
		mu.Unlock()
		if n == 1 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("never told of the connection")
		case <-time.After(5 * time.Millisecond):
		}
	}
	h.Client.Close()
	mu.Lock()
	defer mu.Unlock()
	if up != 0 {
		t.Fatalf("after Close the hook counts %d connections, want 0 (told of the disconnection)", up)
	}
}
