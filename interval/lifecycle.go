package interval

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
)

// lifeState is where a Client is in its life. It is one value, guarded by
// Client.mu and changed only by (*Client).moveLocked, along these moves
// (lifeMoves):
//
//	idle      → listening  Listen
//	idle      → closed     Shutdown or Close before Listen
//	listening → draining   Shutdown, or the end of Listen's context
//	listening → closed     Close, or Listen's first connection failed
//	draining  → lingering  the last handler returned, with a development
//	                       key, while finished transactions are still open
//	                       in the console
//	draining  → cancelling Shutdown's context ended while handlers run:
//	                       their contexts are cancelled
//	draining  → closed     the last handler returned (otherwise), or Close
//	lingering → closed     the server closed the last finished transaction,
//	                       Close, or the end of Shutdown's context
//	cancelling→ closed     the last cancelled handler returned (and
//	                       reported), or Close
//
// Work (START_TRANSACTION, OPEN_PAGE) is accepted while idle (a serverless
// request's client never listens) and listening; in every later state but
// closed the connection is kept (and re-established) so that results
// still reach the server. Entering closed cancels every handler's context
// (with ErrClosed), closes the connection and ends the client's life
// context (Client.life).
type lifeState uint8

const (
	stateIdle lifeState = iota
	stateListening
	stateDraining
	stateLingering
	stateCancelling
	stateClosed
)

var lifeStateNames = [...]string{"idle", "listening", "draining", "lingering", "cancelling", "closed"}

func (s lifeState) String() string { return lifeStateNames[s] }

// accepts reports whether the client starts new transactions and pages.
func (s lifeState) accepts() bool { return s == stateIdle || s == stateListening }

// lifeMoves lists, for each state, the states it may move to.
var lifeMoves = [...][]lifeState{
	stateIdle:       {stateListening, stateClosed},
	stateListening:  {stateDraining, stateClosed},
	stateDraining:   {stateLingering, stateCancelling, stateClosed},
	stateLingering:  {stateClosed},
	stateCancelling: {stateClosed},
	stateClosed:     nil,
}

// moveLocked moves the client to state to if lifeMoves allows it from the
// current state, and reports whether it did. It wakes the waits on
// c.changed. c.mu must be held.
func (c *Client) moveLocked(to lifeState) bool {
	if !slices.Contains(lifeMoves[c.state], to) {
		return false
	}
	c.log.Debug("client state", "from", c.state.String(), "to", to.String())
	c.state = to
	c.signalLocked()
	return true
}

// signalLocked wakes the waits on c.changed (a drain watching the running
// work and the finished transactions). Only a draining or lingering client
// has such waits. c.mu must be held.
func (c *Client) signalLocked() {
	if c.state == stateIdle || c.state == stateListening {
		return
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Client) isClosed() bool {
	select {
	case <-c.life.Done():
		return true
	default:
		return false
	}
}

// goWork runs f in a new goroutine counted as work (user code: handlers,
// page renders, state updates, lazy values), which a drain waits for. It
// does not start f, and returns false, once the client has closed.
func (c *Client) goWork(f func()) bool {
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		return false
	}
	c.work++
	c.mu.Unlock()
	go func() {
		defer c.workDone()
		f()
	}()
	return true
}

// workDone ends one unit of work counted by goWork (or by c.work++ under
// c.mu). The last one to end while cancelling closes the client.
func (c *Client) workDone() {
	c.mu.Lock()
	c.work--
	last := c.work == 0 && c.state == stateCancelling
	c.signalLocked()
	c.mu.Unlock()
	if last {
		c.closeNow()
	}
}

// awaitWork waits until no work runs. Called once the client has closed
// (before, no signal would wake it), it waits for handlers that ignore
// their context too.
func (c *Client) awaitWork() {
	for {
		c.mu.Lock()
		idle, changed := c.work == 0, c.changed
		c.mu.Unlock()
		if idle {
			return
		}
		<-changed
	}
}

// envDevelopment is the environment of a host with a development key.
const envDevelopment = "development"

// lingerLocked reports how many finished transactions the server has not
// closed yet, when the client must wait for them before it disconnects:
// with a development key only (PROTOCOL.md, "Observed on the self-hosted
// Interval server": that server deletes all of a development host's
// transactions, finished ones included, when its socket closes, so the
// operator would lose the result on screen), and only on a server that
// does not say it keeps them (protocol.GoServerName). c.mu must be held.
func (c *Client) lingerLocked() int {
	if c.env != envDevelopment || c.serverKeepsDev {
		return 0
	}
	n := int(c.closesUnanswered.Load())
	for _, t := range c.txs {
		if t.kept {
			n++
		}
	}
	return n
}

// closeAnswerSuffix ends the RPC envelope (protocol.AppendEnvelope) of the
// answer to a CLOSE_TRANSACTION.
const closeAnswerSuffix = `,"kind":"RESPONSE","methodName":"` + protocol.MethodCloseTransaction + `"}`

