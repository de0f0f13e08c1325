package isocket

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
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
//   - While one goroutine writes to the socket, frames framed meanwhile
//     wait for that write to end and then leave together in its next one.
//
// Frames written while nothing holds them back go to the socket at once.
// The connection frames its own MESSAGE and ACK frames (WriteText); the
// library writes only its control frames (pings, pongs, close).
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
	off      bool      // closing: no more corking, no more WriteText
	flushing bool      // a goroutine writes to the socket, outside mu
	buf      []byte    // frames waiting for the socket
	spare    []byte    // the other buffer, written by the flushing goroutine
	err      error     // the error of a failed socket write: every later Write returns it
	// ACKs held for the next write: ackOnly is set while buf holds
	// nothing but ACK frames (WriteAck), which the reader, about to read,
	// leaves for up to ackHold to whatever is written next (holding,
	// holdTimer armed); overdue is set when the timer fired while the
	// reader was busy, so that its next read writes them.
	ackOnly   bool
	ackHold   time.Duration
	holding   bool
	overdue   bool
	holdTimer *time.Timer

	writes atomic.Int64 // socket writes made, for tests
}

// maxAckHold is the longest an ACK waits for another frame to share its
// write; a tenth of the send timeout when that is shorter.
const maxAckHold = 5 * time.Millisecond

func newCorkConn(nc net.Conn, timeout time.Duration) *corkConn {
	c := &corkConn{Conn: nc, timeout: timeout, ackHold: min(maxAckHold, timeout/10)}
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
	c.ackOnly = false
	c.buf = append(c.buf, p...)
	if len(c.buf) < maxBatch && (c.corked || c.flushing) {
		return len(p), nil
	}
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteText frames payload as one masked websocket text frame (the frames
// a client sends) and writes it as Write writes the library's frames: now,
// or with the frames waiting. It is how the connection sends its MESSAGE
// and ACK frames without the websocket library's write path (its locks,
// its buffer, a random read per mask): the library still writes its
// control frames (pings, pongs, close), each whole in one Write. After
// stop (the connection closing) it fails with net.ErrClosed, as the
// library fails a write once its close frame is sent.
func (c *corkConn) WriteText(payload []byte) error {
	return c.writeText(payload, false)
}

// WriteAck is WriteText for the frame of an ACK the reader sends: when
// nothing but ACKs waits as the reader is about to read, they wait up to
// ackHold for another frame to share their write (the next answer or call
// of this host, typically, or the ACK and answer of the next message),
// rather than take a write of their own.
func (c *corkConn) WriteAck(payload []byte) error {
	return c.writeText(payload, true)
}

func (c *corkConn) writeText(payload []byte, ack bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	if c.off {
		return net.ErrClosed
	}
	c.ackOnly = ack && (c.ackOnly || len(c.buf) == 0)
	c.buf = appendTextFrame(c.buf, payload, rand.Uint32())
	if len(c.buf) < maxBatch && (c.corked || c.flushing) {
		return nil
	}
	return c.flushLocked()
}

// appendTextFrame appends to b a final text frame of payload, masked with
// key (RFC 6455 section 5.2).
func appendTextFrame(b, payload []byte, key uint32) []byte {
	const finText = 0x80 | 0x1
	n := len(payload)
	switch {
	case n <= 125:
		b = append(b, finText, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, finText, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, finText, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = binary.LittleEndian.AppendUint32(b, key)
	start := len(b)
	b = append(b, payload...)
	p := b[start:]
	k8 := uint64(key) | uint64(key)<<32
	i := 0
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^k8)
	}
	for ; i < len(p); i++ {
		p[i] ^= byte(key >> (8 * (i & 3)))
	}
	return b
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
	switch {
	case len(c.buf) == 0 || c.flushing:
	case c.ackOnly && c.ackHold > 0 && !c.overdue && !c.off:
		if !c.holding {
			c.holding = true
			if c.holdTimer == nil {
				c.holdTimer = time.AfterFunc(c.ackHold, c.flushHeld)
			} else {
				c.holdTimer.Reset(c.ackHold)
			}
		}
	default:
		c.flushLocked() //nolint:errcheck // a failed write closed the socket: the read fails too
	}
	c.mu.Unlock()
	return c.Conn.Read(p)
}

// flushHeld writes the ACKs held once ackHold has passed, unless a write
// took them meanwhile; if the reader is busy, its next read writes them.
func (c *corkConn) flushHeld() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.holding {
		return // written meanwhile
	}
	c.holding = false
	switch {
	case len(c.buf) == 0 || c.flushing: // the flushing goroutine writes them
	case c.corked:
		c.overdue = true
	default:
		c.flushLocked() //nolint:errcheck // a failed write closed the socket
	}
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
	c.overdue = false
	if c.holding { // the ACKs held went out
		c.holding = false
		c.holdTimer.Stop()
	}
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

// stop flushes and ends corking for good: a close frame written while the
// reader is busy must not wait for it.
func (c *corkConn) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off = true
	c.corked = false
	c.flushLocked() //nolint:errcheck // a failed write closed the socket
	if c.holding {  // the write failed: nothing waits any more
		c.holding = false
		c.holdTimer.Stop()
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
