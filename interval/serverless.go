package interval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
)

// Serverless ("HTTP") hosts (PROTOCOL.md §3.5). Instead of listening on a
// long-lived connection, a serverless host is a URL the server POSTs to:
// {"httpHostId"} asks it to declare its routes (Declare), {"requestId"} asks
// it to open a fresh connection, run the one transaction or page the server
// starts on it, and close (ServeRequest). Package adapters/httphost turns
// both into an http.Handler and an AWS Lambda handler.

// Defaults of RequestOptions.
const (
	// DefaultCompleteDelay is how long ServeRequest keeps the connection
	// open after the transaction completed, like the Node SDK's
	// completeHttpRequestDelayMs.
	DefaultCompleteDelay = 3 * time.Second
	// DefaultStartTimeout bounds the wait for the server to start a
	// transaction or page after the connection initialized (the server
	// itself gives up on a request after 60 s).
	DefaultStartTimeout = 60 * time.Second
)

// Errors of serverless requests.
var (
	// ErrMissingID is returned by Declare and ServeRequest given an empty
	// id.
	ErrMissingID = errors.New("interval: missing httpHostId or requestId")
	// ErrRequestRefused is returned by ServeRequest when the host cannot
	// run what the server started (an unknown action, a page without a
	// handler, a client shutting down).
	ErrRequestRefused = errors.New("interval: the host cannot serve the request")
	// ErrRequestIdle is returned by ServeRequest when the server started
	// nothing within RequestOptions.StartTimeout.
	ErrRequestIdle = errors.New("interval: the server started no transaction or page")
	// ErrConnectionLost is returned by ServeRequest when its connection
	// ended before the transaction or page did.
	ErrConnectionLost = errors.New("interval: connection to the server lost")
)

// RequestOptions tune ServeRequest. The zero value (or nil) takes the
// defaults.
type RequestOptions struct {
	// CompleteDelay is how long the connection stays open after the
	// transaction completed, so that the operator's last interactions with
	// what it showed (paging a table after completion) are still answered.
	// It ends early when the server closes the transaction. Zero means
	// DefaultCompleteDelay; a negative value closes at once.
	CompleteDelay time.Duration
	// StartTimeout bounds the wait for the server to start a transaction
	// or page once the connection is initialized. Zero means
	// DefaultStartTimeout.
	StartTimeout time.Duration
}

func (o *RequestOptions) resolved() RequestOptions {
	var r RequestOptions
	if o != nil {
		r = *o
	}
	if r.CompleteDelay == 0 {
		r.CompleteDelay = DefaultCompleteDelay
	}
	if r.StartTimeout <= 0 {
		r.StartTimeout = DefaultStartTimeout
	}
	return r
}

// Declare declares the client's routes for the serverless host httpHostID
// (POST /api/hosts/declare with the same definitions INITIALIZE_HOST sends),
// which is how a serverless host answers the server's {"httpHostId"} check.
// The server accepts it only with a live (production) API key. It returns an
// error wrapping ErrAPI when the server refuses, and ErrInitialize when the
// server rejected every action slug.
func (c *Client) Declare(ctx context.Context, httpHostID string) error {
	if httpHostID == "" {
		return fmt.Errorf("interval: declare: %w", ErrMissingID)
	}
	if c.isClosed() {
		return ErrClosed
	}
	def := buildIndex(c.opts.Routes.RouteTable()).def
	in := protocol.DeclareHostInputs{HTTPHostID: httpHostID, Actions: def.Actions, Groups: def.Groups,
		SDKName: WireSDKName, SDKVersion: WireSDKVersion, Implementation: &protocol.Implementation{Name: SDKName, Version: Version}}
	var out protocol.DeclareHostReturns
	if err := c.postAPI(ctx, "/api/hosts/declare", in, &out); err != nil {
		return fmt.Errorf("interval: declaring HTTP host %s: %w", httpHostID, err)
	}
	if out.SDKAlert != nil && out.SDKAlert.Message != nil {
		c.log.Warn("server notice about this SDK", "severity", out.SDKAlert.Severity, "message", *out.SDKAlert.Message)
	}
	for _, w := range out.Warnings {
		c.log.Warn("server warning", "warning", w)
	}
	if len(out.InvalidSlugs) > 0 {
		c.log.Warn("server rejected action slugs: slugs must contain only letters, numbers, underscores, periods, and hyphens", "slugs", out.InvalidSlugs)
		if len(in.Actions) > 0 && len(out.InvalidSlugs) >= len(in.Actions)+len(in.Groups) {
			return fmt.Errorf("%w: no valid slugs declared", ErrInitialize)
		}
	}
	c.log.Debug("declared HTTP host", "httpHost", httpHostID, "actions", len(in.Actions), "pages", len(in.Groups))
	return nil
}

