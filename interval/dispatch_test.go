package interval_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/interval-go/sdk/adapters/websocket"
	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

// Bad input from the server is logged with a clear message and never
// panics or stops the host: calls it cannot answer get no RESPONSE (the
// protocol has none for errors), malformed messages are dropped, and a
// transaction given a malformed answer keeps waiting for a good one.
func TestBadInputFromServerLoggedHostKeepsServing(t *testing.T) {
	logs := newLogRecorder()
	h := intervaltest.New(t, routes{
		"ask": func(ctx context.Context, tx *interval.Tx) (any, error) {
			return tx.IO.Input.Number("Count").Run(ctx)
		},
		"ok": func(ctx context.Context, tx *interval.Tx) (any, error) { return "fine", nil },
	}, withLogger(slog.New(logs)))
	ctx := testCtx(t)
	host, err := h.WaitHost(ctx)
	if err != nil {
		t.Fatal(err)
	}

	unanswered := []struct{ method, data, want string }{
		{"FROBNICATE", `{}`, `unknown method "FROBNICATE"`},
		{"START_TRANSACTION", `{"transactionId":5,"action":{"slug":"ok"}}`, "malformed"},
		{"START_TRANSACTION", `{"transactionId":"t1","action":{"slug":"ok"},"environment":"development"}`, "START_TRANSACTION without user"},
		{"START_TRANSACTION", `"not an object"`, "malformed"},
		{"IO_RESPONSE", `{"transactionId":"t1","value":5}`, "malformed"},
		{"CLOSE_TRANSACTION", `[]`, "malformed"},
		{"OPEN_PAGE", `{"pageKey":{}}`, "malformed"},
	}
	for _, c := range unanswered {
		from := logs.count()
		cctx, cancel := context.WithCancel(ctx)
		answered := make(chan error, 1)
		go func() {
			_, err := host.Call(cctx, c.method, json.RawMessage(c.data))
			answered <- err
		}()
		_, werr := logs.wait(ctx, from, "WARN", "call not answered", "method="+c.method, c.want)
		cancel()
		if err := <-answered; !errors.Is(err, context.Canceled) {
			t.Errorf("%s %s was answered: %v", c.method, c.data, err)
		}
		if werr != nil {
			t.Errorf("%s %s: %v", c.method, c.data, werr)
		}
	}

	// Messages that are not RPC envelopes are dropped with a warning.
	for _, raw := range []string{`{not json`, `{"id":"1","kind":"SHOUT","methodName":"X"}`, `{"kind":"CALL"}`, `[]`} {
		from := logs.count()
		if err := host.SendRaw(ctx, raw); err != nil {
			t.Fatal(err)
		}
		if _, err := logs.wait(ctx, from, "WARN", "dropping malformed message"); err != nil {
			t.Errorf("%s: %v", raw, err)
		}
	}

	// An IO_RESPONSE whose value is not an IO response is answered (void)
	// and logged; the transaction keeps waiting and completes with a good
	// answer.
	run, err := h.Start(ctx, "ask")
	if err != nil {
		t.Fatal(err)
	}
	form, err := run.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`not json`, `{"id":"x","transactionId":"` + run.ID + `","kind":"RETURN","values":"twelve"}`} {
		from := logs.count()
		if err := form.RespondRaw(ctx, bad); err != nil {
			t.Fatalf("malformed IO response %s not answered: %v", bad, err)
		}
		if _, err := logs.wait(ctx, from, "WARN", "dropping malformed IO response"); err != nil {
			t.Error(err)
		}
	}
	if err := form.Answer(ctx, intervaltest.Values{"Count": 12}); err != nil {
		t.Fatal(err)
	}
	if res, err := run.Result(ctx); err != nil || res.Data != float64(12) {
		t.Fatalf("transaction after malformed answers: %+v %v", res, err)
	}

	// A start for an action this host does not serve is answered and
	// logged, and starts nothing.
	from := logs.count()
	ghost, err := h.Start(ctx, "no_such_action")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := logs.wait(ctx, from, "WARN", "no such action", "action=no_such_action"); err != nil {
		t.Error(err)
	}
	run2, err := h.Start(ctx, "ok")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := run2.Result(ctx); err != nil || res.Data != "fine" {
		t.Fatalf("host stopped serving after bad input: %+v %v", res, err)
	}
	if ghost.Completions() != 0 {
		t.Fatal("an unknown action completed")
	}
}

// lossyTransport is the websocket transport losing the messages drop
// chooses: they are not written, and their ACK wait ends with the ACK
// timeout, as when the server never received them. It records the ACK
// timeout and RPC id of every message of method.
type lossyTransport struct {
	method string
	drop   func(attempt int) bool

	mu       sync.Mutex
	timeouts []time.Duration
	ids      []string
}

func (l *lossyTransport) Dial(ctx context.Context, cfg interval.DialConfig) (interval.Conn, error) {
	c, err := (&websocket.Transport{}).Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return lossyConn{c, l}, nil
}

type lossyConn struct {
	interval.Conn
	l *lossyTransport
}

func (c lossyConn) Post(ctx context.Context, data string, timeout time.Duration, acked func(error)) error {
	var env struct{ ID, MethodName string }
	if json.Unmarshal([]byte(data), &env) == nil && env.MethodName == c.l.method {
		c.l.mu.Lock()
		c.l.timeouts = append(c.l.timeouts, timeout)
		c.l.ids = append(c.l.ids, env.ID)
		attempt := len(c.l.timeouts)
		c.l.mu.Unlock()
		if c.l.drop(attempt) {
			go acked(fmt.Errorf("lossy: %w", interval.ErrAckTimeout))
			return nil
		}
	}
	return c.Conn.Post(ctx, data, timeout, acked)
}

