package interval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/internal/rpc"
)

// SDK identity. The Interval server gates protocol features on sdkName and
// string-compared sdkVersion (PROTOCOL.md §8.5): typed initialization errors
// and team access need sdkName "@interval/sdk", and the modern append UI,
// CLOSE_TRANSACTION and typed SEND_IO_CALL errors need a version ≥ "1.4.0".
// Like a browser's User-Agent, the host therefore reports the Node SDK's
// name and the wire version it implements (WireSDKVersion), and names itself
// honestly in the extra "implementation" field and in its logs.
const (
	WireSDKName    = "@interval/sdk"
	WireSDKVersion = "2.0.0"
	// SDKName and Version identify this SDK.
	SDKName = protocol.GoSDKName
	Version = "0.1.0"
)

// Errors returned by the client and by IO methods.
var (
	// ErrClosed is returned by Listen after Shutdown or Close (also when
	// Listen is called after them), and by calls made after it.
	ErrClosed = errors.New("interval: client closed")
	// ErrCanceled is returned by IO methods when the operator cancels the
	// transaction (or the server closes it).
	ErrCanceled = errors.New("interval: transaction canceled")
	// ErrInitialize wraps an INITIALIZE_HOST refusal by the server.
	ErrInitialize = errors.New("interval: server refused initialization")
	// ErrRender wraps a server's refusal of an IO call.
	ErrRender = errors.New("interval: server refused the IO call")
	// ErrNotConnected is returned by a call that could not reach the server
	// before its context ended. A Transport's Conn returns it (wrapped or
	// not) for a message it could not deliver because the connection was
	// lost or is gone; the client then sends the call again on the next
	// connection (see Transport).
	ErrNotConnected = protocol.ErrNotConnected
)

// Client is an Interval host: it connects to a server, declares its routes
// and runs the transactions the server starts. Create it with New; its
// methods are safe for concurrent use.
type Client struct {
	opts       Options
	log        *slog.Logger
	instanceID string
	counter    atomic.Uint64

	mu    sync.Mutex
	peer  *rpc.Peer // nil while disconnected
	conn  Conn
	ready chan struct{} // closed while connected and initialized; replaced on drop
	txs   map[string]*txState
	pages map[string]*pageState
	table routeIndex
	org   Organization
	// orgKnown is closed once the first INITIALIZE_HOST answer (with the
	// organization) is stored: a START_TRANSACTION the server sends right
	// after that answer can reach the reader before the initializing
	// goroutine has stored it.
	orgKnown     chan struct{}
	orgKnownOnce sync.Once
	env          string
	dashboard    string
	// serverKeepsDev: the server named itself this project's
	// (protocol.GoServerName), which keeps finished development
	// transactions when the host disconnects: no lingering shutdown.
	serverKeepsDev bool

	// The lifecycle (lifecycle.go): one state, its moves, and what they
	// wait on.
	state   lifeState
	work    int                // goroutines running user code (goWork): handlers, page renders, state updates
	changed chan struct{}      // closed and replaced when state or work change, or a transaction is closed, while draining
	life    context.Context    // ends when the client closes; the parent of every handler's context
	kill    context.CancelFunc // ends life; called by closeNow only
	bg      sync.WaitGroup     // the client's own goroutines (route watch, announce and resend); Close waits for them
	reinit  chan struct{}
	unwatch func()
	// closesUnanswered counts CLOSE_TRANSACTION calls whose answer is not
	// posted yet: the answer goes out after the handler returns, and a
	// drain that closed the connection in between would leave the
	// server's call unanswered.
	closesUnanswered atomic.Int64
}

type routeIndex struct {
	actions map[string]ActionRoute
	pages   map[string]PageRoute
	def     protocol.InitializeHostInputs
}

