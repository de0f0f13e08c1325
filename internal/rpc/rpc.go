// Package rpc implements Interval's DuplexRPC layer over any transport that
// delivers and sends strings: numbered CALLs, RESPONSEs matched to the calls
// this side sent, and dispatch of incoming CALLs to a handler.
//
// Unlike the official SDK, a call never waits forever: it ends with its
// context, or with ErrClosed when the peer is closed.
package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/interval-go/sdk/internal/protocol"
)

// ErrClosed is returned by calls pending or made after Close.
var ErrClosed = errors.New("rpc: peer closed")

// ErrNoResponse is returned by a handler to send no RESPONSE at all (the
// protocol's way to refuse a call).
var ErrNoResponse = errors.New("rpc: no response")

// SendFunc sends one RPC envelope string over the transport, returning once
// the transport accepted it (for ISocket: once it was acknowledged).
type SendFunc func(ctx context.Context, data string) error

// PostFunc sends one RPC envelope string without waiting for the transport
// to confirm it: it returns once the envelope is written, and calls acked
// exactly once later, with nil when the transport confirmed it (for ISocket:
// the ACK came) or the error that ended the wait. acked must not block. When
// PostFunc returns an error, acked is never called.
type PostFunc func(ctx context.Context, data string, acked func(error)) error

// HandlerFunc answers an incoming CALL. It runs in the goroutine that called
// Receive and must not block; the returned value (nil for void) is sent as
// the RESPONSE (see Receive). Returning ErrNoResponse, or any error,
// sends nothing; errors other than ErrNoResponse are logged.
type HandlerFunc func(method string, data json.RawMessage) (any, error)

// Peer is one end of a DuplexRPC connection.
type Peer struct {
	send    SendFunc // a blocking transport (NewPeer)
	post    PostFunc // a posting transport (NewPostPeer)
	handle  HandlerFunc
	log     *slog.Logger
	counter *atomic.Uint64

	mu      sync.Mutex
	pending map[string]*waiter
	peak    int // the most calls pending at once since pending was made
	closed  bool
	wg      sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelFunc
}

type result struct {
	data json.RawMessage
	err  error
}

// waiter is a call waiting for its RESPONSE: a CallRaw blocked on ch, or a
// Go whose done is called once.
type waiter struct {
	ch    chan result
	done  func(json.RawMessage, error)
	fired atomic.Bool
	mu    sync.Mutex
	timer *time.Timer // Go's timeout
	stop  func() bool // Go's context.AfterFunc
}

// release stops Go's timer and context watch.
func (w *waiter) release() {
	w.mu.Lock()
	t, stop := w.timer, w.stop
	w.mu.Unlock()
	if t != nil {
		t.Stop()
	}
	if stop != nil {
		stop()
	}
}

// deliver hands r to the call without blocking; only the first result (a
// RESPONSE, a failed send, the end of the wait) counts.
func (w *waiter) deliver(r result) {
	if w.done == nil {
		select {
		case w.ch <- r:
		default:
		}
		return
	}
	if !w.fired.CompareAndSwap(false, true) {
		return
	}
	w.release()
	w.done(r.data, r.err)
}