// closeAnswered notes that the answer to a CLOSE_TRANSACTION was posted.
func (c *Client) closeAnswered() {
	c.closesUnanswered.Add(-1)
	c.mu.Lock()
	c.signalLocked()
	c.mu.Unlock()
}

// drain waits until no work runs and, with a development key, the server
// has closed the finished transactions; or until the client closes. If ctx
// ends while work runs it returns ctx's error; if it ends while only
// finished transactions are open, nil (every result was delivered). The
// caller closes the client, or cancels the work.
func (c *Client) drain(ctx context.Context) error {
	for {
		c.mu.Lock()
		if c.state == stateClosed {
			c.mu.Unlock()
			return nil
		}
		busy, open := c.work, 0
		if busy == 0 {
			open = c.lingerLocked()
			if open == 0 {
				c.mu.Unlock()
				return nil
			}
			if c.moveLocked(stateLingering) {
				c.log.Info("shutting down: every handler returned; with a development key the connection stays open until the operator leaves the finished transactions (the Interval server deletes them when the host disconnects), or the shutdown's context ends",
					"open", open)
			}
		}
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			c.mu.Lock()
			lingering := c.state == stateLingering
			c.mu.Unlock()
			if lingering {
				c.log.Info("shutting down: stopped waiting for the operator to leave the finished transactions", "open", open)
				return nil
			}
			return ctx.Err()
		}
	}
}

// Shutdown stops the client gracefully, like http.Server.Shutdown. It tells
// the server to send no new transactions (BEGIN_HOST_SHUTDOWN, sent again on
// a new connection if the connection drops meanwhile), refuses new
// transactions and pages, and waits for the running handlers to return and
// their results to reach the server; then it closes the client and returns
// nil, and Listen returns ErrClosed.
//
// With a development key (the server's environment is "development") it
// then keeps the connection until the server has closed the finished
// transactions (CLOSE_TRANSACTION, when the operator leaves them), as the
// official SDK's safelyClose does: Interval's own server deletes all of a
// development host's transactions when it disconnects, so the result the
// operator is looking at would vanish. If ctx ends during that wait,
// Shutdown closes and returns nil: every result was delivered. With a
// production key it never waits on operators.
//
// If ctx ends while handlers still run, Shutdown returns ctx's error at
// once, without waiting for them. It has cancelled their contexts (with
// ErrClosed as the cause); they finish in the background, over the
// connection that stays open until the last has returned, so a handler
// that honours its context still reports its outcome (usually a failure)
// to the operator. Then the client closes by itself and Listen returns
// ErrClosed. A handler that ignores its context keeps the client open that
// way until it returns: call Close to close at once (the results of
// handlers still running are then lost, and whatever they send fails with
// ErrClosed). Unlike safelyClose, whose wait has no bound, Shutdown is
// bounded by ctx, closing included: a server that does not answer the
// close (a network path that died without a close) is not waited for
// past it.
//
// Shutdown and Close may be called concurrently and more than once: a
// Shutdown called while another drains waits for the same end (and, if its
// own ctx ends first, cancels the handlers the same way); a Close during
// the drain ends it at once and Shutdown returns nil; after the client has
// closed, Shutdown returns nil at once. Shutdown before Listen closes the
// client.
//
// Shutdown waits for the handlers, so an action that stops its own host
// must call it in a new goroutine (go client.Shutdown(ctx)) and return.
func (c *Client) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	switch c.state {
	case stateIdle, stateClosed: // nothing runs
		c.mu.Unlock()
		c.closeNow()
		c.bg.Wait()
		return nil
	}
	first := c.moveLocked(stateDraining)
	peer, running := c.peer, c.work
	c.mu.Unlock()

	if first {
		if peer != nil {
			// On this connection only: if it drops, the next one
			// announces the shutdown (connect), and a server that
			// never comes back must not hold up the drain.
			c.beginShutdown(ctx, peer)
		}
		c.log.Info("shutting down: no new transactions, waiting for the running ones", "running", running)
	}
	if err := c.drain(ctx); err != nil {
		c.cancelWork(err)
		return err
	}
	// Within what is left of ctx: a server that does not answer the
	// close (a network path that died) does not hold Shutdown past it.
	c.closeCut(untilDone(ctx))
	c.bg.Wait()
	return nil
}

// untilDone is how long ctx has left: 0 when it has ended, -1 when it
// has no deadline.
func untilDone(ctx context.Context) time.Duration {
	if ctx.Err() != nil {
		return 0
	}
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), 0)
	}
	return -1
}

