package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/interval-go/sdk/internal/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// hang bounds waits that would otherwise hang a broken test; it is never
// a timing assertion.
const hang = 10 * time.Second

// pipe delivers strings to a receiver in order from its own goroutine, like
// a transport's reader.
type pipe struct {
	ch   chan string
	done chan struct{}
}

func newPipe(recv func(string)) *pipe {
	p := &pipe{ch: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for s := range p.ch {
			recv(s)
		}
	}()
	return p
}

func (p *pipe) send(ctx context.Context, s string) error {
	select {
	case p.ch <- s:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *pipe) close() { close(p.ch); <-p.done }

// connect returns two peers talking to each other; cleanup closes both.
func connect(t *testing.T, ha, hb HandlerFunc) (a, b *Peer) {
	t.Helper()
	var pa, pb *pipe
	a = NewPeer(func(ctx context.Context, s string) error { return pb.send(ctx, s) }, ha, nil, nil)
	b = NewPeer(func(ctx context.Context, s string) error { return pa.send(ctx, s) }, hb, nil, nil)
	pa = newPipe(a.Receive)
	pb = newPipe(b.Receive)
	t.Cleanup(func() {
		a.Close()
		b.Close()
		pa.close()
		pb.close()
	})
	return a, b
}

// recorder is a SendFunc that records what it sent.
type recorder struct {
	mu   sync.Mutex
	sent []string
	ch   chan string
}

func newRecorder() *recorder { return &recorder{ch: make(chan string, 100)} }

func (r *recorder) send(_ context.Context, s string) error {
	r.mu.Lock()
	r.sent = append(r.sent, s)
	r.mu.Unlock()
	r.ch <- s
	return nil
}

func (r *recorder) next(t *testing.T) protocol.Envelope {
	t.Helper()
	select {
	case s := <-r.ch:
		e, err := protocol.DecodeEnvelope(s)
		if err != nil {
			t.Fatalf("sent malformed envelope %q: %v", s, err)
		}
		return e
	case <-time.After(hang):
		t.Fatal("nothing sent")
	}
	panic("unreachable")
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sent)
}

func noHandler(string, json.RawMessage) (any, error) { return nil, ErrNoResponse }

func TestCallAndResponse(t *testing.T) {
	a, _ := connect(t, noHandler, func(method string, data json.RawMessage) (any, error) {
		var in struct{ N int }
		if err := json.Unmarshal(data, &in); err != nil {
			return nil, err
		}
		return map[string]any{"method": method, "double": in.N * 2}, nil
	})
	var out struct {
		Method string
		Double int
	}
	if err := a.Call(context.Background(), "DOUBLE", map[string]int{"N": 21}, &out); err != nil {
		t.Fatal(err)
	}
	if out.Method != "DOUBLE" || out.Double != 42 {
		t.Fatalf("got %+v", out)
	}
}

func TestWireFormat(t *testing.T) {
	rec := newRecorder()
	p := NewPeer(rec.send, func(method string, _ json.RawMessage) (any, error) {
		switch method {
		case "VOID":
			return nil, nil
		case "NIL_PTR":
			return (*struct{})(nil), nil
		case "FALSE":
			return false, nil
		}
		return nil, ErrNoResponse
	}, nil, nil)
	defer p.Close()

	// CALL key order and counter ids.
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Call(ctx, "SEND_LOG", map[string]string{"data": "<b>&</b>"}, nil) }()
	rec.next(t)
	rec.mu.Lock()
	raw := rec.sent[0]
	rec.mu.Unlock()
	if raw != `{"id":"1","kind":"CALL","data":{"data":"<b>&</b>"},"methodName":"SEND_LOG"}` {
		t.Errorf("CALL %s", raw)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("canceled call: %v", err)
	}

	// Void answers omit data; others keep it.
	for _, tc := range []struct{ method, want string }{
		{"VOID", `{"id":"57","kind":"RESPONSE","methodName":"VOID"}`},
		{"NIL_PTR", `{"id":"57","kind":"RESPONSE","methodName":"NIL_PTR"}`},
		{"FALSE", `{"id":"57","kind":"RESPONSE","methodName":"FALSE","data":false}`},
	} {
		p.Receive(`{"id":"57","kind":"CALL","data":{},"methodName":"` + tc.method + `"}`)
		rec.next(t)
		rec.mu.Lock()
		got := rec.sent[len(rec.sent)-1]
		rec.mu.Unlock()
		if got != tc.want {
			t.Errorf("%s answered %s, want %s", tc.method, got, tc.want)
		}
	}
}

