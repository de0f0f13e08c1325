package isocket

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// corkConn lets the reader goroutine gather the frames it writes while it
// handles one message (the ACK, then usually the RESPONSE) into a single
// write to the socket: one syscall and one TCP segment instead of two.
// Frames stay separate websocket frames, in order; only their trip to the
// kernel is shared. Writes by other goroutines while corked join the batch.
//
// It also bounds every write to the socket by the send timeout with a write
// deadline, which costs far less than a context with a timeout per message.
// The deadline is moved forward only when less than half the timeout is
// left, so a write has between half and all of the timeout; a write that
// misses it closes the socket (the connection is dead).
type corkConn struct {
	net.Conn
	timeout  time.Duration
	deadline time.Time

	mu     sync.Mutex
	corked bool
	off    bool // closing: no more batching
	buf    []byte
	err    error // the error of a batched write, returned by the next Write
}

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if c.corked {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	return c.writeNow(p)
}

// writeNow writes p to the socket; c.mu is held.
func (c *corkConn) writeNow(p []byte) (int, error) {
	if now := time.Now(); c.deadline.Sub(now) < c.timeout/2 {
		c.deadline = now.Add(c.timeout)
		if err := c.Conn.SetWriteDeadline(c.deadline); err != nil {
			return 0, err
		}
	}
	n, err := c.Conn.Write(p)
	if err != nil {
		c.err = err
		c.Conn.Close()
	}
	return n, err
}

func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = !c.off
	c.mu.Unlock()
}

// stop flushes and ends batching for good: a close frame written while the
// reader is busy must not wait for it.
func (c *corkConn) stop() {
	c.mu.Lock()
	c.off = true
	c.mu.Unlock()
	c.uncork()
}

// uncork writes what was gathered. A failed write closes the socket, so the
// connection ends and every message waiting for its ACK learns of it.
func (c *corkConn) uncork() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	if len(c.buf) == 0 || c.err != nil {
		return
	}
	c.writeNow(c.buf) //nolint:errcheck // a failed write closed the socket
	if cap(c.buf) > 64<<10 {
		c.buf = nil // don't keep a large table's frame around
	} else {
		c.buf = c.buf[:0]
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
		cc := &corkConn{Conn: nc, timeout: timeout}
		*slot = cc
		return cc, nil
	}
	return &http.Client{Transport: tr}
}