// cancelWork moves a draining client to cancelling: it cancels the
// running handlers' contexts (with ErrClosed) and closes the client when
// the last has returned (workDone), or at once if none runs any more.
func (c *Client) cancelWork(why error) {
	c.mu.Lock()
	if !c.moveLocked(stateCancelling) { // cancelling already, or closed
		c.mu.Unlock()
		return
	}
	running := c.work
	var cancels []context.CancelCauseFunc
	for _, t := range c.txs {
		cancels = append(cancels, t.cancel)
	}
	for _, p := range c.pages {
		cancels = append(cancels, p.cancel)
	}
	c.mu.Unlock()
	c.log.Warn("shutting down: the running transactions did not finish in time; cancelled them, the client closes once they have returned", "running", running, "err", why)
	for _, cancel := range cancels {
		cancel(ErrClosed)
	}
	if running == 0 {
		c.closeCut(0) // Shutdown returns at once: its context ended
	}
}

// Close closes the client at once, like the official SDK's immediatelyClose
// and http.Server.Close: the running handlers' contexts are cancelled (with
// ErrClosed as the cause), the connection is closed and Listen returns
// ErrClosed. Results of handlers that have not returned are not sent. Close
// waits for the client's own goroutines, which end at once (the
// connection's among them: Options.OnConnection has been told of the
// Disconnected when it returns), and not for the handlers: one that
// ignores its context keeps running, and whatever it sends fails with
// ErrClosed. A server that does not answer the close within half a second
// (a network path that died without a close) is not waited for. It is safe
// to call more than once and concurrently with Shutdown; it always
// returns nil.
func (c *Client) Close() error {
	c.closeNow()
	c.bg.Wait()
	return nil
}

// closeNow moves the client to closed, once: it cancels every handler and
// page, ends the client's life context and closes the connection, waiting
// at most closeCut for the server's answer to the close.
func (c *Client) closeNow() { c.closeCut(closeCut) }

// closeCut is closeNow with cut as the longest wait for the server's answer
// to the close (negative: the connection's own bound, 5 s).
func (c *Client) closeCut(cut time.Duration) {
	c.mu.Lock()
	if !c.moveLocked(stateClosed) {
		c.mu.Unlock()
		return
	}
	peer, conn, unwatch := c.peer, c.conn, c.unwatch
	c.peer, c.conn, c.unwatch = nil, nil, nil
	txs := make([]*txState, 0, len(c.txs))
	for id, t := range c.txs {
		txs = append(txs, t)
		delete(c.txs, id)
	}
	for _, p := range c.pages {
		p.cancel(ErrClosed)
	}
	c.mu.Unlock()
	for _, t := range txs {
		t.cancel(ErrClosed)
		t.stopTimers()
	}
	c.kill()
	if unwatch != nil {
		unwatch()
	}
	if peer != nil {
		peer.Close()
	}
	if conn != nil {
		if cc, ok := conn.(interface{ Cut(time.Duration) }); ok && cut >= 0 {
			// A server that does not answer the close frame (a network
			// path that died) is not waited for.
			cc.Cut(cut)
		}
		conn.Close()
	}
}

// closeCut bounds Close's wait for the server's answer to its close frame
// on a connection that can cut it short (the websocket adapter's): a live
// server answers within a round trip.
const closeCut = 500 * time.Millisecond

// listenDrain starts, when ctx ends, the drain Listen promises, bounded as
// a whole by ShutdownTimeout: Shutdown for nine tenths of it; if handlers
// still run then, they are cancelled and the last tenth lets them report
// (usually a failure) before Close. The returned wait reports, once the
// client has closed, the drain's error (nil if it did not run or
// finished).
func (c *Client) listenDrain(ctx context.Context) (wait func() error) {
	drained := make(chan error, 1)
	stop := context.AfterFunc(ctx, func() {
		total := c.opts.ShutdownTimeout
		c.log.Info("context ended: draining", "cause", context.Cause(ctx), "timeout", total)
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), total-total/10)
		err := c.Shutdown(sctx)
		cancel()
		if err != nil {
			if !c.sleep(total / 10) {
				c.log.Debug("the cancelled handlers returned")
			} else {
				c.closeNow()
			}
		}
		drained <- err
	})
	return func() error {
		if stop() {
			return nil
		}
		if err := <-drained; err != nil {
			return fmt.Errorf("%w: the running transactions did not finish within ShutdownTimeout (%v) and were cancelled: %w",
				ErrClosed, c.opts.ShutdownTimeout, err)
		}
		return nil
	}
}

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
	// The connections are the client's own from here (under c.mu,
	// before closeNow can mark the client closed): Close and Shutdown
	// wait for them to end, so the last Disconnected has been reported
	// when they return.
	c.bg.Add(1)
	n, watch := c.opts.Routes.(RoutesNotifier)
	if watch {
		c.bg.Add(1)
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
	err := func() error {
		defer c.bg.Done() // even if a hook panics: Close must not hang
		return c.serveConnections()
	}()
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
