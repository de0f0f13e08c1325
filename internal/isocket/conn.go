// Package isocket carries Interval's ISocket framing over a websocket
// connection (github.com/coder/websocket): MESSAGE frames acknowledged by ACK
// frames, "authenticated" and "ping" control messages, websocket pings with a
// pong deadline, and closing a connection that stays unresponsive. It serves
// both ends: Dial for hosts (the interval client and the websocket adapter
// use it), Accept and Socket.Start or Socket.NewConn for servers (package
// server; NewConn on a socket accepted otherwise, as intervaltest does). A
// server's socket can hold the ACKs of the messages it gets for a moment
// (Config.AckHold) and write them with its answers in one write (Batch).
//
// The package knows nothing about RPC or actions: it hands the data string of
// every MESSAGE to Config.OnMessage and offers Send, which returns once the
// peer has acknowledged the message, and Post, which returns once the
// message is written and reports its ACK through a callback. A *Conn is an
// interval.Conn as it is: its errors are the sentinels of internal/protocol,
// which package interval exports.
package isocket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/interval-go/sdk/internal/protocol"
)

// Defaults of Config, the same as the official Node SDK's.
const (
	DefaultConnectTimeout           = 15 * time.Second
	DefaultSendTimeout              = 5 * time.Second
	DefaultPingInterval             = 30 * time.Second
	DefaultPingTimeout              = 5 * time.Second
	DefaultCloseUnresponsiveTimeout = 3 * time.Minute
	// DefaultReadLimit is the largest frame accepted. The library's own
	// default (32 KiB) is too small for tables and groups.
	DefaultReadLimit = 32 << 20
)

// Errors returned by this package.
var (
	// ErrNotConnected is returned by Send and Post on a closed connection,
	// and wrapped in the error of a write that failed (which ends the
	// connection): the message was not delivered. It is the same error as
	// interval.ErrNotConnected.
	ErrNotConnected = protocol.ErrNotConnected
	// ErrAckTimeout is returned by Send when the peer does not acknowledge
	// a message within Config.SendTimeout. It is the same error as
	// interval.ErrAckTimeout.
	ErrAckTimeout = protocol.ErrAckTimeout
	// ErrUnauthorized is returned by Dial when the server refuses the API
	// key (HTTP 401 or 403, or close code 1008 before "authenticated"). It
	// is the same error as interval.ErrUnauthorized.
	ErrUnauthorized = protocol.ErrUnauthorized
	// ErrUnresponsive is the cause of a close after CloseUnresponsiveTimeout
	// without a pong, or after a message's ACK was overdue and a ping sent
	// then got no pong within PingTimeout.
	ErrUnresponsive = errors.New("websocket: peer unresponsive")
)

// Config configures a Conn. Zero durations take the package defaults.
type Config struct {
	// OnMessage receives the data of every MESSAGE other than the control
	// strings, in order, from the connection's reader goroutine. It must
	// not block: hand work to another goroutine. On a connection made by
	// Dial (with no HTTPClient of the caller's), the message's ACK and
	// what OnMessage sends (its RPC response, typically) are written to
	// the socket together, with those of the other messages already
	// received, once the reader has handled them and is about to wait for
	// more: one write, not two per message.
	OnMessage func(data string)
	// Logger receives debug lines about frames and liveness. Nil discards.
	Logger *slog.Logger

	ConnectTimeout           time.Duration
	SendTimeout              time.Duration
	PingInterval             time.Duration
	PingTimeout              time.Duration
	CloseUnresponsiveTimeout time.Duration
	ReadLimit                int64
	// DisablePing turns off websocket pings from this side (the peer's
	// pings are still answered).
	DisablePing bool
	// AckHold, when positive, holds the ACK of each message given to
	// OnMessage for at most AckHold, so that it can leave in one write
	// with the message's answer: FlushAcks (in a Batch with the answer)
	// sends the ACKs held sooner. Control messages are acknowledged at
	// once.
	AckHold time.Duration
	// Pinger, when set, pings the connection (every PingInterval, as
	// the connection's own ping goroutine would) from one goroutine it
	// shares with other connections: a server with many sockets keeps
	// one goroutine for their pings instead of one per socket.
	Pinger *Pinger
}

