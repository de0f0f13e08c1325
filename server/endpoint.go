package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	wsa "github.com/interval-go/sdk/internal/isocket"
	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/internal/rpc"
)

// Limits of one socket.
const (
	// inboxSize is how many received messages may wait for processing
	// before the socket is closed as misbehaving (the default of
	// Options.InboxSize; the inbox holds what waits, no more).
	inboxSize = 1024
	// callTimeout bounds the wait for the answer to a call we make.
	callTimeout = 30 * time.Second
	// hostCallsPerSecond and browserCallsPerSecond are the most calls a
	// socket may make in one second before it is paced (a host) or closed
	// (1008; a console socket, on average, in bursts of up to two
	// seconds' worth), as in Interval's server (which allows browsers 50):
	// the defaults of Options.HostCallsPerSecond and BrowserCallsPerSecond.
	hostCallsPerSecond    = 1024
	browserCallsPerSecond = 100
	// maxDeferred is how many calls of a socket may wait for their
	// answer off its inbox at once (see endpoint.deferred).
	maxDeferred = 16
)

// unackedReason is the close reason of a socket that did not acknowledge
// a message within the send timeout.
const unackedReason = "Message not acknowledged in time."

// barrierPassed marks the context of a call the outbox writes after its
// own wait for the barrier (post does not wait again).
type barrierPassed struct{}

// errNotSent is given to the done function of a queued call that was never
// written to the socket (it closed first).
var errNotSent = errors.New("server: call not sent: socket closed")

// outCall is a call queued for a peer, or an answer (encoded) to one of
// the peer's calls.
type outCall struct {
	answer string // when set, the RESPONSE to write; the rest is unused
	method string
	in     any
	// done, if set, receives the answer or the error that ended the call,
	// once, from the goroutine that handles the socket's inbox, a timer's,
	// or the one closing the socket: it must not block.
	done func(raw json.RawMessage, err error)
	// free marks a call or an answer that needs no wait for the store
	// (callFree, freeAnswer).
	free bool
}

// endpoint is one accepted websocket (host or browser): the ISocket
// connection, its RPC peer, an inbox processed in order by one goroutine
// (handlers may touch the store without stalling ACKs and pongs), and an
// outbox of calls sent in order. Every goroutine it starts ends in run.
type endpoint struct {
	conn    *wsa.Conn
	inline  bool // run reads the socket (wsa.Start)
	peer    *rpc.Peer
	log     *slog.Logger
	unacked slog.Level // of the line for a message not acknowledged

	// The inbox: received messages waiting for inWorker, at most inMax;
	// nil when empty, so that an idle socket holds no buffer for it. The
	// worker runs only while there is work (in.running), once run started
	// (in.started): an idle socket has no goroutine, nor stack, for it.
	inMu  sync.Mutex
	inQ   []string
	inMax int
	in    worker

	ctx    context.Context
	cancel context.CancelFunc

	closeOnce   sync.Once
	closeCode   websocket.StatusCode
	closeReason string

	// An inline endpoint's run reads the socket (serving); closeWith
	// then closes the socket from a goroutine of its own (the closer,
	// started once) so that the reading ends.
	closerMu      sync.Mutex
	serving       bool
	closerStarted bool
	closer        sync.WaitGroup

	// The outbox, sent in order by outWorker, which runs only while there
	// is work, like inWorker.
	outMu     sync.Mutex
	outQ      []outCall
	outClosed bool
	out       worker

	wg sync.WaitGroup

	// Rate window, touched only by the connection's reader goroutine.
	limit   int
	pace    bool // over the limit, pause reading (hosts) instead of closing
	rateSec int64
	rateN   int
	// bucket counts a closing (console) socket's calls instead of the
	// window: limit a second on average, in bursts of up to two seconds'
	// worth, so that calls made at the limit and read together (after a
	// network stall, or by a server short of CPU) do not close the socket.
	bucket  *rate.Limiter
	pacedAt time.Time // when reading was last paused, for the log
	// overLimit is set once the socket went over its limit (logged once).
	overLimit bool

	// deferred, if set before run, may take a CALL off the inbox: it
	// does the call's quick part in order and returns a function that
	// computes the answer, which then runs on its own goroutine (set only
	// for methods whose answer may take long, such as REQUEST_PAGE).
	deferred       func(method string, data json.RawMessage) (answer func() any, ok bool)
	deferredMethod string       // the method deferred takes (a quick filter)
	deferredN      atomic.Int32 // deferred calls being answered

	// afterInit, when armed, runs once the RESPONSE to INITIALIZE_HOST was
	// sent (serverless requests start their work only then).
	afterInitArmed atomic.Bool
	afterInitMu    sync.Mutex
	afterInit      func(error)

	// barrier, when set before run, is waited for before each message is
	// written (Server.syncSaves).
	barrier func(context.Context) error
	// fence, when set before run, is asked before anything is written,
	// free messages too: a replica that may have lost its lease sends
	// nothing, and closes the socket (Server.leaseHeld). The barrier asks
	// it too.
	fence func() error

	// held are the RESPONSEs the peer posted while inWorker handled a
	// batch of messages: they go out together once the batch is done,
	// after one wait for the barrier (flushHeld). Only inWorker touches
	// it: the peer posts a RESPONSE only from Receive, which only
	// inWorker calls.
	held []outCall
	// answerFree marks the answer of the message being handled as free
	// (freeAnswer): set by its handler, only on inWorker.
	answerFree bool
	// ackTimeout bounds the wait for the peer's ACK of a message posted.
	ackTimeout time.Duration
}