// New returns a Client for opts. It fails when the API key, endpoint or
// routes are missing (options fall back to INTERVAL_API_KEY and
// INTERVAL_ENDPOINT) or the endpoint is not a ws/wss URL.
func New(opts Options) (*Client, error) {
	if err := opts.resolve(); err != nil {
		return nil, err
	}
	log := levelLogger(opts.Logger, opts.LogLevel)
	c := &Client{
		opts:       opts,
		log:        log,
		instanceID: uuid.NewString(),
		ready:      make(chan struct{}),
		txs:        map[string]*txState{},
		pages:      map[string]*pageState{},
		reinit:     make(chan struct{}, 1),
		orgKnown:   make(chan struct{}),
		changed:    make(chan struct{}),
	}
	c.life, c.kill = context.WithCancel(context.Background())
	c.table = buildIndex(opts.Routes.RouteTable())
	return c, nil
}

// InstanceID is the id the host sends as x-instance-id; it is kept across
// reconnections.
func (c *Client) InstanceID() string { return c.instanceID }

// Organization returns the organization of the last successful
// initialization.
func (c *Client) Organization() Organization {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.org
}

// Environment returns the environment of the last successful
// initialization.
func (c *Client) Environment() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.env
}

func buildIndex(t RouteTable) routeIndex {
	idx := routeIndex{actions: map[string]ActionRoute{}, pages: map[string]PageRoute{}}
	idx.def.Actions = []protocol.ActionDefinition{}
	idx.def.Groups = []protocol.PageDefinition{}
	for _, p := range t.Pages {
		idx.pages[p.Slug] = p
		d := protocol.PageDefinition{Slug: p.Slug, Name: p.Name, Description: p.Description, HasHandler: p.Handler != nil}
		if p.Unlisted {
			d.Unlisted = ptr(true)
		}
		if len(p.Teams) > 0 {
			d.Access = &protocol.Access{Teams: p.Teams}
		}
		idx.def.Groups = append(idx.def.Groups, d)
	}
	for _, a := range t.Actions {
		idx.actions[a.Slug] = a
		d := protocol.ActionDefinition{Slug: a.Slug, Name: a.Name, Description: a.Description, WarnOnClose: a.WarnOnClose}
		if i := lastSlash(a.Slug); i >= 0 {
			d.GroupSlug, d.Slug = a.Slug[:i], a.Slug[i+1:]
		}
		if a.Backgroundable {
			d.Backgroundable = ptr(true)
		}
		if a.Unlisted {
			d.Unlisted = ptr(true)
		}
		if len(a.Teams) > 0 {
			d.Access = &protocol.Access{Teams: a.Teams}
		}
		idx.def.Actions = append(idx.def.Actions, d)
	}
	return idx
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return i
		}
	}
	return -1
}

func ptr[T any](v T) *T { return &v }

// errListenTwice is returned by a second Listen while the first runs.
var errListenTwice = errors.New("interval: Listen called twice")