func (c *Config) defaults() {
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = DefaultSendTimeout
	}
	if c.PingInterval <= 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = DefaultPingTimeout
	}
	if c.CloseUnresponsiveTimeout <= 0 {
		c.CloseUnresponsiveTimeout = DefaultCloseUnresponsiveTimeout
	}
	if c.ReadLimit <= 0 {
		c.ReadLimit = DefaultReadLimit
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.OnMessage == nil {
		c.OnMessage = func(string) {}
	}
}

// Conn is one ISocket connection. Its methods are safe for concurrent use.
type Conn struct {
	ws  *websocket.Conn
	cfg Config

	// authenticated is made on demand (authChan): a server's socket,
	// whose peer never sends "authenticated", goes without.
	authMu        sync.Mutex
	authenticated chan struct{}
	authDone      bool

	mu      sync.Mutex
	pending map[string]*ackWait // messages sent, waiting for their ACK
	// ackTimer fires at ackNext, the earliest deadline of an ACK (zero
	// when it is not armed): one timer for every message waiting, not
	// one each.
	ackTimer *time.Timer
	ackNext  time.Time
	ended    bool // set with done: no message waits any more
	probing  bool // a probe (after an ACK was overdue) waits for its pong

	done      chan struct{}
	closeOnce sync.Once
	err       error // set before done is closed
	lastPong  atomic.Int64
	wg        sync.WaitGroup // the ping goroutine
	readDone  chan struct{}  // closed when the reader goroutine ends
	// closeWSOnce makes the first CloseWith the one whose code is sent;
	// wsClosed, made in closeWSOnce, is closed when that close handshake
	// has ended.
	closeWSOnce sync.Once
	wsClosed    chan struct{}
	// cut, made on first use (cutChan), is closed by Cut once a close
	// has waited long enough for the peer's close frame.
	cut     chan struct{}
	cutOnce sync.Once
	// cork, when set, is the socket under ws (dialed connections): the
	// reader batches the frames it writes while handling one message.
	cork *corkConn
	// lean, when set, is the socket under ws (Socket of Accept): Batch
	// corks it. bounded: ws's connection bounds each write by a deadline
	// (a Socket's), so a write needs no context with a timeout.
	lean    *leanConn
	bounded bool
	// owed are the ids of the messages whose ACK is held (AckHold), until
	// FlushAcks or holdTimer, armed when the first is held.
	owed      []string
	holdTimer *time.Timer
	// dispatching is set while the reader goroutine runs OnMessage, so
	// that a Close from inside OnMessage does not wait for itself.
	dispatching atomic.Bool
	// manual is set by Start: the caller runs the reader with Serve.
	manual bool
	served atomic.Bool // Serve was called (or wait found it never was)

	// The shared pinger's state of this connection, guarded by its mu:
	// when the next ping is due, the connection's index in its heap (-1
	// when not in it) and whether a ping waits for its pong.
	pingAt  time.Time
	pingIdx int
	pinging bool
}

// NewConn starts the ISocket protocol on an open websocket (a server's
// accepted socket, or a dialed one). It starts a reader goroutine and, unless
// disabled, a ping goroutine; both end when the connection closes.
func NewConn(ws *websocket.Conn, cfg Config) *Conn { return newConn(ws, cfg, nil, nil, false) }

// Start starts the ISocket protocol on an open websocket like NewConn, but
// without a reader goroutine: the caller's goroutine reads by calling Serve,
// so that a server's idle socket needs no goroutine besides the one serving
// it. Nothing is read, and no ACK arrives, until Serve is called.
func Start(ws *websocket.Conn, cfg Config) *Conn { return newConn(ws, cfg, nil, nil, true) }

// Serve reads the connection of Start until it ends, in the calling
// goroutine; it then returns. It panics on a connection made otherwise,
// which has its reader already, and returns at once when called again.
func (c *Conn) Serve() {
	if !c.manual {
		panic("isocket: Serve on a connection with a reader goroutine")
	}
	if c.served.CompareAndSwap(false, true) {
		c.readLoop()
	}
}

