package interval

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
)

// txState is the client's record of one transaction.
type txState struct {
	id     string
	c      *Client
	ctx    context.Context
	cancel context.CancelCauseFunc
	dri    bool // displayResolvesImmediately

	responses chan *protocol.IOResponse

	mu        sync.Mutex
	ioCall    string // last render, re-sent after a reconnection
	loading   *protocol.LoadingState
	loadTimer *time.Timer
	// loadScheduled is set while loadTimer is due to send the loading
	// state (guarded by mu).
	loadScheduled bool
	logIndex      int
	done          bool                    // handler returned
	kept          bool                    // finished, kept until CLOSE_TRANSACTION; guarded by Client.mu
	flushMu       sync.Mutex              // held while a loading state is sent
	active        *pendingCall            // the IO call the handler waits on
	stateful      map[string]*pendingCall // stateful calls by inputGroupKey
	statefulQ     []string                // their keys, oldest first
}

func (t *txState) pending() (string, *protocol.LoadingState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var l *protocol.LoadingState
	if t.loading != nil {
		cp := *t.loading
		l = &cp
	}
	return t.ioCall, l
}

// maxStatefulCalls bounds the stateful IO calls (tables, searches) a
// transaction keeps answering state updates for.
const maxStatefulCalls = 32

func (t *txState) setActive(p *pendingCall) {
	t.mu.Lock()
	t.active = p
	t.mu.Unlock()
}

func (t *txState) keepStateful(p *pendingCall) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stateful == nil {
		t.stateful = map[string]*pendingCall{}
	}
	key := p.render.InputGroupKey
	t.stateful[key] = p
	t.statefulQ = append(t.statefulQ, key)
	if len(t.statefulQ) > maxStatefulCalls {
		delete(t.stateful, t.statefulQ[0])
		t.statefulQ = t.statefulQ[1:]
	}
}

// outOfBand returns the stateful call a SET_STATE is for when the handler is
// not waiting on that call (it moved on, or finished).
func (t *txState) outOfBand(resp *protocol.IOResponse) *pendingCall {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.active != nil && (resp.InputGroupKey == "" || resp.InputGroupKey == t.active.render.InputGroupKey) {
		return nil
	}
	return t.stateful[resp.InputGroupKey]
}

func (t *txState) stopTimers() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.loadTimer != nil {
		t.loadTimer.Stop()
	}
	t.loadScheduled = false
}

func userFromWire(u protocol.User) User {
	out := User{Email: u.Email, Role: u.Role, Teams: append([]string(nil), u.Teams...)}
	if u.FirstName != nil {
		out.FirstName = *u.FirstName
	}
	if u.LastName != nil {
		out.LastName = *u.LastName
	}
	return out
}

// startTransaction runs the action of a START_TRANSACTION in its own
// goroutine. Starts during shutdown, for unknown slugs or for a transaction
// already running are ignored (answered with an empty RESPONSE), as the
// official SDK does; so are starts of a transaction that ended here lately
// (ended), which the official SDK would run again.
func (c *Client) startTransaction(in protocol.StartTransactionInputs) {
	c.mu.Lock()
	route, ok := c.table.actions[in.Action.Slug]
	_, running := c.txs[in.TransactionID]
	_, ended := c.ended[in.TransactionID]
	shutdown := !c.state.accepts()
	c.mu.Unlock()
	switch {
	case shutdown:
		c.log.Info("not starting transaction: shutting down", "action", in.Action.Slug, "transaction", in.TransactionID)
		return
	case !ok:
		c.log.Warn("not starting transaction: no such action", "action", in.Action.Slug, "transaction", in.TransactionID)
		return
	case running:
		c.log.Warn("not starting transaction: already running", "transaction", in.TransactionID)
		return
	case ended:
		c.log.Warn("not starting transaction: it already ran here", "transaction", in.TransactionID)
		return
	}
	params, err := decodeParams(in.Params, in.ParamsMeta)
	if err != nil {
		c.log.Warn("transaction params not decoded, using none", "transaction", in.TransactionID, "err", err)
		params = Params{}
	}
	ctx, cancel := context.WithCancelCause(c.life)
	t := &txState{
		id:        in.TransactionID,
		c:         c,
		ctx:       ctx,
		cancel:    cancel,
		dri:       in.DisplayResolvesImmediately != nil && *in.DisplayResolvesImmediately,
		responses: make(chan *protocol.IOResponse, 16),
	}
	tx := &Tx{
		ID:          in.TransactionID,
		User:        userFromWire(in.User),
		Params:      params,
		Environment: in.Environment,
		Action:      ActionRef{Slug: in.Action.Slug, URL: in.Action.URL},
		t:           t,
	}
	tx.IO = newIO(&ioClient{tx: t, send: t.sendIOCall, responses: t.responses, dri: t.dri})
	tx.Loading = &Loading{t: t}

	c.mu.Lock()
	if !c.state.accepts() {
		c.mu.Unlock()
		cancel(ErrClosed)
		return
	}
	c.txs[t.id] = t
	c.work++ // as goWork does
	c.mu.Unlock()
	c.log.Debug("transaction started", "action", in.Action.Slug, "transaction", t.id, "user", tx.User.Email)
	c.runJob(txJob{t: t, tx: tx, h: route.Handler})
}