// Listen connects to the server, declares the routes and serves
// transactions, like http.Server.ListenAndServe, until the client closes;
// then it returns ErrClosed.
//
// When ctx ends, Listen drains the client as Shutdown does (the server
// sends no new transactions, running handlers finish and their results are
// delivered; with a development key the finished transactions the operator
// still looks at are kept until the server closes them), bounded by
// Options.ShutdownTimeout, then returns ErrClosed. So the ordinary way to
// run a host is
//
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	if err := c.Listen(ctx); !errors.Is(err, interval.ErrClosed) {
//		log.Fatal(err)
//	}
//
// If the drain reaches ShutdownTimeout, the running handlers are cancelled
// and the error wraps both ErrClosed and context.DeadlineExceeded. To stop
// at once instead, call Close (a second signal does nothing while
// signal.NotifyContext's stop has not been called: calling it when ctx ends,
// with context.AfterFunc(ctx, stop), lets a second Ctrl+C end the process).
//
// Listen returns ErrClosed at once after Shutdown or Close, and after the
// client has closed it returns without waiting for handlers that ignore
// their context. A refused API key (an error wrapping ErrUnauthorized, as
// soon as the server closes the socket, not after ConnectTimeout) or a
// failed first connection returns that error at once and closes the
// client; after the first successful initialization, dropped connections
// are retried every RetryInterval until the client closes, keeping running
// transactions alive, during a drain too.
func (c *Client) Listen(ctx context.Context) error {
	c.mu.Lock()
	switch {
	case c.state == stateListening:
		c.mu.Unlock()
		return errListenTwice
	case !c.moveLocked(stateListening):
		c.mu.Unlock()
		return ErrClosed
	}
	n, watch := c.opts.Routes.(RoutesNotifier)
	if watch {
		c.bg.Add(1) // under c.mu, before closeNow can mark the client closed
	}
	c.mu.Unlock()

	if watch {
		unwatch := n.OnChange(c.routesChanged)
		c.mu.Lock()
		closed := c.state == stateClosed
		if !closed {
			c.unwatch = unwatch
		}
		c.mu.Unlock()
		if closed { // closeNow ran before unwatch was set
			unwatch()
		}
		go c.reinitLoop()
	}
	drained := c.listenDrain(ctx)
	err := c.serveConnections()
	if err != nil {
		c.closeNow()
	}
	c.bg.Wait()
	if derr := drained(); err == nil {
		err = derr
	}
	if err == nil {
		err = ErrClosed
	}
	return err
}

// serveConnections connects, and reconnects whenever the connection drops,
// until the client closes (then it returns nil). It returns the error of a
// first connection that fails. Its waits end with the client's life, not
// with Listen's context: a draining client still delivers results over a
// new connection. It reports the connection's changes to
// Options.OnConnection.
func (c *Client) serveConnections() error {
	first := true
	// up: a Connected or Reconnected was reported, its Disconnected not
	// yet; attempts: the connection attempts since the last drop, noticed
	// at down.
	up, attempts, down := false, 0, time.Time{}
	defer func() {
		if up {
			c.report(ConnectionEvent{Kind: Disconnected, Err: fmt.Errorf("interval: connection closed: %w", ErrClosed)})
		}
	}()
	connected := func() {
		up = true
		if c.opts.OnConnection == nil {
			return
		}
		if first {
			c.report(ConnectionEvent{Kind: Connected})
		} else {
			c.report(ConnectionEvent{Kind: Reconnected, Attempts: attempts, Downtime: time.Since(down)})
		}
	}
	for {
		attempts++
		err := c.connect(c.life, first, connected)
		if err != nil {
			if c.isClosed() {
				return nil
			}
			if first {
				return err
			}
			c.log.Warn("unable to reconnect", "err", err, "retryIn", c.opts.RetryInterval)
			if !c.sleep(c.opts.RetryInterval) {
				return nil
			}
			continue
		}
		first, attempts = false, 0
		c.mu.Lock()
		conn := c.conn
		c.mu.Unlock()
		if conn == nil { // Close ran since connect returned
			return nil
		}
		select {
		case <-c.life.Done():
			return nil
		case <-conn.Done():
		}
		c.dropConnection(conn)
		if c.isClosed() { // closing the client closed the connection
			return nil
		}
		up, down = false, time.Now()
		if c.opts.OnConnection != nil {
			err := conn.Err()
			if err == nil {
				err = ErrNotConnected
			}
			c.report(ConnectionEvent{Kind: Disconnected, Err: err})
		}
		c.log.Warn("connection to server lost, reconnecting", "err", conn.Err(), "retryIn", c.opts.RetryInterval)
		if !c.sleep(c.opts.RetryInterval) {
			return nil
		}
	}
}

// sleep waits d, or until the client closes (then it returns false).
func (c *Client) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.life.Done():
		return false
	case <-t.C:
		return true
	}
}

// connHolder hands the connection to the RPC peer, which exists before the
// connection does (messages may arrive as soon as the socket opens).
type connHolder struct {
	set  chan struct{}
	conn Conn
}

type attemptKey struct{}