func TestVoidResponseLeavesOutUntouched(t *testing.T) {
	a, _ := connect(t, noHandler, func(string, json.RawMessage) (any, error) { return nil, nil })
	out := map[string]int{"kept": 1}
	if err := a.Call(context.Background(), "START_TRANSACTION", struct{}{}, &out); err != nil {
		t.Fatal(err)
	}
	if out["kept"] != 1 {
		t.Fatalf("out changed: %v", out)
	}
	raw, err := a.CallRaw(context.Background(), "X", nil)
	if err != nil || raw != nil {
		t.Fatalf("CallRaw = %s, %v", raw, err)
	}
}

func TestMalformedResponseData(t *testing.T) {
	a, _ := connect(t, noHandler, func(string, json.RawMessage) (any, error) { return "a string", nil })
	var out struct{ X int }
	err := a.Call(context.Background(), "X", nil, &out)
	if !errors.Is(err, protocol.ErrMalformed) {
		t.Fatalf("got %v, want ErrMalformed", err)
	}
}

func TestUnknownAndDuplicateResponsesDropped(t *testing.T) {
	rec := newRecorder()
	p := NewPeer(rec.send, noHandler, nil, nil)
	defer p.Close()
	// Unknown ids and garbage: dropped, nothing sent, no panic.
	for _, s := range []string{
		`{"id":"999","kind":"RESPONSE","methodName":"X","data":true}`,
		`{"id":"999","kind":"RESPONSE","methodName":"X"}`,
		`not json`, `{}`, `{"id":"1","kind":"WHAT","methodName":"X"}`,
	} {
		p.Receive(s)
	}

	type res struct {
		raw json.RawMessage
		err error
	}
	done := make(chan res, 1)
	go func() {
		raw, err := p.CallRaw(context.Background(), "X", nil)
		done <- res{raw, err}
	}()
	call := rec.next(t)
	// A duplicated RESPONSE must not block the receiving goroutine.
	received := make(chan struct{})
	go func() {
		defer close(received)
		for range 3 {
			p.Receive(`{"id":"` + call.ID + `","kind":"RESPONSE","methodName":"X","data":7}`)
		}
	}()
	select {
	case <-received:
	case <-time.After(hang):
		t.Fatal("Receive blocked on a duplicated RESPONSE")
	}
	r := <-done
	if r.err != nil || string(r.raw) != "7" {
		t.Fatalf("got %s, %v", r.raw, r.err)
	}
	if n := rec.count(); n != 1 {
		t.Fatalf("sent %d messages, want only the CALL", n)
	}
}

func TestHandlerFailuresSendNothing(t *testing.T) {
	rec := newRecorder()
	p := NewPeer(rec.send, func(method string, _ json.RawMessage) (any, error) {
		switch method {
		case "PANIC":
			panic("boom")
		case "PANIC_NIL_MAP":
			var m map[string]int
			m["x"] = 1
		case "ERR":
			return nil, errors.New("invalid input")
		case "UNMARSHALABLE":
			return make(chan int), nil
		case "OK":
			return true, nil
		}
		return nil, ErrNoResponse
	}, nil, nil)
	defer p.Close()
	for _, m := range []string{"PANIC", "PANIC_NIL_MAP", "ERR", "NONE", "UNMARSHALABLE"} {
		p.Receive(`{"id":"1","kind":"CALL","data":{},"methodName":"` + m + `"}`)
	}
	// A final answered call proves the peer still works and, since
	// responses are sent in order of Receive only per call, we wait for it.
	p.Receive(`{"id":"2","kind":"CALL","data":{},"methodName":"OK"}`)
	if e := rec.next(t); e.ID != "2" || string(e.Data) != "true" {
		t.Fatalf("got %+v", e)
	}
	p.Close() // waits for every response goroutine
	if n := rec.count(); n != 1 {
		t.Fatalf("sent %d responses, want 1: %q", n, rec.sent)
	}
}

func TestCloseFailsPendingCalls(t *testing.T) {
	rec := newRecorder()
	p := NewPeer(rec.send, noHandler, nil, nil)
	const n = 5
	errs := make(chan error, n)
	for range n {
		go func() { errs <- p.Call(context.Background(), "WAIT", nil, nil) }()
	}
	for range n {
		rec.next(t)
	}
	p.Close()
	for range n {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrClosed) {
				t.Errorf("pending call: %v, want ErrClosed", err)
			}
		case <-time.After(hang):
			t.Fatal("pending call not ended by Close")
		}
	}
	if err := p.Call(context.Background(), "LATE", nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("call after Close: %v", err)
	}
	// A CALL received after Close is not answered; Close twice is fine.
	p.Receive(`{"id":"9","kind":"CALL","data":{},"methodName":"X"}`)
	p.Close()
}