// ServeRequest serves one run request of a serverless host, the server's
// {"requestId"}: it opens a fresh connection (a new random instance id, the
// client's API key and transport), initializes it with requestID, runs the
// one transaction or page the server starts on it, and closes. It returns
// nil once the transaction completed (and CompleteDelay passed or the server
// closed it), the operator canceled it, or the page was closed.
//
// It fails with ErrInitialize when the server refuses the request id,
// ErrRequestRefused when the host cannot run what the server started,
// ErrRequestIdle when nothing starts within StartTimeout, ErrConnectionLost
// when the connection drops (a serverless request is not resumed on another
// connection), ErrClosed when the client is closed, or ctx's error. Every
// wait is bounded by ctx; on return the handler's context has been cancelled
// and ServeRequest has waited for it to return.
//
// Unlike the Node SDK, which always waits 3 s after completion and never
// answers for an action it does not know, ServeRequest fails at once when it
// cannot run the request and stops waiting when the server closes the
// transaction. Requests may be served concurrently; each has its own
// connection and never touches the connection of Listen.
func (c *Client) ServeRequest(ctx context.Context, requestID string, opts *RequestOptions) error {
	if requestID == "" {
		return fmt.Errorf("interval: serving request: %w", ErrMissingID)
	}
	if c.isClosed() {
		return ErrClosed
	}
	o := opts.resolved()
	w := &requestWatch{started: make(chan startedWork, 1), closedTx: make(chan struct{})}
	rc, err := c.requestClient(requestID, w)
	if err != nil {
		return err
	}
	w.c = rc
	defer func() {
		rc.Close()
		rc.awaitWork() // the handler, cancelled by Close, has returned
	}()
	stop := context.AfterFunc(c.life, rc.closeNow) // the parent's Close ends it too
	defer stop()

	if err := rc.connect(ctx, true, nil); err != nil {
		if c.isClosed() {
			return ErrClosed
		}
		return fmt.Errorf("interval: serving request %s: %w", requestID, err)
	}
	rc.mu.Lock()
	conn := rc.conn
	rc.mu.Unlock()
	if conn == nil {
		return ErrClosed
	}
	lost := func() error {
		if c.isClosed() {
			return ErrClosed
		}
		return fmt.Errorf("interval: serving request %s: %w: %v", requestID, ErrConnectionLost, conn.Err())
	}

	idle := time.NewTimer(o.StartTimeout)
	defer idle.Stop()
	var work startedWork
	select {
	case work = <-w.started:
	case <-conn.Done():
		return lost()
	case <-idle.C:
		return fmt.Errorf("interval: serving request %s: %w within %v", requestID, ErrRequestIdle, o.StartTimeout)
	case <-ctx.Done():
		return fmt.Errorf("interval: serving request %s: %w", requestID, ctx.Err())
	}
	if work.err != nil {
		// Give the answer (OPEN_PAGE's ERROR) time to reach the server
		// before the connection closes, as the Node SDK does.
		linger(ctx, conn, nil, o.CompleteDelay)
		return fmt.Errorf("interval: serving request %s: %w", requestID, work.err)
	}
	rc.log.Debug("serving request", "kind", work.kind, "id", work.id)

	select {
	case <-work.ctx.Done():
	case <-conn.Done():
		return lost()
	case <-ctx.Done():
		return fmt.Errorf("interval: serving request %s: %w", requestID, ctx.Err())
	}
	switch cause := context.Cause(work.ctx); {
	case errors.Is(cause, ErrClosed):
		return ErrClosed
	case errors.Is(cause, ErrCanceled):
		// The operator canceled the transaction, or closed the page: the
		// server has nothing more to say on this connection.
		rc.log.Debug("request ended by the server", "kind", work.kind, "id", work.id)
		return nil
	}
	// The transaction completed and its result was sent.
	linger(ctx, conn, w.closedTx, o.CompleteDelay)
	return nil
}

// linger waits d (if positive), or until closed is closed, the connection
// ends or ctx ends.
func linger(ctx context.Context, conn Conn, closed <-chan struct{}, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-closed:
	case <-conn.Done():
	case <-ctx.Done():
	}
}

// requestClient returns a client for one request: the options, routes and
// logger of c, a new instance id, and a transport that reports to w.
func (c *Client) requestClient(requestID string, w *requestWatch) (*Client, error) {
	opts := c.opts
	opts.Transport = watchTransport{inner: c.opts.Transport, w: w}
	opts.OnConnection = nil // a request's connection is not the host's (ConnectionHook)
	rc, err := New(opts)
	if err != nil {
		return nil, fmt.Errorf("interval: serving request %s: %w", requestID, err)
	}
	rc.log = c.log.With("requestId", requestID, "instance", rc.instanceID)
	rc.table.def.RequestID = requestID // sent by initialize
	return rc, nil
}