// connect dials, initializes and, on reconnection, re-sends pending state.
// connected, if not nil, is called once the connection is initialized,
// before anything is re-sent.
func (c *Client) connect(ctx context.Context, first bool, connected func()) error {
	h := &connHolder{set: make(chan struct{})}
	post := func(ctx context.Context, data string, acked func(error)) error {
		if c.closesUnanswered.Load() > 0 && strings.HasSuffix(data, closeAnswerSuffix) {
			defer c.closeAnswered() // sent, or failed
		}
		select {
		case <-h.set:
		case <-ctx.Done():
			return ctx.Err()
		}
		timeout := c.opts.SendTimeout
		if n, ok := ctx.Value(attemptKey{}).(int); ok && n > 1 {
			timeout *= time.Duration(n)
		}
		return h.conn.Post(ctx, data, timeout, acked)
	}
	peer := rpc.NewPostPeer(post, c.handleCall, &c.counter, c.log)
	conn, err := c.opts.Transport.Dial(ctx, DialConfig{
		Endpoint:                 c.opts.Endpoint,
		APIKey:                   c.opts.APIKey,
		InstanceID:               c.instanceID,
		OnMessage:                peer.Receive,
		Logger:                   c.log,
		ConnectTimeout:           c.opts.ConnectTimeout,
		SendTimeout:              c.opts.SendTimeout,
		PingInterval:             c.opts.PingInterval,
		PingTimeout:              c.opts.PingTimeout,
		CloseUnresponsiveTimeout: c.opts.CloseUnresponsiveTimeout,
	})
	if err != nil {
		peer.Close()
		return fmt.Errorf("interval: connecting to %s: %w", c.opts.Endpoint, err)
	}
	h.conn = conn
	close(h.set)

	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		peer.Close()
		conn.Close()
		return ErrClosed
	}
	c.peer, c.conn = peer, conn
	c.mu.Unlock()

	if err := c.initializeOn(ctx, conn, peer); err != nil {
		c.mu.Lock()
		c.peer, c.conn = nil, nil
		c.mu.Unlock()
		peer.Close()
		conn.Close()
		return err
	}
	if connected != nil {
		connected()
	}
	c.mu.Lock()
	close(c.ready)
	resend := !first && c.state != stateClosed
	// A host that reconnects while draining tells the new connection it
	// is shutting down too, so the server sends it no new transactions.
	announce := c.state == stateDraining || c.state == stateLingering
	if resend || announce {
		c.bg.Add(1) // under c.mu, not closed: every bg.Wait comes after the move to closed
	}
	c.mu.Unlock()
	if resend || announce {
		go func() {
			defer c.bg.Done()
			if announce {
				c.beginShutdown(c.life, peer)
			}
			if resend {
				c.resendPending(peer)
			}
		}()
	}
	return nil
}

// beginShutdown tells the server, over peer, that this host takes no new
// transactions (BEGIN_HOST_SHUTDOWN).
func (c *Client) beginShutdown(ctx context.Context, peer *rpc.Peer) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.ResponseTimeout)
	defer cancel()
	raw, err := c.callPeer(ctx, time.Time{}, peer, protocol.MethodBeginHostShutdown, struct{}{})
	var res protocol.TypedResult
	if err == nil && len(raw) > 0 {
		err = json.Unmarshal(raw, &res)
	}
	switch {
	case err != nil:
		c.log.Warn("BEGIN_HOST_SHUTDOWN failed", "err", err)
	case res.Type != "success":
		c.log.Warn("server refused BEGIN_HOST_SHUTDOWN", "message", res.Message)
	}
}

// errConnectionLost ends an INITIALIZE_HOST whose connection closed.
var errConnectionLost = errors.New("interval: connection lost while initializing")