// workerLinger is how long an inbox or outbox worker waits for more work
// once it has none before it ends: the workers of a socket busy with runs
// live on between messages (a goroutine started afresh grows its stack
// again, which costs more than the message), an idle socket has none.
const workerLinger = 50 * time.Millisecond

// worker is the state of the inbox's or the outbox's worker goroutine,
// guarded by the box's lock: it starts with work once run started, and
// ends once it found none for workerLinger.
type worker struct {
	started bool          // run started: work may start the worker
	running bool          // the goroutine exists
	idle    bool          // it lingers, waiting on wake
	wake    chan struct{} // made when it first lingers
	timer   *time.Timer   // its linger timer, touched by the goroutine only
}

// linger waits, as an idle worker, up to workerLinger for work (has
// reports it, mu held) or for ctx to end; mu guards w and is not held. It
// returns true with work to do; false with the worker marked stopped.
func (w *worker) linger(ctx context.Context, mu *sync.Mutex, has func() bool) bool {
	mu.Lock()
	if has() && ctx.Err() == nil {
		mu.Unlock()
		return true
	}
	if w.wake == nil {
		w.wake = make(chan struct{}, 1)
	}
	wake := w.wake
	select { // a wake-up meant for an earlier wait
	case <-wake:
	default:
	}
	w.idle = true
	mu.Unlock()
	if w.timer == nil {
		w.timer = time.NewTimer(workerLinger)
	} else {
		w.timer.Reset(workerLinger)
	}
	select {
	case <-wake:
	case <-w.timer.C:
	case <-ctx.Done():
	}
	w.timer.Stop()
	mu.Lock()
	defer mu.Unlock()
	w.idle = false
	if has() && ctx.Err() == nil {
		return true
	}
	w.running = false
	return false
}

