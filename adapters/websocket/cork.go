package websocket

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
type corkConn struct {
	net.Conn
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
	return c.Conn.Write(p)
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
	_, err := c.Conn.Write(c.buf)
	if cap(c.buf) > 64<<10 {
		c.buf = nil // don't keep a large table's frame around
	} else {
		c.buf = c.buf[:0]
	}
	if err != nil {
		c.err = err
		c.Conn.Close()
	}
}

// corkingClient returns an HTTP client for one websocket upgrade whose
// connection is a corkConn, stored in *slot once dialed.
func corkingClient(slot **corkConn) *http.Client {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cc := &corkConn{Conn: nc}
		*slot = cc
		return cc, nil
	}
	return &http.Client{Transport: tr}
}