// initializeOn initializes over a new connection, giving up as soon as the
// connection ends: the answer can no longer come, and waiting for the
// response timeout would only delay the next attempt.
func (c *Client) initializeOn(ctx context.Context, conn Conn, peer *rpc.Peer) error {
	ctx, cancel := context.WithCancelCause(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-conn.Done():
			cancel(errConnectionLost)
		case <-ctx.Done():
		}
	}()
	err := c.initialize(ctx, peer)
	if cause := context.Cause(ctx); err != nil && errors.Is(cause, errConnectionLost) {
		err = fmt.Errorf("interval: initializing: %w: %w", cause, conn.Err())
	}
	cancel(nil)
	<-watched
	return err
}

// initialize calls INITIALIZE_HOST with the current routes.
func (c *Client) initialize(ctx context.Context, peer *rpc.Peer) error {
	c.mu.Lock()
	in := c.table.def
	c.mu.Unlock()
	in.SDKName, in.SDKVersion = WireSDKName, WireSDKVersion
	in.Timestamp = time.Now().UnixMilli()
	in.Implementation = &protocol.Implementation{Name: SDKName, Version: Version}
	ctx, cancel := context.WithTimeout(ctx, c.opts.ResponseTimeout)
	defer cancel()
	raw, err := c.callPeer(ctx, time.Time{}, peer, protocol.MethodInitializeHost, in)
	if err != nil {
		return fmt.Errorf("interval: initializing: %w", err)
	}
	if len(raw) == 0 {
		return fmt.Errorf("%w: unknown error", ErrInitialize)
	}
	var res protocol.InitializeHostReturns
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("interval: initializing: %w: %v", protocol.ErrMalformed, err)
	}
	if res.SDKAlert != nil && res.SDKAlert.Message != nil {
		c.log.Warn("server notice about this SDK", "severity", res.SDKAlert.Severity, "message", *res.SDKAlert.Message)
	}
	if res.Type != "success" {
		msg := res.Message
		if msg == "" {
			msg = "unknown error"
		}
		return fmt.Errorf("%w: %s", ErrInitialize, msg)
	}
	if len(res.InvalidSlugs) > 0 {
		c.log.Warn("server rejected action slugs: slugs must contain only letters, numbers, underscores, periods, and hyphens", "slugs", res.InvalidSlugs)
	}
	for _, w := range res.Warnings {
		c.log.Warn("server warning", "warning", w)
	}
	c.mu.Lock()
	first := c.dashboard == ""
	if res.Organization != nil {
		c.org = Organization{Name: res.Organization.Name, Slug: res.Organization.Slug}
	}
	c.env = res.Environment
	c.serverKeepsDev = res.Implementation != nil && res.Implementation.Name == protocol.GoServerName
	c.dashboard = res.DashboardURL
	c.mu.Unlock()
	c.orgKnownOnce.Do(func() { close(c.orgKnown) })
	if first {
		c.log.Info("connected to Interval server", "sdk", SDKName+"/"+Version, "environment", res.Environment, "dashboard", res.DashboardURL)
	} else {
		c.log.Info("reconnected to Interval server")
	}
	return nil
}

