package isocket

import (
	"context"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// maxBatch is the most bytes a corkConn holds back: a batch that reaches
// it is written at once, whoever holds it back.
const maxBatch = 64 << 10

// corkConn gathers websocket frames that are ready at the same moment into
// one write to the socket: one syscall and fewer TCP segments instead of one
// per frame. Frames stay separate websocket frames, in order; only their
// trip to the kernel is shared. Three things hold frames back, each for a
// bounded moment:
//
//   - The reader goroutine corks the socket while it handles the messages
//     it has received (cork): their ACKs and whatever handling them writes
//     (RESPONSEs, typically) wait until the reader is about to read from
//     the socket again, that is until it has handled every message already
//     received (its buffers hold a few KiB of them), or until maxBatch
//     bytes wait.
//   - A goroutine sending a message announces its write (enter) and
//     writes the socket itself after the websocket library has framed the
//     message and let go of its write lock (release); frames that other
//     goroutines frame meanwhile join its write.
//   - While one goroutine writes to the socket, frames framed meanwhile
//     wait for that write to end and then leave together in its next one.
//
// Frames written while nothing holds them back (the library's pings and
// close frames, say) go to the socket at once.
//
// It also bounds every write to the socket by the send timeout with a write
// deadline, which costs far less than a context with a timeout per message.
// The deadline is moved forward only when less than half the timeout is
// left, so a write has between half and all of the timeout; a write that
// misses it closes the socket (the connection is dead).
type corkConn struct {
	net.Conn
	timeout  time.Duration
	deadline time.Time // used by the flushing goroutine only

	mu       sync.Mutex
	idle     sync.Cond // broadcast when a flush ends
	corked   bool      // the reader handles messages: it flushes before it reads
	off      bool      // closing: no more corking
	deferred int       // writers between enter and release
	flushing bool      // a goroutine writes to the socket, outside mu
	buf      []byte    // frames waiting for the socket
	spare    []byte    // the other buffer, written by the flushing goroutine
	err      error     // the error of a failed socket write: every later Write returns it

	writes atomic.Int64 // socket writes made, for tests
}

func newCorkConn(nc net.Conn, timeout time.Duration) *corkConn {
	c := &corkConn{Conn: nc, timeout: timeout}
	c.idle.L = &c.mu
	return c
}

// Write takes the bytes of websocket frames (the library calls it under
// its write lock) and writes them now, or leaves them to whoever holds
// them back.
func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	c.buf = append(c.buf, p...)
	if len(c.buf) < maxBatch && (c.corked || c.deferred > 0 || c.flushing) {
		return len(p), nil
	}
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Read flushes what the reader's cork holds back before reading: the reader
// is about to wait for the peer.
func (c *corkConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.corked && len(c.buf) > 0 {
		// The reader has handled messages and is about to wait: the
		// goroutines they woke (handlers, callers) run first, here,
		// so that what they write at once shares this write rather
		// than take one each, after a wake-up of another thread.
		c.mu.Unlock()
		runtime.Gosched()
		c.mu.Lock()
	}
	c.corked = false
	if len(c.buf) > 0 && !c.flushing && c.deferred == 0 {
		c.flushLocked() //nolint:errcheck // a failed write closed the socket: the read fails too
	}
	c.mu.Unlock()
	return c.Conn.Read(p)
}

// flushLocked waits for a write in progress, then writes every waiting
// frame, releasing c.mu during the syscalls. It returns the error of a
// failed write (the socket is then closed). c.mu is held.
func (c *corkConn) flushLocked() error {
	for c.flushing {
		c.idle.Wait()
	}
	if c.err != nil || len(c.buf) == 0 {
		return c.err
	}
	c.flushing = true
	for len(c.buf) > 0 && c.err == nil {
		out := c.buf
		c.buf = c.spare[:0]
		c.mu.Unlock()
		err := c.writeNow(out)
		c.mu.Lock()
		if cap(out) > maxBatch {
			out = nil // don't keep a large table's frame around
		}
		c.spare = out[:0]
		if err != nil {
			c.err = err
		}
	}
	c.flushing = false
	c.idle.Broadcast()
	return c.err
}

// writeNow writes p to the socket; only the flushing goroutine calls it.
func (c *corkConn) writeNow(p []byte) error {
	if now := time.Now(); c.deadline.Sub(now) < c.timeout/2 {
		c.deadline = now.Add(c.timeout)
		if err := c.Conn.SetWriteDeadline(c.deadline); err != nil {
			c.Conn.Close()
			return err
		}
	}
	c.writes.Add(1)
	if _, err := c.Conn.Write(p); err != nil {
		c.Conn.Close()
		return err
	}
	return nil
}

// cork holds back the reader's writes until it reads again.
func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = !c.off
	c.mu.Unlock()
}

// enter announces a write of the calling goroutine, which calls release
// once the library has taken its frame.
func (c *corkConn) enter() {
	c.mu.Lock()
	c.deferred++
	c.mu.Unlock()
}

// release ends the write announced by enter: unless someone else will write
// what waits (the corked reader, a write in progress, another announced
// writer), it writes it now. Its error is that of a failed write of these
// frames: they were not delivered.
func (c *corkConn) release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deferred--
	if c.corked || c.flushing || c.deferred > 0 {
		return nil
	}
	return c.flushLocked()
}

// stop flushes and ends corking for good: a close frame written while the
// reader is busy must not wait for it.
func (c *corkConn) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off = true
	c.corked = false
	if c.deferred == 0 {
		c.flushLocked() //nolint:errcheck // a failed write closed the socket
	}
}

// corkingClient returns an HTTP client for one websocket upgrade whose
// connection is a corkConn with the given write timeout, stored in *slot
// once dialed.
func corkingClient(slot **corkConn, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cc := newCorkConn(nc, timeout)
		*slot = cc
		return cc, nil
	}
	return &http.Client{Transport: tr}
}