// wakeIdle wakes the worker if it lingers (its box's lock held).
func (w *worker) wakeIdle() {
	if w.idle {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// maxBatch is how many received messages inWorker handles before it
// writes their answers: a bound on how long an answer waits for the
// others of its batch.
const maxBatch = 64

// isResponse reports whether an envelope is a RESPONSE (answers do not
// count against the rate limit), looking only at its start.
func isResponse(data string) bool {
	if len(data) > 96 {
		data = data[:96]
	}
	return strings.Contains(data, `"kind":"RESPONSE"`)
}

// limited, when not nil, is called when the socket is closed for its rate.
// unacked is the level of the log line for a message the peer did not
// acknowledge in time: a fault for a host (Warn), a browser that left (a
// reload, a closed tab) for the console (Debug).
//
// inline makes the goroutine that calls run the socket's reader (a console
// socket's only goroutine while idle); without it the connection has a
// reader goroutine of its own from the start, so that what the caller
// sends before run (a host's "authenticated") gets its ACK.
func newEndpoint(ws *wsa.Socket, cfg wsa.Config, inline bool, lim socketLimits, handle rpc.HandlerFunc, log *slog.Logger, unacked slog.Level, limited func()) *endpoint {
	e := &endpoint{
		log:       log,
		unacked:   unacked,
		inMax:     lim.inbox,
		closeCode: websocket.StatusNormalClosure,
		limit:     lim.rate,
		pace:      lim.pace,
	}
	if !e.pace {
		burst := e.limit
		if burst <= math.MaxInt/2 {
			burst *= 2 // a limit past half of MaxInt is no limit anyway
		}
		e.bucket = rate.NewLimiter(rate.Limit(e.limit), burst)
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	cfg.OnMessage = func(data string) {
		switch {
		case isResponse(data):
		case e.pace:
			if now := time.Now().Unix(); now != e.rateSec {
				e.rateSec, e.rateN = now, 0
			}
			e.rateN++
			if e.rateN > e.limit {
				if limited != nil {
					limited()
				}
				if !e.paceRead() {
					return // the socket is closing
				}
			}
		case !e.bucket.Allow():
			if !e.overLimit {
				e.overLimit = true
				e.log.Warn("closing socket: rate limit exceeded", "callsPerSecond", e.limit)
				if limited != nil {
					limited()
				}
			}
			e.closeWith(websocket.StatusPolicyViolation, "Rate limit exceeded.")
			return
		}
		if !e.push(data) {
			e.log.Warn("closing socket: too many unprocessed messages")
			e.closeWith(websocket.StatusPolicyViolation, "Rate limit exceeded.")
		}
	}
	cfg.Logger = log
	e.ackTimeout = cfg.SendTimeout
	if e.ackTimeout <= 0 {
		e.ackTimeout = wsa.DefaultSendTimeout
	}
	if inline {
		e.conn = ws.Start(cfg)
		e.inline = true
	} else {
		e.conn = ws.NewConn(cfg)
	}
	e.peer = rpc.NewPostPeer(e.post, handle, nil, log)
	return e
}

// paceRead holds the reader of a socket that made more calls in this
// second than its limit until the next second begins (or the socket
// closes: false), then counts the message being handled as that second's
// first. What the peer sends meanwhile waits in the connection, and is
// acknowledged once read: a host whose runs end all at once is slowed to
// its rate, not disconnected (with every run it holds waiting for it to
// reconnect), and the server handles its calls no faster than the limit.
func (e *endpoint) paceRead() bool {
	if now := time.Now(); now.Sub(e.pacedAt) > time.Minute {
		e.log.Warn("host over its call rate: reading it no faster than the limit", "callsPerSecond", e.limit)
		e.pacedAt = now
	}
	t := time.NewTimer(time.Until(time.Unix(e.rateSec+1, 0)))
	defer t.Stop()
	select {
	case <-t.C:
	case <-e.ctx.Done():
		return false
	}
	e.rateSec, e.rateN = time.Now().Unix(), 1
	return true
}

// post is the RPC peer's transport. A RESPONSE (posted by the peer's
// Receive, which only inWorker calls) is held until the batch inWorker
// handles is done, then goes through the outbox (flushHeld). A CALL is
// written by the outbox (sendBatch), which waited for the barrier already
// (barrierPassed); a call made any other way waits for it here, so that
// nothing goes out before the store writes queued until then.
func (e *endpoint) post(ctx context.Context, data string, acked func(error)) error {
	if isResponse(data) {
		e.held = append(e.held, outCall{answer: data, free: e.answerFree})
		e.answerFree = false
		acked(nil) // the peer only logs a response's failure; sendBatch does
		return nil
	}
	if e.barrier != nil && ctx.Value(barrierPassed{}) == nil {
		if err := e.barrier(ctx); err != nil {
			e.closeIfFenced(err)
			return err
		}
	}
	return e.postNow(ctx, data, acked)
}

// postNow posts data (the barrier was waited for).
func (e *endpoint) postNow(ctx context.Context, data string, acked func(error)) error {
	return e.conn.Post(ctx, data, e.ackTimeout, func(err error) {
		if errors.Is(err, wsa.ErrAckTimeout) {
			e.unacknowledged()
		}
		if acked != nil {
			acked(err)
		}
	})
}

// unacknowledged closes a socket whose peer did not acknowledge a
// message in time.
func (e *endpoint) unacknowledged() {
	// Peers acknowledge every message on receipt: one that does not is
	// stuck or gone. Closing it ends the stall of the outbox (and a
	// host's transactions wait for its reconnection, as on a drop)
	// instead of leaving a run it never got marked RUNNING forever.
	e.log.Log(context.Background(), e.unacked, "closing socket: a message was not acknowledged in time")
	e.closeWith(websocket.StatusPolicyViolation, unackedReason)
}

// ackHold is the longest the ACK of a received message waits to go out
// with its answer (wsa.Config.AckHold): the answer waits for the store.
const ackHold = 5 * time.Millisecond

// flushHeld hands the RESPONSEs held while inWorker handled a batch to the
// outbox, which writes them in order after what was queued before (a call
// the server made before it took the answer goes out before the answer),
// with the ACKs the connection holds for the batch's messages
// (wsa.Config.AckHold); with no RESPONSE it writes those ACKs at once. The
// RESPONSE to INITIALIZE_HOST armed by afterInitResponse is sent by send,
// from a goroutine of its own, which runs the armed function once the
// host acknowledged it.
func (e *endpoint) flushHeld() {
	held := e.held
	e.held = nil
	answers := held[:0]
	for _, a := range held {
		if !e.afterInitArmed.Load() || !isInitializeHost(a.answer) {
			answers = append(answers, a)
			continue
		}
		d := a.answer
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			ctx, cancel := context.WithTimeout(e.ctx, callTimeout)
			defer cancel()
			if err := e.send(ctx, d); err != nil {
				e.log.Debug("response not sent", "err", err)
			}
		}()
	}
	queued := false
	if len(answers) > 0 {
		e.outMu.Lock()
		if !e.outClosed && e.ctx.Err() == nil {
			e.outQ = append(e.outQ, answers...)
			e.kickOut()
			queued = true
		}
		e.outMu.Unlock()
	}
	if !queued {
		e.conn.FlushAcks()
	}
}

// isInitializeHost reports whether data is the RESPONSE to
// INITIALIZE_HOST.
func isInitializeHost(data string) bool {
	env, err := protocol.DecodeEnvelope(data)
	return err == nil && env.Kind == protocol.KindResponse && env.MethodName == protocol.MethodInitializeHost
}

func (e *endpoint) send(ctx context.Context, data string) error {
	var err error
	if e.barrier != nil {
		// Nothing goes out before the store writes queued until now.
		err = e.barrier(ctx)
		e.closeIfFenced(err)
	}
	if err == nil {
		err = e.conn.Send(ctx, data)
	}
	if errors.Is(err, wsa.ErrAckTimeout) {
		e.unacknowledged()
	}
	if e.afterInitArmed.Load() && isInitializeHost(data) {
		e.fireAfterInit(err)
	}
	return err
}

// afterInitResponse arms f to run once, from the sending goroutine, after
// the RESPONSE to INITIALIZE_HOST being answered was sent (with nil once the
// peer acknowledged it, else the error; errNotSent when the socket closed
// first). Call it from the INITIALIZE_HOST handler: then nothing the caller
// sends after f runs can overtake the answer on the wire.
func (e *endpoint) afterInitResponse(f func(error)) {
	e.afterInitMu.Lock()
	e.afterInit = f
	e.afterInitMu.Unlock()
	e.afterInitArmed.Store(true)
}

func (e *endpoint) fireAfterInit(err error) {
	e.afterInitMu.Lock()
	f := e.afterInit
	e.afterInit = nil
	e.afterInitArmed.Store(false)
	e.afterInitMu.Unlock()
	if f != nil {
		f(err)
	}
}

// closeWith asks run to close the socket with code and reason (the first
// request wins).
func (e *endpoint) closeWith(code websocket.StatusCode, reason string) {
	e.closeOnce.Do(func() {
		e.closeCode, e.closeReason = code, reason
		e.cancel()
		e.startCloser()
	})
}

// startCloser closes the socket of an inline endpoint that run reads, once
// closeWith was called, from a goroutine of its own: CloseWith waits for
// the close handshake, which this reader completes. Until run reads, or
// once it stopped, it does nothing (run looks at ctx before reading).
func (e *endpoint) startCloser() {
	if !e.inline {
		return
	}
	e.closerMu.Lock()
	defer e.closerMu.Unlock()
	if !e.serving || e.closerStarted || e.ctx.Err() == nil {
		return
	}
	e.closerStarted = true
	e.closer.Add(1)
	go func() {
		defer e.closer.Done()
		e.conn.CloseWith(e.closeCode, e.closeReason)
	}()
}

// call queues a call; it never blocks. It returns false, without calling
// done, when the socket is closing: the call will never be sent.
func (e *endpoint) call(method string, in any, done func(json.RawMessage, error)) bool {
	return e.queueCall(outCall{method: method, in: in, done: done})
}

// freeAnswer marks the answer to the message being handled (the RESPONSE
// its handler returns) as free: it promises nothing stored, so it goes out
// without waiting for the store, as a call of callFree. Only a handler of
// the socket's inbox may call it.
func (e *endpoint) freeAnswer() { e.answerFree = true }

// callFree is call for a call that carries no stored state and promises
// nothing stored (a render to the console, an operator's answer to the
// host): it goes out without waiting for the store's writes, unless the
// outbox writes it with others that wait. It still goes out in order.
func (e *endpoint) callFree(method string, in any, done func(json.RawMessage, error)) bool {
	return e.queueCall(outCall{method: method, in: in, done: done, free: true})
}

func (e *endpoint) queueCall(c outCall) bool {
	e.outMu.Lock()
	if e.outClosed || e.ctx.Err() != nil {
		e.outMu.Unlock()
		return false
	}
	e.outQ = append(e.outQ, c)
	e.kickOut()
	e.outMu.Unlock()
	return true
}

// kickOut starts outWorker when calls wait and none runs, or wakes it
// when it lingers (e.outMu held).
func (e *endpoint) kickOut() {
	e.out.wakeIdle()
	if e.out.started && !e.out.running && len(e.outQ) > 0 && e.ctx.Err() == nil {
		e.out.running = true
		e.wg.Add(1)
		go e.outWorker()
	}
}

// kickIn starts inWorker when messages wait and none runs, or wakes it
// when it lingers (e.inMu held).
func (e *endpoint) kickIn() {
	e.in.wakeIdle()
	if e.in.started && !e.in.running && len(e.inQ) > 0 && e.ctx.Err() == nil {
		e.in.running = true
		e.wg.Add(1)
		go e.inWorker()
	}
}

// run serves the socket until it closes or closeWith is called, then stops
// every goroutine of the endpoint.
func (e *endpoint) run() {
	e.inMu.Lock()
	e.in.started = true
	e.kickIn()
	e.inMu.Unlock()
	e.outMu.Lock()
	e.out.started = true
	e.kickOut()
	e.outMu.Unlock()
	if e.inline {
		// This goroutine reads the socket; a close asked by closeWith
		// ends the reading by closing the socket, from a goroutine
		// that exists only then (startCloser).
		e.closerMu.Lock()
		e.serving = true
		e.closerMu.Unlock()
		e.startCloser() // closeWith called before
		e.conn.Serve()
		e.closerMu.Lock()
		e.serving = false
		e.closerMu.Unlock()
		e.closer.Wait()
		e.closeOnce.Do(func() {})
	} else {
		select {
		case <-e.conn.Done():
			e.closeOnce.Do(func() {})
		case <-e.ctx.Done():
		}
	}
	e.cancel()
	e.conn.CloseWith(e.closeCode, e.closeReason)
	if err := e.conn.Err(); errors.Is(err, websocket.ErrMessageTooBig) {
		// Closed by the websocket library (1009): say so as the refusal
		// it is, not only in the disconnection's line.
		e.log.Warn("closing socket: message larger than the limit", "err", err)
	}
	e.peer.Close()
	// No worker starts once ctx ended (kickIn and kickOut look under
	// their locks): after these, none is added to wg while it is waited.
	e.inMu.Lock()
	e.inMu.Unlock()
	e.outMu.Lock()
	e.outMu.Unlock()
	e.wg.Wait()
	e.drain()
}

// drain fails the calls still queued (they were never written) and
// refuses new ones.
func (e *endpoint) drain() {
	e.fireAfterInit(errNotSent)
	e.outMu.Lock()
	q := e.outQ
	e.outQ, e.outClosed = nil, true
	e.outMu.Unlock()
	for _, c := range q {
		if c.done != nil {
			c.done(nil, errNotSent)
		}
	}
}

// push adds a received message to the inbox; false when it is full.
func (e *endpoint) push(data string) bool {
	e.inMu.Lock()
	if len(e.inQ) >= e.inMax {
		e.inMu.Unlock()
		return false
	}
	e.inQ = append(e.inQ, data)
	e.kickIn()
	e.inMu.Unlock()
	return true
}

// popBatch takes the oldest messages of the inbox, at most maxBatch, into
// batch[:0]; none when it is empty.
func (e *endpoint) popBatch(batch []string) []string {
	e.inMu.Lock()
	defer e.inMu.Unlock()
	batch = batch[:0]
	if len(e.inQ) == 0 {
		return batch
	}
	n := min(len(e.inQ), maxBatch)
	batch = append(batch, e.inQ[:n]...)
	clear(e.inQ[:n])
	e.inQ = e.inQ[n:]
	if len(e.inQ) == 0 {
		e.inQ = nil
	}
	return batch
}

// inWorker handles the inbox's messages in order until it is empty or the
// socket closes. It takes what waits as a batch, handles all of it, then
// writes the batch's answers together (flushHeld): the store writes of
// the whole batch are waited for once.
func (e *endpoint) inWorker() {
	defer e.wg.Done()
	var batch []string
	has := func() bool { return len(e.inQ) > 0 }
	for e.ctx.Err() == nil {
		batch = e.popBatch(batch)
		if len(batch) == 0 {
			if e.in.linger(e.ctx, &e.inMu, has) {
				continue
			}
			return
		}
		for i, d := range batch {
			e.answerFree = false
			if !e.receiveDeferred(d) {
				e.peer.Receive(d)
			}
			batch[i] = ""
		}
		e.flushHeld()
	}
	e.held = nil
}

// receiveDeferred handles a CALL that e.deferred takes, answering it from
// a goroutine of its own; false leaves d to the RPC peer.
func (e *endpoint) receiveDeferred(d string) bool {
	if e.deferred == nil || isResponse(d) || !strings.Contains(d, `"`+e.deferredMethod+`"`) {
		return false
	}
	if e.deferredN.Load() >= maxDeferred {
		return false // answered in order, which slows the socket down
	}
	env, err := protocol.DecodeEnvelope(d)
	if err != nil || env.Kind != protocol.KindCall {
		return false
	}
	answer, ok := e.deferred(env.MethodName, env.Data)
	if !ok {
		return false
	}
	e.deferredN.Add(1)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer e.deferredN.Add(-1)
		data, err := json.Marshal(answer())
		if err != nil {
			e.log.Error("encoding response", "method", env.MethodName, "err", err)
			return
		}
		resp := protocol.AppendEnvelope(nil, protocol.Envelope{ID: env.ID, Kind: protocol.KindResponse, MethodName: env.MethodName, Data: data})
		ctx, cancel := context.WithTimeout(e.ctx, callTimeout)
		defer cancel()
		if err := e.send(ctx, string(resp)); err != nil {
			e.log.Debug("response not sent", "method", env.MethodName, "err", err)
		}
	}()
	return true
}

// outWorker sends what the outbox holds, in order, until it is empty (and
// stays so for workerLinger) or the socket closes: each time all that
// waits, after one wait for the barrier, in one write with the ACKs the
// connection holds.
func (e *endpoint) outWorker() {
	defer e.wg.Done()
	has := func() bool { return len(e.outQ) > 0 }
	var batch []outCall
	for {
		e.outMu.Lock()
		if len(e.outQ) == 0 {
			e.outQ = nil
			e.outMu.Unlock()
			if e.out.linger(e.ctx, &e.outMu, has) {
				continue
			}
			return
		}
		batch = append(batch[:0], e.outQ...)
		clear(e.outQ)
		e.outQ = e.outQ[:0]
		e.outMu.Unlock()
		e.sendBatch(batch)
		clear(batch)
	}
}

// sendBatch writes a batch of the outbox: what leads it free (callFree,
// freeAnswer) at once, the rest after one wait for the barrier.
func (e *endpoint) sendBatch(batch []outCall) {
	if e.fence != nil {
		if err := e.fence(); err != nil {
			e.notSent(batch)
			e.closeIfFenced(err)
			return
		}
	}
	if e.barrier == nil {
		e.write(batch)
		return
	}
	k := 0
	for k < len(batch) && batch[k].free {
		k++
	}
	if k > 0 {
		e.write(batch[:k])
		batch = batch[k:]
		if len(batch) == 0 {
			return
		}
	}
	if err := e.barrier(e.ctx); err != nil {
		// The socket is closing: none of the rest was written.
		e.notSent(batch)
		e.closeIfFenced(err)
		return
	}
	e.write(batch)
}

// notSent reports the calls of batch as never sent.
func (e *endpoint) notSent(batch []outCall) {
	for _, c := range batch {
		if c.done != nil {
			c.done(nil, errNotSent)
		}
	}
}

// closeIfFenced closes the socket when err says that this replica may
// have lost its lease (errLeaseUnsure): what it would have sent was not,
// and its peer reconnects, to a replica that holds its runs.
func (e *endpoint) closeIfFenced(err error) {
	if errors.Is(err, errLeaseUnsure) {
		e.log.Debug("closing the socket: this replica's lease may have run out")
		e.closeWith(websocket.StatusServiceRestart, restartReason)
	}
}

// write writes calls and answers of the outbox in one socket write, with
// the ACKs the connection holds (the barrier, if any, was waited for).
func (e *endpoint) write(batch []outCall) {
	ctx := context.WithValue(e.ctx, barrierPassed{}, true)
	e.conn.Batch(func() {
		e.conn.FlushAcks()
		for _, c := range batch {
			if c.answer != "" {
				if err := e.postNow(ctx, c.answer, nil); err != nil {
					e.log.Debug("response not sent", "err", err)
				}
				continue
			}
			e.peer.Go(ctx, callTimeout, c.method, c.in, func(raw json.RawMessage, err error) {
				if err != nil {
					e.log.Debug("call failed", "method", c.method, "err", err)
				}
				if c.done != nil {
					c.done(raw, err)
				}
			})
		}
	})
}