func newConn(ws *websocket.Conn, cfg Config, cork *corkConn, sock *Socket, manual bool) *Conn {
	cfg.defaults()
	ws.SetReadLimit(cfg.ReadLimit)
	c := &Conn{
		ws:       ws,
		cfg:      cfg,
		cork:     cork,
		bounded:  cork != nil || sock != nil,
		pending:  map[string]*ackWait{},
		done:     make(chan struct{}),
		readDone: make(chan struct{}),
		manual:   manual,
		pingIdx:  -1,
	}
	if sock != nil {
		c.lean = sock.lean
	}
	c.lastPong.Store(time.Now().UnixNano())
	if !manual {
		go c.readLoop()
	}
	if !cfg.DisablePing {
		if cfg.Pinger != nil {
			cfg.Pinger.add(c)
		} else {
			c.wg.Add(1)
			go c.pingLoop()
		}
	}
	return c
}

// DialOptions are the host side's connection parameters.
type DialOptions struct {
	// Endpoint is the server's websocket URL; http and https are taken as
	// ws and wss.
	Endpoint   string
	APIKey     string
	InstanceID string
	// Header holds extra upgrade headers.
	Header http.Header
	// HTTPClient is used for the upgrade request; nil uses a client of
	// this package's, which batches the ACK and the answer of a message
	// into one write.
	HTTPClient *http.Client
}

// wsURL turns an http(s) endpoint into ws(s).
func wsURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	return u.String()
}

// Dial connects to an Interval server as a host: it sends the x-api-key and
// x-instance-id headers and waits up to cfg.ConnectTimeout for the server's
// "authenticated" message. A refused key returns an error wrapping
// ErrUnauthorized with the server's reason, at once.
func Dial(ctx context.Context, opts DialOptions, cfg Config) (*Conn, error) {
	cfg.defaults()
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	h := http.Header{}
	for k, v := range opts.Header {
		h[k] = v
	}
	if opts.APIKey != "" {
		h.Set("x-api-key", opts.APIKey)
	}
	if opts.InstanceID != "" {
		h.Set("x-instance-id", opts.InstanceID)
	}
	client := opts.HTTPClient
	var cork *corkConn
	if client == nil {
		client = corkingClient(&cork, cfg.SendTimeout)
	}
	endpoint := wsURL(opts.Endpoint)
	ws, resp, err := websocket.Dial(ctx, endpoint, &websocket.DialOptions{
		HTTPHeader: h,
		HTTPClient: client,
	})
	if err != nil {
		if resp != nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
			return nil, fmt.Errorf("%w: HTTP %d", ErrUnauthorized, resp.StatusCode)
		}
		return nil, fmt.Errorf("websocket: dial %s: %w", endpoint, err)
	}
	c := newConn(ws, cfg, cork, nil, false)
	select {
	case <-c.Authenticated():
		return c, nil
	case <-c.done:
		select {
		case <-c.Authenticated():
			// Authenticated, then closed at once: the select above
			// may pick either. Connected it was; the caller sees the
			// close through Done/Err like any later close.
			return c, nil
		default:
		}
		err := c.Err()
		c.wait()
		if websocket.CloseStatus(err) == websocket.StatusPolicyViolation {
			return nil, fmt.Errorf("%w: %s", ErrUnauthorized, closeReason(err))
		}
		return nil, fmt.Errorf("websocket: closed before authentication: %w", err)
	case <-ctx.Done():
		c.Close()
		return nil, fmt.Errorf("websocket: waiting for authentication: %w", ctx.Err())
	}
}

func closeReason(err error) string {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Reason
	}
	return err.Error()
}

// Authenticated is closed once the peer sent "authenticated".
func (c *Conn) Authenticated() <-chan struct{} {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	if c.authenticated == nil {
		c.authenticated = make(chan struct{})
		if c.authDone {
			close(c.authenticated)
		}
	}
	return c.authenticated
}

// setAuthenticated closes Authenticated, once.
func (c *Conn) setAuthenticated() {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	if c.authDone {
		return
	}
	c.authDone = true
	if c.authenticated != nil {
		close(c.authenticated)
	}
}

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection ended (nil while it is open). Close frames are
// reported as websocket.CloseError.
func (c *Conn) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// SendAuthenticated sends the "authenticated" control message (server side).
func (c *Conn) SendAuthenticated(ctx context.Context) error {
	return c.Send(ctx, protocol.DataAuthenticated)
}

// Send writes data as a MESSAGE and waits for its ACK, for at most
// cfg.SendTimeout (and ctx).
func (c *Conn) Send(ctx context.Context, data string) error {
	return c.SendTimeout(ctx, data, c.cfg.SendTimeout)
}