// complete reports the handler's outcome. It is separate from the worker
// that runs the handler (worker) so that a handler goroutine waiting on the operator keeps a
// small stack.
func (c *Client) complete(t *txState, tx *Tx, result any, err error) {
	// A handler that ends with the cancellation (ErrCanceled, or its
	// context's error after the operator canceled) sends no result, as in
	// the official SDK; one that returns a value or its own error after
	// the cancellation still reports it (PROTOCOL.md §7.5).
	canceled := errors.Is(err, ErrCanceled) ||
		errors.Is(err, context.Canceled) && errors.Is(context.Cause(t.ctx), ErrCanceled)
	if err != nil && c.opts.OnError != nil && !canceled {
		c.opts.OnError(tx, err)
	}
	t.mu.Lock()
	t.done = true
	pendingLoad := t.loadTimer != nil && t.loadTimer.Stop()
	t.loadScheduled = false
	lastLoad := t.loading
	t.loading = nil
	t.mu.Unlock()
	t.flushMu.Lock() // wait for a loading send in flight
	t.flushMu.Unlock()
	if pendingLoad && lastLoad != nil && !canceled {
		// Show the final progress rather than drop it.
		lctx, cancel := context.WithTimeout(c.life, c.opts.ResponseTimeout)
		var ok bool
		if err := c.call(lctx, protocol.MethodSendLoadingCall, protocol.SendLoadingCallInputs{TransactionID: t.id, LoadingState: *lastLoad}, &ok); err != nil {
			c.log.Debug("final loading state not sent", "transaction", t.id, "err", err)
		}
		cancel()
	}
	// A canceled transaction sends no result, as in the official SDK; the
	// server already marked it canceled.
	if canceled {
		c.finishTransaction(t)
		return
	}
	in := protocol.MarkTransactionCompleteInputs{TransactionID: t.id}
	in.ResultStatus, in.Result = encodeResult(result, err)
	// The result waits for a connection as long as the client lives, each
	// attempt bounded by ResponseTimeout (call): the server keeps a dropped
	// host's runs and resumes the ones it was computing when the same
	// instance is back, so a result must outlast an outage. Close (and a
	// Shutdown whose ctx ends) ends the wait.
	var ok bool
	if cerr := c.call(c.life, protocol.MethodMarkTransactionComplete, in, &ok); cerr != nil {
		c.log.Error("sending transaction result failed", "transaction", t.id, "err", cerr)
	}
	c.finishTransaction(t)
}

// finishTransaction ends the handler's context. With
// displayResolvesImmediately the server may still send state updates for
// tables shown after completion, so the record stays until CLOSE_TRANSACTION.
func (c *Client) finishTransaction(t *txState) {
	t.cancel(context.Canceled)
	t.mu.Lock()
	t.ioCall = ""
	t.mu.Unlock()
	c.mu.Lock()
	if !t.dri {
		delete(c.txs, t.id)
	} else if c.txs[t.id] == t {
		t.kept = true // a drain with a development key waits for its CLOSE_TRANSACTION
	}
	c.noteEndedLocked(t.id)
	c.mu.Unlock()
}

// endedCap is how many ended transactions a client remembers (ended).
const endedCap = 4096

// noteEndedLocked remembers that transaction id ended here (c.mu held).
func (c *Client) noteEndedLocked(id string) {
	if _, ok := c.ended[id]; ok {
		return
	}
	if c.ended == nil {
		c.ended = make(map[string]struct{})
	}
	if len(c.endedLog) < endedCap {
		c.endedLog = append(c.endedLog, id)
	} else {
		delete(c.ended, c.endedLog[c.endedAt])
		c.endedLog[c.endedAt] = id
		c.endedAt = (c.endedAt + 1) % endedCap
	}
	c.ended[id] = struct{}{}
}