// startedWork is what the server started on a request's connection: a
// transaction or a page, whose context ends when it is over, or err when
// the host could not start it.
type startedWork struct {
	kind string // "transaction" or "page"
	id   string
	ctx  context.Context
	err  error
}

// requestWatch follows the calls the server makes on a request's
// connection.
type requestWatch struct {
	c        *Client // the request's client; set before it connects
	started  chan startedWork
	once     sync.Once
	closedTx chan struct{} // CLOSE_TRANSACTION for the started transaction
	closeMu  sync.Mutex
	txID     string
	txClosed bool
	// initAnswered is set once the reader delivered the answer to
	// INITIALIZE_HOST: from then on waiting for the client to be ready
	// cannot block on the reader itself.
	initAnswered atomic.Bool
}

func (w *requestWatch) report(s startedWork) {
	reported := false
	w.once.Do(func() {
		reported = true
		if s.kind == "transaction" && s.err == nil {
			w.closeMu.Lock()
			w.txID = s.id
			w.closeMu.Unlock()
		}
		w.started <- s
	})
	if !reported {
		w.c.log.Warn("server started more than one thing on a serverless request's connection", "kind", s.kind, "id", s.id)
	}
}

// message is the OnMessage of a request's connection: it hands data to the
// client's RPC peer (next) and reports what the server started.
func (w *requestWatch) message(next func(string), data string) {
	c := w.c
	if !w.initAnswered.Load() && strings.Contains(data, `"RESPONSE"`) && strings.Contains(data, protocol.MethodInitializeHost) {
		next(data)
		w.initAnswered.Store(true)
		return
	}
	// Cheap test first: most messages are responses and IO responses.
	if !strings.Contains(data, `"CALL"`) || !(strings.Contains(data, protocol.MethodStartTransaction) ||
		strings.Contains(data, protocol.MethodOpenPage) || strings.Contains(data, protocol.MethodCloseTransaction)) {
		next(data)
		return
	}
	env, err := protocol.DecodeEnvelope(data)
	if err != nil || env.Kind != protocol.KindCall {
		next(data)
		return
	}
	switch env.MethodName {
	case protocol.MethodStartTransaction, protocol.MethodOpenPage:
		// The server may start work as soon as it answered
		// INITIALIZE_HOST, before the initializing goroutine stored the
		// organization the transaction is given: wait for it (the reader
		// is not needed for that once the answer went through).
		if !w.initAnswered.Load() {
			break
		}
		c.mu.Lock()
		ready := c.ready
		c.mu.Unlock()
		select {
		case <-ready:
		case <-c.life.Done():
		}
	}
	next(data)
	var in struct {
		TransactionID string           `json:"transactionId"`
		PageKey       string           `json:"pageKey"`
		Action        protocol.PageRef `json:"action"`
		Page          protocol.PageRef `json:"page"`
	}
	if json.Unmarshal(env.Data, &in) != nil {
		return // the client logged it
	}
	switch env.MethodName {
	case protocol.MethodStartTransaction:
		c.mu.Lock()
		t := c.txs[in.TransactionID]
		c.mu.Unlock()
		if t == nil {
			w.report(startedWork{kind: "transaction", id: in.TransactionID,
				err: fmt.Errorf("%w: action %q not started (unknown here, or shutting down)", ErrRequestRefused, in.Action.Slug)})
			return
		}
		w.report(startedWork{kind: "transaction", id: in.TransactionID, ctx: t.ctx})
	case protocol.MethodOpenPage:
		c.mu.Lock()
		p := c.pages[in.PageKey]
		c.mu.Unlock()
		if p == nil {
			w.report(startedWork{kind: "page", id: in.PageKey,
				err: fmt.Errorf("%w: page %q not opened (no handler here, or shutting down)", ErrRequestRefused, in.Page.Slug)})
			return
		}
		w.report(startedWork{kind: "page", id: in.PageKey, ctx: p.ctx})
	case protocol.MethodCloseTransaction:
		w.closeMu.Lock()
		if in.TransactionID == w.txID && !w.txClosed {
			w.txClosed = true
			close(w.closedTx)
		}
		w.closeMu.Unlock()
	}
}

// watchTransport dials with inner, passing every received message through
// a requestWatch.
type watchTransport struct {
	inner Transport
	w     *requestWatch
}

func (t watchTransport) Dial(ctx context.Context, cfg DialConfig) (Conn, error) {
	next := cfg.OnMessage
	cfg.OnMessage = func(data string) { t.w.message(next, data) }
	return t.inner.Dial(ctx, cfg)
}