// SendTimeout is Send with an explicit ACK timeout.
func (c *Conn) SendTimeout(ctx context.Context, data string, timeout time.Duration) error {
	res := make(chan error, 1)
	if err := c.Post(ctx, data, timeout, func(err error) { res <- err }); err != nil {
		return err
	}
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ackWait is a message waiting for its ACK.
type ackWait struct {
	acked    func(error)
	deadline time.Time // set once the message is written
	paused   bool      // its deadline was moved past a pause (expireAcks)
}

// ackPauseSlack is how late the ACK timer may fire before expireAcks takes
// the delay for a pause of the process (stopped, or its machine paused)
// rather than for its peer's silence; it is also the least time the reader
// then gets to read the ACKs that came during the pause.
const ackPauseSlack = time.Second

// Post writes data as a MESSAGE and returns once it is written, without
// waiting for the ACK. acked is then called exactly once: with nil when the
// peer acknowledges the message, ErrAckTimeout when timeout passes first,
// or ErrNotConnected when the connection ends first. It runs on the reader
// or a timer goroutine and must not block. When Post returns an error,
// acked is never called.
//
// On a connection made by Dial, "written" may mean handed to the write to
// the socket in progress in another goroutine, which carries it next; if
// that write fails, the connection ends and acked reports ErrNotConnected.
//
// Post is what a request/response layer wants: the caller waits once, for
// the answer or for a failed send, rather than being woken for the ACK too.
func (c *Conn) Post(ctx context.Context, data string, timeout time.Duration, acked func(error)) error {
	id := uuid.NewString()
	w := &ackWait{acked: acked}
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return ErrNotConnected
	}
	c.pending[id] = w
	c.mu.Unlock()
	// The data is JSON, whose quotes the frame escapes: room for some.
	size := len(data) + len(data)/4 + 96
	var frame []byte
	if c.cork != nil {
		// The websocket library copies the frame before Write returns:
		// its buffer is reused.
		buf := frameBufs.Get().(*[]byte)
		defer putFrameBuf(buf, &frame)
		frame = slices.Grow((*buf)[:0], size)
	} else {
		frame = make([]byte, 0, size)
	}
	frame = protocol.AppendMessage(frame, id, data)
	if err := c.write(ctx, frame); err != nil {
		c.mu.Lock()
		_, waiting := c.pending[id]
		delete(c.pending, id)
		c.mu.Unlock()
		if !waiting { // the connection ended meanwhile and told acked
			return nil
		}
		return err
	}
	c.mu.Lock()
	if _, ok := c.pending[id]; ok { // not acknowledged while writing
		w.deadline = time.Now().Add(timeout)
		c.armAckTimer(w.deadline)
	}
	c.mu.Unlock()
	return nil
}

// frameBufs holds the buffers the MESSAGE frames of a dialed connection
// are built in, which its corked socket copies.
var frameBufs = sync.Pool{New: func() any { return new([]byte) }}

// putFrameBuf gives the buffer *frame ended in back to frameBufs, in buf,
// unless a large message made it large.
func putFrameBuf(buf *[]byte, frame *[]byte) {
	if cap(*frame) <= maxPooledMessage {
		*buf = (*frame)[:0]
		frameBufs.Put(buf)
	}
}

// armAckTimer makes the ACK timer fire by deadline; c.mu is held.
func (c *Conn) armAckTimer(deadline time.Time) {
	if !c.ackNext.IsZero() && !deadline.Before(c.ackNext) {
		return // it fires sooner: it will see to this one then
	}
	c.ackNext = deadline
	d := time.Until(deadline)
	if c.ackTimer == nil {
		c.ackTimer = time.AfterFunc(d, c.expireAcks)
	} else {
		c.ackTimer.Reset(d)
	}
}

