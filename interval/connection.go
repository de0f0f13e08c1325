package interval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/internal/rpc"
)

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
			switch {
			case err != nil:
				// The connection dropped again: the next one sends it.
				c.log.Warn("re-sending IO call after reconnect failed", "transaction", t.id, "err", err)
			case !ret.OK:
				// The server does not have the transaction (it is not
				// the one that started it, or it lost it): no answer
				// will come, and the handler must not wait for one.
				msg := ret.Message
				if msg == "" {
					msg = "the server did not accept it"
				}
				c.log.Warn("the server refused the IO call re-sent after reconnecting; the transaction's handler is stopped",
					"transaction", t.id, "message", msg)
				t.cancel(fmt.Errorf("%w: %s (re-sent after reconnecting)", ErrRender, msg))
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