func TestCloseEndsResponseBeingSent(t *testing.T) {
	started := make(chan struct{})
	p := NewPeer(func(ctx context.Context, s string) error {
		close(started)
		<-ctx.Done() // a transport waiting for an ACK that never comes
		return ctx.Err()
	}, func(string, json.RawMessage) (any, error) { return true, nil }, nil, nil)
	p.Receive(`{"id":"1","kind":"CALL","data":{},"methodName":"X"}`)
	<-started
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(hang):
		t.Fatal("Close did not end the response send")
	}
}

func TestContextEndsCall(t *testing.T) {
	rec := newRecorder()
	p := NewPeer(rec.send, noHandler, nil, nil)
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Call(ctx, "WAIT", nil, nil) }()
	call := rec.next(t)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
	case <-time.After(hang):
		t.Fatal("cancel did not end the call")
	}
	// The late RESPONSE is dropped.
	p.Receive(`{"id":"` + call.ID + `","kind":"RESPONSE","methodName":"WAIT","data":1}`)

	// A deadline works the same way.
	ctx, cancel = context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if err := p.Call(ctx, "WAIT", nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
}

func TestSendErrorEndsCall(t *testing.T) {
	boom := errors.New("not connected")
	p := NewPeer(func(context.Context, string) error { return boom }, noHandler, nil, nil)
	defer p.Close()
	if err := p.Call(context.Background(), "X", nil, nil); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	if err := p.Call(context.Background(), "X", make(chan int), nil); err == nil || errors.Is(err, boom) {
		t.Fatalf("unmarshalable input: %v", err)
	}
}

func TestSharedCounter(t *testing.T) {
	var counter atomic.Uint64
	counter.Store(41)
	rec := newRecorder()
	p1 := NewPeer(rec.send, noHandler, &counter, nil)
	ctx, cancel := context.WithCancel(context.Background())
	go p1.Call(ctx, "A", nil, nil) //nolint:errcheck
	if e := rec.next(t); e.ID != "42" {
		t.Errorf("id %s, want 42", e.ID)
	}
	p1.Close()
	p2 := NewPeer(rec.send, noHandler, &counter, nil)
	go p2.Call(ctx, "B", nil, nil) //nolint:errcheck
	if e := rec.next(t); e.ID != "43" {
		t.Errorf("id %s after reconnect, want 43", e.ID)
	}
	cancel()
	p2.Close()
}