// expireAcks fails the messages whose ACK is overdue with ErrAckTimeout and
// arms the timer for the next deadline.
func (c *Conn) expireAcks() {
	var expired []*ackWait
	c.mu.Lock()
	now := time.Now()
	if c.ackNext.IsZero() || c.ackNext.After(now) {
		// Re-armed for later after this run was due (or nothing waits).
		c.mu.Unlock()
		return
	}
	if late := now.Sub(c.ackNext); late > ackPauseSlack {
		// The timer fired that late: this process did not run
		// meanwhile, and the ACKs its peer sent then may wait unread in
		// the connection. The deadlines move by the pause, and at least
		// ackPauseSlack past now, for the reader to read them first
		// (once per message, so that a process always late still gives
		// up).
		for _, w := range c.pending {
			if !w.deadline.IsZero() && !w.paused {
				w.deadline, w.paused = w.deadline.Add(late), true
				if least := now.Add(ackPauseSlack); w.deadline.Before(least) {
					w.deadline = least
				}
			}
		}
	}
	c.ackNext = time.Time{}
	var next time.Time
	for id, w := range c.pending {
		switch {
		case w.deadline.IsZero(): // still being written
		case !w.deadline.After(now):
			delete(c.pending, id)
			expired = append(expired, w)
		case next.IsZero() || w.deadline.Before(next):
			next = w.deadline
		}
	}
	if !next.IsZero() {
		c.armAckTimer(next)
	} else {
		c.ackTimer = nil // nothing waits: an idle connection holds no timer
	}
	c.mu.Unlock()
	if len(expired) > 0 {
		c.probe()
	}
	for _, w := range expired {
		w.acked(ErrAckTimeout)
	}
}

// probe pings the peer at once after a message's ACK was overdue: a live
// peer's reader answers a ping as soon as it reads it, so a connection
// whose ping fails too (no pong within PingTimeout) carries nothing, a
// network path that died without a close, and is closed (ErrUnresponsive)
// rather than kept until CloseUnresponsiveTimeout with everything sent on
// it waiting. A peer that is only slow to acknowledge keeps its connection.
func (c *Conn) probe() {
	if c.cfg.DisablePing || (c.manual && !c.served.Load()) {
		return // nothing reads the pong
	}
	c.mu.Lock()
	if c.ended || c.probing {
		c.mu.Unlock()
		return
	}
	c.probing = true
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.PingTimeout)
		err := c.ws.Ping(ctx)
		cancel()
		c.mu.Lock()
		c.probing = false
		c.mu.Unlock()
		if err == nil {
			c.lastPong.Store(time.Now().UnixNano())
			return
		}
		select {
		case <-c.done:
			return // closed meanwhile
		default:
		}
		c.cfg.Logger.Warn("websocket: closing a connection whose peer acknowledged nothing in time and answered no ping", "err", err)
		c.finish(ErrUnresponsive)
		c.ws.CloseNow()
	}()
}

// resolve ends the wait for the ACK of message id, if it still waits.
func (c *Conn) resolve(id string, err error) {
	c.mu.Lock()
	w, ok := c.pending[id]
	if ok {
		delete(c.pending, id)
	}
	c.mu.Unlock()
	if !ok {
		return
	}
	w.acked(err)
}

func (c *Conn) write(ctx context.Context, frame []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// coder/websocket closes the whole connection when a write's context
	// ends mid-write, so one caller giving up (an operator cancel, a call's
	// deadline) must not reach the write: only the send timeout bounds it,
	// and a write stuck that long does mean the connection is dead. On a
	// dialed socket the corkConn's write deadline is that bound, on a
	// Socket of Accept its connection's.
	wctx := context.Background()
	if !c.bounded {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), c.cfg.SendTimeout)
		defer cancel()
	}
	err := c.wsWrite(wctx, frame)
	if err != nil {
		select {
		case <-c.done:
			return ErrNotConnected
		default:
		}
		// A failed write ends the connection (the library closes it), even
		// when the reader has not seen the end yet: the message was not
		// delivered, and callers may send it again on the next connection.
		return fmt.Errorf("%w: write: %w", ErrNotConnected, err)
	}
	return nil
}

// wsWrite writes one frame. On a corked socket the syscall comes after the
// library has let go of its write lock (see corkConn), so that frames other
// goroutines frame meanwhile can share it.
func (c *Conn) wsWrite(ctx context.Context, frame []byte) error {
	if c.cork == nil {
		return c.ws.Write(ctx, websocket.MessageText, frame)
	}
	c.cork.enter()
	err := c.ws.Write(ctx, websocket.MessageText, frame)
	if rerr := c.cork.release(); err == nil {
		err = rerr
	}
	return err
}

// readBufs holds the buffers messages are read into: a connection takes
// one only once a message has begun to arrive, so an idle one holds none.
var readBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putReadBuf gives b back to readBufs, unless a large message made it
// large.
func putReadBuf(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 {
		readBufs.Put(b)
	}
}