// NewPeer returns a Peer that sends with send and answers calls with handle.
// Call ids come from counter, which may be shared across reconnections (ids
// are never reset, as in the official SDK); nil uses a private counter.
func NewPeer(send SendFunc, handle HandlerFunc, counter *atomic.Uint64, log *slog.Logger) *Peer {
	if counter == nil {
		counter = new(atomic.Uint64)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Peer{send: send, handle: handle, log: log, counter: counter,
		pending: map[string]*waiter{}, ctx: ctx, cancel: cancel}
}

// NewPostPeer is NewPeer over a transport that posts: a CALL's sender waits
// only for the RESPONSE (or a failed send), and RESPONSEs are written from
// the goroutine that called Receive, so a call costs no extra goroutine and
// no extra wake-up for the transport's confirmation.
func NewPostPeer(post PostFunc, handle HandlerFunc, counter *atomic.Uint64, log *slog.Logger) *Peer {
	p := NewPeer(nil, handle, counter, log)
	p.post = post
	return p
}

// Call sends a CALL of method with input in (marshaled to JSON) and decodes
// the RESPONSE's data into out (which may be nil). A void RESPONSE leaves out
// untouched.
func (p *Peer) Call(ctx context.Context, method string, in any, out any) error {
	raw, err := p.CallRaw(ctx, method, in)
	if err != nil {
		return err
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("rpc: %s returned %w: %v", method, protocol.ErrMalformed, err)
	}
	return nil
}

// CallRaw is Call returning the RESPONSE's raw data (nil for void).
func (p *Peer) CallRaw(ctx context.Context, method string, in any) (json.RawMessage, error) {
	return p.CallRawTimeout(ctx, 0, method, in)
}

// CallRawTimeout is CallRaw bounded by timeout as well as ctx (0: no bound);
// a call that times out returns an error wrapping
// context.DeadlineExceeded. Unlike a context.WithTimeout child of ctx it
// leaves nothing behind in ctx, which matters for long-lived contexts (a
// transaction's) that make many calls.
func (p *Peer) CallRawTimeout(ctx context.Context, timeout time.Duration, method string, in any) (json.RawMessage, error) {
	data, err := marshal(in)
	if err != nil {
		return nil, fmt.Errorf("rpc: encoding %s input: %w", method, err)
	}
	id := strconv.FormatUint(p.counter.Add(1), 10)
	ch := make(chan result, 1)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	w := &waiter{ch: ch}
	p.pending[id] = w
	p.peak = max(p.peak, len(p.pending))
	p.mu.Unlock()
	defer p.forget(id)
	env := envelope(protocol.Envelope{ID: id, Kind: protocol.KindCall, MethodName: method, Data: data})
	if err := p.transmit(ctx, env, w); err != nil {
		return nil, fmt.Errorf("rpc: sending %s: %w", method, err)
	}
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	var err2 error
	select {
	case r := <-ch:
		return r.data, r.err
	case <-ctx.Done():
		err2 = fmt.Errorf("rpc: waiting for %s: %w", method, ctx.Err())
	case <-expired:
		err2 = fmt.Errorf("rpc: waiting for %s: %w", method, context.DeadlineExceeded)
	case <-p.ctx.Done():
		err2 = ErrClosed
	}
	// A RESPONSE that arrived as the peer closed (or the wait ended) is
	// the answer: select picks among ready cases at random.
	select {
	case r := <-ch:
		return r.data, r.err
	default:
		return nil, err2
	}
}

// Go sends a CALL of method with input in, as CallRawTimeout does, without
// a goroutine waiting for its answer: done is called exactly once, with the
// RESPONSE's raw data (nil for void) or the error that ended the call (its
// sending failed, ctx ended, timeout passed, the peer closed). done runs on
// the goroutine that called Receive, a timer's, Close's or, for a call
// that could not be sent, this one's, before Go returns; it must not block.
func (p *Peer) Go(ctx context.Context, timeout time.Duration, method string, in any, done func(json.RawMessage, error)) {
	data, err := marshal(in)
	if err != nil {
		done(nil, fmt.Errorf("rpc: encoding %s input: %w", method, err))
		return
	}
	id := strconv.FormatUint(p.counter.Add(1), 10)
	w := &waiter{}
	w.done = func(raw json.RawMessage, err error) {
		p.forget(id)
		if err != nil {
			err = fmt.Errorf("rpc: waiting for %s: %w", method, err)
		}
		done(raw, err)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		done(nil, ErrClosed)
		return
	}
	p.pending[id] = w
	p.peak = max(p.peak, len(p.pending))
	p.mu.Unlock()
	w.mu.Lock()
	if timeout > 0 {
		w.timer = time.AfterFunc(timeout, func() { w.deliver(result{err: context.DeadlineExceeded}) })
	}
	if ctx.Done() != nil {
		w.stop = context.AfterFunc(ctx, func() { w.deliver(result{err: ctx.Err()}) })
	}
	w.mu.Unlock()
	if w.fired.Load() { // ended meanwhile (ctx was done): stop what was set
		w.release()
	}
	env := envelope(protocol.Envelope{ID: id, Kind: protocol.KindCall, MethodName: method, Data: data})
	if err := p.transmit(ctx, env, w); err != nil {
		w.deliver(result{err: fmt.Errorf("sending: %w", err)})
	}
}

// shrinkAfter is the burst of pending calls after which an emptied pending
// map is replaced: a Go map keeps its largest size, and a host that once
// had 10,000 calls in flight should not keep their table for its life.
const shrinkAfter = 1024

// forget takes a finished call out of pending.
func (p *Peer) forget(id string) {
	p.mu.Lock()
	delete(p.pending, id)
	p.shrink()
	p.mu.Unlock()
}

// shrink replaces an empty pending map that grew large; p.mu is held.
func (p *Peer) shrink() {
	if len(p.pending) == 0 && p.peak > shrinkAfter {
		p.pending = map[string]*waiter{}
		p.peak = 0
	}
}

// transmit sends a CALL's envelope. With a posting transport a failed
// send arrives later, on ch, like the RESPONSE would.
func (p *Peer) transmit(ctx context.Context, env string, w *waiter) error {
	if p.post == nil {
		return p.send(ctx, env)
	}
	return p.post(ctx, env, func(err error) {
		if err != nil {
			w.deliver(result{err: err})
		}
	})
}

// envelope returns the JSON text of e, built in one buffer of the size it
// needs (unless its strings need escaping) that becomes the string.
func envelope(e protocol.Envelope) string {
	const overhead = len(`{"id":"","kind":"","data":,"methodName":""}`) + len(protocol.KindResponse)
	b := protocol.AppendEnvelope(make([]byte, 0, overhead+len(e.ID)+len(e.MethodName)+len(e.Data)), e)
	return unsafe.String(unsafe.SliceData(b), len(b)) // b is never written again
}

// marshal encodes v like JSON.stringify: no HTML escaping of <, > and &
// (still valid JSON, and the bytes the Node SDK would send).
func marshal(v any) (json.RawMessage, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return v, nil
	case bool:
		if v {
			return json.RawMessage("true"), nil
		}
		return json.RawMessage("false"), nil
	case protocol.JSONAppender:
		return v.AppendJSON(make([]byte, 0, 256))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// logClip bounds the method names and ids a peer sends in our log lines.
const logClip = 64

// Receive handles one envelope string from the transport: a RESPONSE
// completes the matching Call; a CALL is passed to the handler and its answer
// sent (posted from this goroutine with NewPostPeer, else from a new
// goroutine owned by the Peer). Malformed envelopes and
// RESPONSEs to unknown ids are logged and dropped.
func (p *Peer) Receive(s string) {
	env, err := protocol.DecodeEnvelope(s)
	if err != nil {
		p.log.Warn("rpc: dropping malformed message", "err", err)
		return
	}
	if env.Kind == protocol.KindResponse {
		// Take the call out of pending so that a duplicated RESPONSE
		// finds nothing (the channel holds one result; a second send on
		// it would block the transport's reader forever).
		p.mu.Lock()
		w, ok := p.pending[env.ID]
		delete(p.pending, env.ID)
		p.shrink()
		p.mu.Unlock()
		if !ok {
			p.log.Debug("rpc: response to unknown call", "id", protocol.Clip(env.ID, logClip), "method", protocol.Clip(env.MethodName, logClip))
			return
		}
		w.deliver(result{data: env.Data})
		return
	}
	out, err := p.safeHandle(env.MethodName, env.Data)
	if err != nil {
		if !errors.Is(err, ErrNoResponse) {
			p.log.Warn("rpc: call not answered", "method", protocol.Clip(env.MethodName, logClip), "err", err)
		}
		return
	}
	data, err := marshal(out)
	if err != nil {
		p.log.Error("rpc: encoding response", "method", protocol.Clip(env.MethodName, logClip), "err", err)
		return
	}
	resp := envelope(protocol.Envelope{ID: env.ID, Kind: protocol.KindResponse, MethodName: env.MethodName, Data: data})
	if p.post != nil {
		method := protocol.Clip(env.MethodName, logClip)
		err := p.post(p.ctx, resp, func(err error) {
			if err != nil {
				p.log.Debug("rpc: response not acknowledged", "method", method, "err", err)
			}
		})
		if err != nil {
			p.log.Debug("rpc: response not sent", "method", method, "err", err)
		}
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		if err := p.send(p.ctx, resp); err != nil {
			p.log.Debug("rpc: response not sent", "method", protocol.Clip(env.MethodName, logClip), "err", err)
		}
	}()
}

func (p *Peer) safeHandle(method string, data json.RawMessage) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rpc: handler for %s panicked: %v", method, r)
		}
	}()
	return p.handle(method, data)
}

// Close fails every pending call with ErrClosed and waits for responses
// being sent to finish (they end when the transport is closed).
func (p *Peer) Close() {
	p.mu.Lock()
	p.closed = true
	var gone []*waiter
	for _, w := range p.pending {
		if w.done != nil {
			gone = append(gone, w)
		}
	}
	p.mu.Unlock()
	p.cancel()
	for _, w := range gone {
		w.deliver(result{err: ErrClosed})
	}
	p.wg.Wait()
}