func TestConcurrentCalls(t *testing.T) {
	var calls atomic.Int64
	handler := func(method string, data json.RawMessage) (any, error) {
		calls.Add(1)
		var n int
		if err := json.Unmarshal(data, &n); err != nil {
			return nil, err
		}
		return fmt.Sprintf("%s:%d", method, n), nil
	}
	a, b := connect(t, handler, handler)
	const workers, each = 16, 50
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers*each)
	for w := range workers {
		for _, p := range []*Peer{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					n := w*1000 + i
					var out string
					if err := p.Call(context.Background(), "M"+strconv.Itoa(w), n, &out); err != nil {
						errs <- err
						return
					}
					if want := "M" + strconv.Itoa(w) + ":" + strconv.Itoa(n); out != want {
						errs <- fmt.Errorf("got %q, want %q", out, want)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := calls.Load(); got != 2*workers*each {
		t.Errorf("handled %d calls, want %d", got, 2*workers*each)
	}
	if !strings.HasPrefix(fmt.Sprint(a.counter.Load()), fmt.Sprint(workers*each)) {
		t.Errorf("counter %d", a.counter.Load())
	}
}

// postPipe is a posting transport over a pipe: acked reports the fate the
// test chooses for each envelope.
type postPipe struct {
	p    *pipe
	fate func(s string) error // nil: delivered and confirmed
}

func (pp *postPipe) post(ctx context.Context, s string, acked func(error)) error {
	if pp.fate != nil {
		if err := pp.fate(s); err != nil {
			go acked(err)
			return nil
		}
	}
	if err := pp.p.send(ctx, s); err != nil {
		return err
	}
	acked(nil)
	return nil
}

func TestPostPeerCallAndResponse(t *testing.T) {
	var pa, pb *pipe
	ta, tb := &postPipe{}, &postPipe{}
	a := NewPostPeer(func(ctx context.Context, s string, acked func(error)) error { return tb.post(ctx, s, acked) }, noHandler, nil, nil)
	b := NewPostPeer(func(ctx context.Context, s string, acked func(error)) error { return ta.post(ctx, s, acked) },
		func(method string, data json.RawMessage) (any, error) { return map[string]string{"echo": method}, nil }, nil, nil)
	pa, pb = newPipe(a.Receive), newPipe(b.Receive)
	ta.p, tb.p = pa, pb
	t.Cleanup(func() { a.Close(); b.Close(); pa.close(); pb.close() })

	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	var out map[string]string
	if err := a.Call(ctx, "PING", nil, &out); err != nil || out["echo"] != "PING" {
		t.Fatalf("Call = %v, %v", out, err)
	}
	// A send that fails after it was written ends the call with that error.
	lost := errors.New("no ACK")
	tb.fate = func(string) error { return lost }
	if err := a.Call(ctx, "LOST", nil, nil); !errors.Is(err, lost) {
		t.Fatalf("Call with a failed send = %v, want %v", err, lost)
	}
}

func TestCallTimeout(t *testing.T) {
	rec := newRecorder()
	p := NewPeer(rec.send, noHandler, nil, nil)
	defer p.Close()
	// The context never ends; the timeout alone ends the call.
	_, err := p.CallRawTimeout(context.Background(), time.Millisecond, "WAIT", nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
	if !strings.Contains(err.Error(), "WAIT") {
		t.Errorf("error %q does not name the method", err)
	}
	// Within its timeout a call gets its RESPONSE as usual.
	errc := make(chan error, 1)
	go func() {
		raw, err := p.CallRawTimeout(context.Background(), hang, "ANSWERED", nil)
		if err == nil && string(raw) != "7" {
			err = fmt.Errorf("got %s", raw)
		}
		errc <- err
	}()
	rec.next(t) // WAIT
	call := rec.next(t)
	p.Receive(`{"id":"` + call.ID + `","kind":"RESPONSE","methodName":"ANSWERED","data":7}`)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// After a burst of calls the pending table is made anew: a map keeps its
// largest size, which a long-running host would otherwise carry for life.
func TestPendingShrinksAfterBurst(t *testing.T) {
	rec := &recorder{ch: make(chan string, shrinkAfter+100)}
	p := NewPeer(rec.send, noHandler, nil, nil)
	defer p.Close()
	p.mu.Lock()
	before := reflect.ValueOf(p.pending).UnsafePointer()
	p.mu.Unlock()
	n := shrinkAfter + 50
	errc := make(chan error, n)
	for range n {
		go func() { errc <- p.Call(context.Background(), "M", nil, nil) }()
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = rec.next(t).ID
	}
	p.mu.Lock()
	if len(p.pending) != n || p.peak != n {
		t.Errorf("pending %d, peak %d; want %d both", len(p.pending), p.peak, n)
	}
	p.mu.Unlock()
	for _, id := range ids {
		p.Receive(`{"id":"` + id + `","kind":"RESPONSE","methodName":"M","data":true}`)
	}
	for range n {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pending) != 0 || p.peak != 0 {
		t.Fatalf("after the burst: pending %d, peak %d", len(p.pending), p.peak)
	}
	if reflect.ValueOf(p.pending).UnsafePointer() == before {
		t.Fatal("the grown pending map was kept")
	}
}

// A method name or id is as long as the peer makes it: the log line about
// a call that was not answered or a response nobody waits for holds a
// bounded part of it.
func TestLongNamesClippedInLog(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rec := newRecorder()
	p := NewPeer(rec.send, func(method string, _ json.RawMessage) (any, error) {
		return nil, errors.New("unknown method")
	}, nil, log)
	defer p.Close()
	long := strings.Repeat("M", 1<<20)
	p.Receive(`{"id":"1","kind":"CALL","data":{},"methodName":"` + long + `"}`)
	p.Receive(`{"id":"` + long + `","kind":"RESPONSE","data":{},"methodName":"` + long + `"}`)
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, "call not answered") || !strings.Contains(out, "response to unknown call") {
		t.Fatalf("log lacks the refusals:\n%.300s", out)
	}
	if len(out) > 2000 || !strings.Contains(out, "(1048576 bytes)") {
		t.Fatalf("log of %d bytes; want the long names clipped:\n%.300s", len(out), out)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A RESPONSE that arrives as the peer closes is the call's answer, not
// ErrClosed (the select between the two picked at random: a host that
// answered CLOSE_TRANSACTION and then disconnected was reported as closed
// about half the time).
func TestResponseBeforeCloseWins(t *testing.T) {
	for i := range 200 {
		var p *Peer
		p = NewPeer(func(ctx context.Context, data string) error {
			env, err := protocol.DecodeEnvelope(data)
			if err != nil {
				return err
			}
			resp := protocol.AppendEnvelope(nil, protocol.Envelope{ID: env.ID, Kind: protocol.KindResponse, MethodName: env.MethodName, Data: json.RawMessage(`"bye"`)})
			p.Receive(string(resp)) // the answer arrives, then the socket ends
			go p.Close()
			<-p.ctx.Done()
			return nil
		}, nil, nil, slog.New(slog.DiscardHandler))
		var got string
		if err := p.Call(context.Background(), "CLOSE_TRANSACTION", map[string]string{}, &got); err != nil || got != "bye" {
			t.Fatalf("call %d: %q, %v", i, got, err)
		}
		p.Close()
	}
}

// goResult is what Go's done got.
type goResult struct {
	raw string
	err error
}

// Go calls done exactly once for every way a call ends: its RESPONSE, a
// failed send, its timeout, its context, the peer's close; and leaves
// nothing pending.
func TestGoEndsOnce(t *testing.T) {
	rec := newRecorder()
	p := NewPeer(rec.send, noHandler, nil, nil)
	results := make(chan goResult, 10)
	done := func(raw json.RawMessage, err error) { results <- goResult{string(raw), err} }
	next := func(what string) goResult {
		t.Helper()
		select {
		case r := <-results:
			return r
		case <-time.After(hang):
			t.Fatalf("%s: done never called", what)
		}
		panic("unreachable")
	}

	p.Go(context.Background(), hang, "ANSWERED", map[string]int{"n": 1}, done)
	call := rec.next(t)
	if call.Kind != protocol.KindCall || call.MethodName != "ANSWERED" || string(call.Data) != `{"n":1}` {
		t.Fatalf("sent %+v", call)
	}
	p.Receive(`{"id":"` + call.ID + `","kind":"RESPONSE","methodName":"ANSWERED","data":7}`)
	if r := next("response"); r.err != nil || r.raw != "7" {
		t.Fatalf("answered call: %+v", r)
	}
	// A duplicated RESPONSE calls nothing again.
	p.Receive(`{"id":"` + call.ID + `","kind":"RESPONSE","methodName":"ANSWERED","data":8}`)

	p.Go(context.Background(), time.Millisecond, "SLOW", nil, done)
	rec.next(t)
	if r := next("timeout"); !errors.Is(r.err, context.DeadlineExceeded) || !strings.Contains(r.err.Error(), "SLOW") {
		t.Fatalf("timed-out call: %+v", r)
	}

	ctx, cancel := context.WithCancel(context.Background())
	p.Go(ctx, hang, "CANCELED", nil, done)
	rec.next(t)
	cancel()
	if r := next("cancel"); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("canceled call: %+v", r)
	}

	p.Go(context.Background(), hang, "OPEN", nil, done)
	rec.next(t)
	p.Close()
	if r := next("close"); !errors.Is(r.err, ErrClosed) {
		t.Fatalf("call pending at close: %+v", r)
	}
	p.Go(context.Background(), hang, "LATE", nil, done)
	if r := next("after close"); !errors.Is(r.err, ErrClosed) {
		t.Fatalf("call after close: %+v", r)
	}
	select {
	case r := <-results:
		t.Fatalf("done called again: %+v", r)
	case <-time.After(20 * time.Millisecond):
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pending) != 0 {
		t.Fatalf("%d calls still pending", len(p.pending))
	}
}

// A posted call whose sending fails ends with that error.
func TestGoSendFails(t *testing.T) {
	lost := errors.New("no ACK")
	p := NewPostPeer(func(_ context.Context, _ string, acked func(error)) error {
		go acked(lost)
		return nil
	}, noHandler, nil, nil)
	defer p.Close()
	got := make(chan error, 1)
	p.Go(context.Background(), hang, "LOST", nil, func(_ json.RawMessage, err error) { got <- err })
	select {
	case err := <-got:
		if !errors.Is(err, lost) {
			t.Fatalf("got %v, want %v", err, lost)
		}
	case <-time.After(hang):
		t.Fatal("done never called")
	}
}