// read reads the next message into a buffer of readBufs, which the caller
// gives back with putReadBuf (as Read does, with one buffer grown anew for
// every message).
func (c *Conn) read(ctx context.Context) (websocket.MessageType, *bytes.Buffer, error) {
	typ, r, err := c.ws.Reader(ctx)
	if err != nil {
		return 0, nil, err
	}
	b := readBufs.Get().(*bytes.Buffer)
	b.Reset()
	if _, err := b.ReadFrom(r); err != nil {
		putReadBuf(b)
		return 0, nil, err
	}
	return typ, b, nil
}

func (c *Conn) readLoop() {
	defer close(c.readDone)
	ctx := context.Background()
	for {
		typ, b, err := c.read(ctx)
		if err != nil {
			c.finish(err)
			return
		}
		if typ != websocket.MessageText {
			c.cfg.Logger.Warn("websocket: ignoring binary frame", "bytes", b.Len())
			putReadBuf(b)
			continue
		}
		f, err := protocol.DecodeFrame(b.Bytes()) // copies what it keeps
		n := b.Len()
		putReadBuf(b)
		if err != nil {
			c.cfg.Logger.Warn("websocket: ignoring malformed frame", "err", err, "bytes", n)
			continue
		}
		if f.Type == protocol.FrameAck {
			c.resolve(f.ID, nil)
			continue
		}
		// ACK first, then process; with a corked socket the ACK and
		// whatever handling the message writes (its RESPONSE) leave in
		// one write, with those of the other messages already received:
		// the cork holds them until the reader reads from the socket
		// again.
		if c.cork != nil {
			c.cork.cork()
		}
		if c.cfg.AckHold > 0 && f.Data != protocol.DataAuthenticated && f.Data != protocol.DataPing {
			c.holdAck(f.ID)
		} else if err := c.write(ctx, protocol.AppendAck(nil, f.ID)); err != nil {
			c.cfg.Logger.Debug("websocket: ACK not written", "err", err)
		}
		switch f.Data {
		case protocol.DataAuthenticated:
			c.setAuthenticated()
		case protocol.DataPing:
			c.lastPong.Store(time.Now().UnixNano())
		default:
			c.dispatching.Store(true)
			c.cfg.OnMessage(f.Data)
			c.dispatching.Store(false)
		}
	}
}

// holdAck holds the ACK of message id (AckHold).
func (c *Conn) holdAck(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	c.owed = append(c.owed, id)
	if len(c.owed) > 1 {
		return // the timer runs
	}
	if c.holdTimer == nil {
		c.holdTimer = time.AfterFunc(c.cfg.AckHold, c.FlushAcks)
	} else {
		c.holdTimer.Reset(c.cfg.AckHold)
	}
}

// FlushAcks writes the ACKs held (AckHold), in order; inside Batch they
// join its write.
func (c *Conn) FlushAcks() {
	c.mu.Lock()
	owed := c.owed
	c.owed = nil
	if len(owed) > 0 {
		c.holdTimer.Stop()
	}
	c.mu.Unlock()
	if len(owed) == 0 {
		return
	}
	c.Batch(func() {
		for _, id := range owed {
			if err := c.write(context.Background(), protocol.AppendAck(nil, id)); err != nil {
				c.cfg.Logger.Debug("websocket: ACK not written", "err", err)
				return
			}
		}
	})
}

// Batch runs f, and the frames written to a Socket's connection while it
// runs (by f or by other goroutines) leave in one write when it returns:
// each is still its own websocket frame, in order. On other connections
// it just runs f.
func (c *Conn) Batch(f func()) {
	if c.lean == nil {
		f()
		return
	}
	c.lean.cork()
	defer func() {
		if err := c.lean.uncork(); err != nil {
			c.cfg.Logger.Debug("websocket: batched write failed", "err", err)
		}
	}()
	f()
}

// maxPooledMessage is the largest buffer of frames kept for reuse: a
// large table's message is not kept around.
const maxPooledMessage = 64 << 10

func (c *Conn) pingLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		if c.ping() {
			return
		}
	}
}