func (l *lossyTransport) attempts() ([]time.Duration, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.timeouts), slices.Clone(l.ids)
}

// A call whose ACK times out is sent again with a new id, attempt n waiting
// n×SendTimeout for its ACK, as in the official SDK.
func TestCallResentAfterAckTimeout(t *testing.T) {
	const send = 40 * time.Millisecond
	lossy := &lossyTransport{method: "SEND_IO_CALL", drop: func(n int) bool { return n <= 2 }}
	h := intervaltest.New(t, routes{
		"ask": func(ctx context.Context, tx *interval.Tx) (any, error) { return tx.IO.Input.Number("Count").Run(ctx) },
	}, func(o *interval.Options) { o.Transport, o.SendTimeout = lossy, send })
	ctx := testCtx(t)
	run, err := h.Start(ctx, "ask")
	if err != nil {
		t.Fatal(err)
	}
	form, err := run.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := form.Answer(ctx, intervaltest.Values{"Count": 3}); err != nil {
		t.Fatal(err)
	}
	if res, err := run.Result(ctx); err != nil || res.Data != float64(3) {
		t.Fatalf("result %+v, %v", res, err)
	}
	timeouts, ids := lossy.attempts()
	if !slices.Equal(timeouts, []time.Duration{send, 2 * send, 3 * send}) {
		t.Fatalf("ACK timeouts of the attempts %v", timeouts)
	}
	if ids[0] == ids[1] || ids[1] == ids[2] || ids[0] == ids[2] {
		t.Fatalf("attempts share a call id: %v", ids)
	}
	if n := len(run.Renders()); n != 1 {
		t.Fatalf("%d renders reached the server, want 1", n)
	}
}

// After MaxResendAttempts lost attempts the call fails with a clear error,
// which is logged.
func TestCallGivesUpAfterMaxResendAttempts(t *testing.T) {
	logs := newLogRecorder()
	lossy := &lossyTransport{method: "MARK_TRANSACTION_COMPLETE", drop: func(int) bool { return true }}
	h := intervaltest.New(t, routes{
		"ok": func(ctx context.Context, tx *interval.Tx) (any, error) { return "ok", nil },
	}, withLogger(slog.New(logs)), func(o *interval.Options) {
		o.Transport, o.SendTimeout, o.MaxResendAttempts = lossy, time.Millisecond, 3
	})
	ctx := testCtx(t)
	run, err := h.Start(ctx, "ok")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := logs.wait(ctx, 0, "ERROR", "sending transaction result failed", "maximum resend attempts reached", "transaction="+run.ID); err != nil {
		t.Fatal(err)
	}
	if timeouts, _ := lossy.attempts(); len(timeouts) != 3 {
		t.Fatalf("%d attempts, want 3", len(timeouts))
	}
	if run.Completions() != 0 {
		t.Fatal("a lost result reached the server")
	}
}

// A START_TRANSACTION for a transaction the host already has (a server
// sends a start again when it never saw it acknowledged: the connection
// died first) is ignored: while the handler runs, after it returned until
// the server closes the transaction, and after that (a server that lost
// track of its end). The action runs once.
func TestDuplicateStartIgnored(t *testing.T) {
	var runs atomic.Int32
	h := intervaltest.New(t, routes{"once": func(ctx context.Context, tx *interval.Tx) (any, error) {
		runs.Add(1)
		name, err := tx.IO.Input.Text("Name").Run(ctx)
		if err != nil {
			return nil, err
		}
		return "hi " + name, nil
	}})
	ctx := testCtx(t)
	run, err := h.Start(ctx, "once")
	if err != nil {
		t.Fatal(err)
	}
	host, _ := h.WaitHost(ctx)
	again := func() {
		t.Helper()
		in := protocol.StartTransactionInputs{TransactionID: run.ID, ActionName: "once", Action: protocol.ActionRef{Slug: "once"},
			Environment: "development", User: intervaltest.Admin, Params: json.RawMessage(`{}`),
			DisplayResolvesImmediately: ptrTo(true)}
		if _, err := host.Call(ctx, protocol.MethodStartTransaction, in); err != nil {
			t.Fatal(err)
		}
	}
	r, err := run.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	again() // while it waits on the operator
	if err := r.Answer(ctx, intervaltest.Values{"Name": "Ada"}); err != nil {
		t.Fatal(err)
	}
	if res, err := run.Result(ctx); err != nil || res.Data != "hi Ada" {
		t.Fatalf("result: %+v, %v", res, err)
	}
	again() // finished, not yet closed by the server
	if _, err := host.Call(ctx, protocol.MethodCloseTransaction, protocol.TransactionRef{TransactionID: run.ID}); err != nil {
		t.Fatal(err)
	}
	again() // closed
	// Close waits for every handler the host started: a second run has
	// counted itself by then.
	h.Client.Close()
	if n := runs.Load(); n != 1 {
		t.Fatalf("the action ran %d times, want 1", n)
	}
	if n := run.Completions(); n != 1 {
		t.Fatalf("%d results sent, want 1", n)
	}
}