// safeServe runs the handler, turning a panic into an error so that one
// action cannot take the host down (middleware.Recoverer logs it nicer).
func safeServe(ctx context.Context, h Handler, tx *Tx) (res any, err error) {
	defer func() {
		if r := recover(); r != nil {
			tx.t.c.log.Error("panic in action handler", "action", tx.Action.Slug, "transaction", tx.ID, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return h.ServeAction(ctx, tx)
}

// ErrorNamer may be implemented by errors to choose the name shown as the
// error's title in the console (the JavaScript error.name); the default is
// "Error".
type ErrorNamer interface {
	// ErrorName returns the error's title, such as "ValidationError".
	ErrorName() string
}

// encodeResult builds the result JSON text the Node SDK writes.
func encodeResult(v any, err error) (status string, result string) {
	if err != nil {
		d := protocol.ErrorData{Error: "Error", Message: err.Error()}
		var n ErrorNamer
		if errors.As(err, &n) {
			d.Error = n.ErrorName()
		}
		// The cause is sent when the message does not already say it: a
		// fmt.Errorf("…: %w", cause) ends with it, and the console would
		// show it twice.
		if cause := errors.Unwrap(err); cause != nil && !strings.HasSuffix(d.Message, cause.Error()) {
			d.Cause = "Error: " + cause.Error()
		}
		data, _ := protocol.Marshal(d)
		b, _ := protocol.Marshal(protocol.ActionResult{SchemaVersion: 1, Status: protocol.StatusFailure, Data: data})
		return protocol.StatusFailure, string(b)
	}
	if rv := reflect.ValueOf(v); v != nil && (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Map || rv.Kind() == reflect.Slice) && rv.IsNil() {
		v = nil
	}
	data, meta, serr := protocol.SerializeJSON(v)
	if serr != nil {
		return encodeResult(nil, fmt.Errorf("interval: encoding the action's result: %w", serr))
	}
	b, _ := protocol.ActionResult{SchemaVersion: 1, Status: protocol.StatusSuccess, Data: data, Meta: meta}.AppendJSON(make([]byte, 0, len(data)+len(meta)+64))
	return protocol.StatusSuccess, string(b)
}

// ioResponse routes an IO_RESPONSE to its transaction or page. The
// transaction id inside the value wins over the outer one, as in the
// official SDK.
func (c *Client) ioResponse(in protocol.IOResponseInputs) {
	resp, err := protocol.DecodeIOResponse(in.Value)
	if err != nil {
		c.log.Warn("dropping malformed IO response", "transaction", in.TransactionID, "err", err)
		return
	}
	id := resp.TransactionID
	if id == "" {
		id = in.TransactionID
	}
	c.mu.Lock()
	t := c.txs[id]
	p := c.pages[id]
	c.mu.Unlock()
	switch {
	case t != nil:
		if resp.Kind == protocol.KindCanceled {
			// A cancel for any group (including "UNKNOWN") cancels the
			// transaction: more robust than the official SDK.
			c.log.Debug("transaction canceled by the server", "transaction", id)
			t.cancel(ErrCanceled)
			return
		}
		if resp.Kind == protocol.KindSetState {
			if p := t.outOfBand(&resp); p != nil {
				p.states.push(c, c.life, resp, func(next protocol.IOResponse) {
					ctx, cancel := context.WithTimeout(c.life, c.opts.ResponseTimeout)
					defer cancel()
					p.setState(ctx, &next)
				})
				return
			}
		}
		select {
		case t.responses <- &resp:
		default:
			c.log.Warn("dropping IO response: too many queued", "transaction", id)
		}
	case p != nil:
		p.response(resp)
	default:
		c.log.Debug("IO response for unknown transaction", "transaction", id)
	}
}

// closeTransaction forgets a transaction and cancels its handler if it still
// runs.
func (c *Client) closeTransaction(id string) {
	c.mu.Lock()
	t := c.txs[id]
	delete(c.txs, id)
	if t != nil {
		c.signalLocked() // a draining client may wait for it
		c.noteEndedLocked(id)
	}
	c.mu.Unlock()
	if t != nil {
		t.cancel(ErrCanceled)
		t.stopTimers()
	}
}

// sendIOCall sends a render (SEND_IO_CALL) and remembers it for re-sending
// after a reconnection. It reports a server refusal as ErrRender.
func (t *txState) sendIOCall(ctx context.Context, ioCall string) error {
	t.mu.Lock()
	t.ioCall = ioCall
	t.loading = nil
	if t.loadTimer != nil {
		t.loadTimer.Stop()
	}
	t.loadScheduled = false
	t.mu.Unlock()
	var ret protocol.SendIOCallReturns
	if err := t.c.call(ctx, protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: t.id, IOCall: ioCall}, &ret); err != nil {
		return err
	}
	if !ret.OK {
		msg := ret.Message
		if msg == "" {
			msg = "the server did not accept it"
		}
		return fmt.Errorf("%w: %s", ErrRender, msg)
	}
	return nil
}