// ping pings the peer and waits up to PingTimeout for the pong; it closes
// the connection, and returns true, when the peer has given no sign of
// life for CloseUnresponsiveTimeout.
func (c *Conn) ping() (closed bool) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.PingTimeout)
	err := c.ws.Ping(ctx)
	cancel()
	if err == nil {
		c.lastPong.Store(time.Now().UnixNano())
		return false
	}
	since := time.Since(time.Unix(0, c.lastPong.Load()))
	c.cfg.Logger.Debug("websocket: ping failed", "err", err, "sinceLastPong", since)
	if since >= c.cfg.CloseUnresponsiveTimeout {
		c.cfg.Logger.Warn("websocket: closing unresponsive connection", "sinceLastPong", since)
		c.finish(ErrUnresponsive)
		c.ws.CloseNow()
		return true
	}
	return false
}

// LastPong is when the peer last proved alive (pong or "ping" message).
func (c *Conn) LastPong() time.Time { return time.Unix(0, c.lastPong.Load()) }

func (c *Conn) finish(err error) {
	c.closeOnce.Do(func() {
		c.err = err
		close(c.done)
		if c.cfg.Pinger != nil {
			c.cfg.Pinger.remove(c)
		}
		c.mu.Lock()
		c.ended = true
		waits := c.pending
		c.pending = nil
		if c.ackTimer != nil {
			c.ackTimer.Stop()
		}
		c.owed = nil // the ACKs held can no longer go out
		if c.holdTimer != nil {
			c.holdTimer.Stop()
		}
		c.mu.Unlock()
		for _, w := range waits {
			w.acked(ErrNotConnected)
		}
	})
}

// Close closes the connection with a normal close frame and waits for its
// goroutines to end.
func (c *Conn) Close() error {
	return c.CloseWith(websocket.StatusNormalClosure, "")
}

// CloseWith closes the connection with the given code and reason (for a
// server refusing a socket, say 1008) and waits for its goroutines. It may
// be called from OnMessage; it then does not wait for OnMessage to return.
func (c *Conn) CloseWith(code websocket.StatusCode, reason string) error {
	// Only the first close sends a close frame: a later Close must not
	// race it with another code (say 1000 over a 1008). The connection is
	// marked done inside the Once, so whoever sees Done and calls Close in
	// turn finds the first code already chosen.
	c.closeWSOnce.Do(func() {
		c.wsClosed = make(chan struct{})
		c.finish(ErrClosedLocally)
		if c.cork != nil {
			c.cork.stop()
		}
		go func() {
			c.ws.Close(code, reason)
			close(c.wsClosed)
		}()
	})
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-c.wsClosed:
	case <-t.C:
		c.cutNow()
	case <-c.cutChan():
		c.cutNow()
	}
	c.wait()
	return nil
}

// cutNow ends a close handshake under way by closing the network
// connection under the websocket: the library's CloseNow does nothing
// once its Close has begun. A websocket made elsewhere (NewConn), whose
// connection this package does not hold, gets CloseNow.
func (c *Conn) cutNow() {
	switch {
	case c.lean != nil:
		c.lean.Conn.Close()
	case c.cork != nil:
		c.cork.Conn.Close()
	default:
		c.ws.CloseNow()
	}
}

// Cut bounds the wait of this connection's close (CloseWith, under way or
// to come) for the peer's close frame by d from now, instead of 5 seconds:
// past it, the connection is closed without the peer's answer. A close
// frame written by then reaches a peer that reads all the same (with d of
// 0 the cut may come before it); one that stopped reading (a frozen tab,
// a dead network path) no longer holds the close.
func (c *Conn) Cut(d time.Duration) {
	ch := c.cutChan()
	c.cutOnce.Do(func() {
		time.AfterFunc(d, func() { close(ch) })
	})
}

// cutChan returns the channel Cut closes.
func (c *Conn) cutChan() chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut == nil {
		c.cut = make(chan struct{})
	}
	return c.cut
}

// wait waits for the connection's goroutines, except for the reader when it
// is running OnMessage (which may be what called Close: it ends as soon as
// OnMessage returns, the socket being closed).
func (c *Conn) wait() {
	c.wg.Wait()
	if c.dispatching.Load() {
		return
	}
	if c.manual && c.served.CompareAndSwap(false, true) {
		// Serve never called (and now never reads): no reader to
		// wait for.
		close(c.readDone)
	}
	<-c.readDone
}

// ErrClosedLocally is the Err of a connection closed by Close.
var ErrClosedLocally = errors.New("websocket: closed locally")