// organization returns the organization of the server's last
// INITIALIZE_HOST answer, waiting for the first one (or ctx's end).
//
//go:noinline
func (c *Client) organization(ctx context.Context) Organization {
	select {
	case <-c.orgKnown:
	case <-ctx.Done():
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.org
}

// dropConnection forgets a connection that ended.
func (c *Client) dropConnection(conn Conn) {
	c.mu.Lock()
	peer := c.peer
	if c.conn == conn {
		c.peer, c.conn = nil, nil
		select {
		case <-c.ready:
			c.ready = make(chan struct{})
		default:
		}
	}
	c.mu.Unlock()
	if peer != nil {
		peer.Close()
	}
	conn.Close()
}

// callPeer sends one call on peer, retrying with new ids when the ACK times
// out (attempt n waits n×SendTimeout), like the official SDK, but waiting
// between attempts. A non-zero deadline bounds all attempts together.
func (c *Client) callPeer(ctx context.Context, deadline time.Time, peer *rpc.Peer, method string, in any) (json.RawMessage, error) {
	var err error
	for attempt := 1; attempt <= c.opts.MaxResendAttempts; attempt++ {
		actx := context.WithValue(ctx, attemptKey{}, attempt)
		var raw json.RawMessage
		var timeout time.Duration // none: ctx bounds the call
		if !deadline.IsZero() {
			timeout = max(time.Until(deadline), 1)
		}
		raw, err = peer.CallRawTimeout(actx, timeout, method, in)
		if err == nil {
			return raw, nil
		}
		if !isAckTimeout(err) {
			return nil, err
		}
		c.log.Debug("no ACK, resending", "method", method, "attempt", attempt)
	}
	return nil, fmt.Errorf("interval: %s: maximum resend attempts reached: %w", method, err)
}

// call sends a call to the server, waiting for a connection first (bounded
// by ctx), and decodes the answer into out. If the connection drops while
// the call is in flight it is sent again after reconnection.
func (c *Client) call(ctx context.Context, method string, in any, out any) error {
	resent := false // the connection dropped under an attempt: the next one sends it again
	for {
		c.mu.Lock()
		ready, peer, closed := c.ready, c.peer, c.state == stateClosed
		c.mu.Unlock()
		if closed {
			return ErrClosed
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return fmt.Errorf("%w: %s: %w", ErrNotConnected, method, ctx.Err())
		case <-c.life.Done():
			return ErrClosed
		}
		if peer == nil {
			continue
		}
		// The response timeout is a timer in the call, not a child context:
		// a child of a transaction's context would leave its cancel
		// registration (a map) behind in that context for its whole life.
		raw, err := c.callPeer(ctx, time.Now().Add(c.opts.ResponseTimeout), peer, method, in)
		if errors.Is(err, rpc.ErrClosed) || isNotConnected(err) {
			resent = true
			continue // the connection dropped: wait for the next one
		}
		if err != nil {
			return err
		}
		if resent {
			c.reportResent(method)
		}
		if out != nil && len(raw) > 0 {
			if err := json.Unmarshal(raw, out); err != nil {
				return fmt.Errorf("interval: %s returned %w: %v", method, protocol.ErrMalformed, err)
			}
		}
		return nil
	}
}

// handleCall answers the server's calls. It runs on the connection's reader
// goroutine and does not block.
func (c *Client) handleCall(method string, data json.RawMessage) (any, error) {
	switch method {
	case protocol.MethodStartTransaction:
		var in protocol.StartTransactionInputs
		if err := json.Unmarshal(data, &in); err != nil {
			return nil, fmt.Errorf("%w: START_TRANSACTION: %v", protocol.ErrMalformed, err)
		}
		if err := in.Validate(); err != nil {
			return nil, err
		}
		c.startTransaction(in)
		return nil, nil
	case protocol.MethodIOResponse:
		var in protocol.IOResponseInputs
		if err := json.Unmarshal(data, &in); err != nil {
			return nil, fmt.Errorf("%w: IO_RESPONSE: %v", protocol.ErrMalformed, err)
		}
		c.ioResponse(in)
		return nil, nil
	case protocol.MethodCloseTransaction:
		var in protocol.CloseTransactionInputs
		if err := json.Unmarshal(data, &in); err != nil {
			return nil, fmt.Errorf("%w: CLOSE_TRANSACTION: %v", protocol.ErrMalformed, err)
		}
		c.closesUnanswered.Add(1) // until the answer is posted: a lingering drain waits for it
		c.closeTransaction(in.TransactionID)
		return nil, nil
	case protocol.MethodOpenPage:
		var in protocol.OpenPageInputs
		if err := json.Unmarshal(data, &in); err != nil {
			return nil, fmt.Errorf("%w: OPEN_PAGE: %v", protocol.ErrMalformed, err)
		}
		return c.openPage(in), nil
	case protocol.MethodClosePage:
		var in protocol.ClosePageInputs
		if err := json.Unmarshal(data, &in); err != nil {
			return nil, fmt.Errorf("%w: CLOSE_PAGE: %v", protocol.ErrMalformed, err)
		}
		c.closePage(in.PageKey)
		return nil, nil
	}
	return nil, fmt.Errorf("interval: unknown method %q from server", protocol.Clip(method, 64))
}

// routesChanged is called by the router when routes change at run time.
func (c *Client) routesChanged() {
	select {
	case c.reinit <- struct{}{}:
	default:
	}
}

// reinitLoop batches route changes into one INITIALIZE_HOST.
func (c *Client) reinitLoop() {
	defer c.bg.Done()
	for {
		select {
		case <-c.life.Done():
			return
		case <-c.reinit:
		}
		select {
		case <-c.life.Done():
			return
		case <-time.After(c.opts.ReinitializeBatchTimeout):
		}
		// Drain changes that arrived during the batch window.
		select {
		case <-c.reinit:
		default:
		}
		idx := buildIndex(c.opts.Routes.RouteTable())
		c.mu.Lock()
		c.table = idx
		ready := c.ready
		c.mu.Unlock()
		// While (re)connecting, the connection may have read the table
		// before this change: wait until it is ready, then declare
		// again. Changes made meanwhile are in c.reinit for the next
		// round.
		select {
		case <-ready:
		case <-c.life.Done():
			return
		}
		c.mu.Lock()
		peer := c.peer
		c.mu.Unlock()
		if peer == nil {
			continue // dropped again: the next connection declares the table
		}
		if err := c.initialize(c.life, peer); err != nil {
			c.log.Error("re-initializing after route change", "err", err)
		}
	}
}

// resendPending re-sends, after a reconnection, every transaction's pending
// IO call and loading state and every open page's layout.
func (c *Client) resendPending(peer *rpc.Peer) {
	c.mu.Lock()
	var txs []*txState
	for _, t := range c.txs {
		txs = append(txs, t)
	}
	var pages []*pageState
	for _, p := range c.pages {
		pages = append(pages, p)
	}
	c.mu.Unlock()
	ctx := c.life
	for _, t := range txs {
		call, loading := t.pending()
		if call != "" {
			var ret protocol.SendIOCallReturns
			raw, err := c.callPeer(ctx, time.Time{}, peer, protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: t.id, IOCall: call})
			if err == nil && len(raw) > 0 {
				err = json.Unmarshal(raw, &ret)
			}
			if err == nil {
				c.reportResent(protocol.MethodSendIOCall)
			}
			if err != nil || !ret.OK {
				c.log.Warn("re-sending IO call after reconnect failed", "transaction", t.id, "err", err, "message", ret.Message)
			}
		}
		c.resendLoading(ctx, peer, t.id, loading)
	}
	for _, p := range pages {
		if page, ok := p.last(); ok {
			if _, err := c.callPeer(ctx, time.Time{}, peer, protocol.MethodSendPage, protocol.SendPageInputs{PageKey: p.key, Page: page}); err != nil {
				c.log.Warn("re-sending page failed", "page", p.key, "err", err)
			} else {
				c.reportResent(protocol.MethodSendPage)
			}
		}
		_, loading := p.loading.pending()
		c.resendLoading(ctx, peer, p.key, loading)
	}
}

// resendLoading re-sends the loading state of a transaction or page (by
// id) after a reconnection, if it shows one.
func (c *Client) resendLoading(ctx context.Context, peer *rpc.Peer, id string, loading *protocol.LoadingState) {
	if loading == nil {
		return
	}
	if _, err := c.callPeer(ctx, time.Time{}, peer, protocol.MethodSendLoadingCall, protocol.SendLoadingCallInputs{TransactionID: id, LoadingState: *loading}); err != nil {
		c.log.Warn("re-sending loading state failed", "id", id, "err", err)
	} else {
		c.reportResent(protocol.MethodSendLoadingCall)
	}
}
