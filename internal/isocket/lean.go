package isocket

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Accept upgrades an HTTP request to a websocket, as websocket.Accept does,
// on a connection that keeps no buffer of its own while it waits for the
// next frame.
//
// websocket.Accept keeps the HTTP server's bufio reader and writer of the
// hijacked connection, 4 KiB each, for the life of the socket, idle or not:
// on a server holding thousands of idle console sockets, most of their
// memory. Here the library gets a 16-byte reader and a 1-byte writer over a
// leanConn instead, which reads into a pooled buffer only once data has
// arrived (where the platform lets it wait for readability without a
// buffer) and writes each frame, header and payload, in one writev. When the
// hijacked connection is not a plain socket (TLS, say), the library keeps
// the HTTP server's buffers as websocket.Accept would.
//
// Every write to the socket is bounded by a write deadline
// (DefaultSendTimeout), so that a Conn made with Socket.Start or
// Socket.NewConn needs no context per message to bound it.
func Accept(w http.ResponseWriter, r *http.Request, opts *websocket.AcceptOptions) (*Socket, error) {
	lw := &leanWriter{ResponseWriter: w}
	ws, err := websocket.Accept(lw, r, opts)
	if err != nil {
		return nil, fmt.Errorf("isocket: accept: %w", err)
	}
	return &Socket{Conn: ws, lean: lw.lean}, nil
}

// Socket is a websocket of Accept, to refuse (its Close) or to serve as a
// Conn (Start, NewConn).
type Socket struct {
	*websocket.Conn
	lean *leanConn // nil when the hijacked connection is not a plain socket
}

// NewConn is NewConn on the socket: its writes are bounded by their
// deadline and may be gathered by Conn.Batch.
func (s *Socket) NewConn(cfg Config) *Conn { return newConn(s.Conn, cfg, nil, s, false) }

// Start is Start on the socket (see NewConn).
func (s *Socket) Start(cfg Config) *Conn { return newConn(s.Conn, cfg, nil, s, true) }

// leanWriter is an http.ResponseWriter whose Hijack hands out a leanConn
// (kept in lean).
type leanWriter struct {
	http.ResponseWriter
	lean *leanConn
}

// Unwrap returns the ResponseWriter under w (for http.ResponseController).
func (w *leanWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hijacks the HTTP connection and, where it can, wraps it in a
// leanConn with small bufio buffers over it.
func (w *leanWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("isocket: hijack: %w", err)
	}
	if err := brw.Writer.Flush(); err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("isocket: hijack: flushing: %w", err)
	}
	lc := newLeanConn(nc)
	if lc == nil {
		// Not a plain socket: the library keeps the HTTP server's
		// reader, and writes through a buffer of its own over a
		// connection that bounds each write by a deadline.
		dc := &deadlineConn{Conn: nc}
		return dc, bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(dc, 4<<10)), nil
	}
	w.lean = lc
	if n := brw.Reader.Buffered(); n > 0 {
		// Bytes the client sent right after its upgrade request.
		b, _ := brw.Reader.Peek(n)
		c := getChunk()
		lc.chunk, lc.r, lc.w = c, 0, copy(*c, b)
	}
	// 16 bytes is bufio's smallest reader; a 1-byte writer passes every
	// write of the library (a frame header, then its payload) straight to
	// lc, which puts them together.
	return lc, bufio.NewReadWriter(bufio.NewReaderSize(lc, 16), bufio.NewWriterSize(lc, 1)), nil
}

// chunkSize is the size of a pooled read buffer, the size of the HTTP
// server's bufio reader it replaces.
const chunkSize = 4 << 10

var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

func getChunk() *[]byte  { return chunkPool.Get().(*[]byte) }
func putChunk(b *[]byte) { chunkPool.Put(b) }

// leanConn is a hijacked socket read and written by the websocket library
// (its Read by the reading goroutine only, its Write under the library's
// frame lock only, so each side is used by one goroutine at a time).
//
// Reads: while no data waits, a Read waits for readability holding no
// buffer (waitRead, per platform), then reads what arrived into a pooled
// chunk, which goes back to the pool once consumed.
//
// Writes: the library writes a frame as its header then its payload; Write
// follows the frame format to hold the header (at most 14 bytes, in the
// struct) until the payload comes and writes both in one writev, so a
// frame is still one syscall, as it was through a 4 KiB bufio.Writer.
type leanConn struct {
	net.Conn
	rd rawReader
	wd writeDeadline

	// Read side.
	chunk *[]byte // pooled; nil when no received byte waits
	r, w  int     // unread bytes are (*chunk)[r:w]

	// Write side: the frame being written.
	hdr     [14]byte
	hn      int   // header bytes gathered
	hlen    int   // full header length, known once hn >= 2
	left    int64 // payload bytes of the frame still to come, once the header is complete
	hdrDone bool  // the header is complete
	hdrSent bool  // and written
	vec     [2][]byte
	bufs    net.Buffers

	// corkMu guards the writing of frames (the library's writer, under
	// its frame lock) against cork and uncork (Conn.Batch, from another
	// goroutine): while corked, the frames' bytes gather in corkBuf, in
	// order, and uncork writes them in one write.
	corkMu  sync.Mutex
	corks   int     // nested corks
	corkBuf *[]byte // from corkBufs while frames are held; nil otherwise

	writes atomic.Int64 // socket writes made, for tests
}

// Read reads into p what waits in the chunk, or else waits for data and
// reads it.
func (c *leanConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.chunk == nil {
		if len(p) >= chunkSize {
			// The library's buffer for a large payload: no need
			// for a chunk of ours.
			return c.Conn.Read(p)
		}
		b, n, err := c.rd.read()
		if err != nil {
			return 0, err
		}
		c.chunk, c.r, c.w = b, 0, n
	}
	n := copy(p, (*c.chunk)[c.r:c.w])
	c.r += n
	if c.r == c.w {
		putChunk(c.chunk)
		c.chunk = nil
	}
	return n, nil
}

// Write takes the bytes of websocket frames, in order, and writes each
// frame's header together with its payload.
func (c *leanConn) Write(p []byte) (int, error) {
	c.corkMu.Lock()
	defer c.corkMu.Unlock()
	n, err := c.write(p)
	if err != nil {
		// The library leaves the connection open after a failed write;
		// closing it ends the reader, so the connection ends and every
		// message waiting for its ACK learns of it.
		c.Conn.Close()
	}
	return n, err
}

func (c *leanConn) write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		if !c.hdrDone {
			c.hdr[c.hn] = p[0]
			c.hn++
			p = p[1:]
			if c.hn == 2 {
				c.hlen = 2
				switch c.hdr[1] & 0x7f {
				case 126:
					c.hlen += 2
				case 127:
					c.hlen += 8
				}
				if c.hdr[1]&0x80 != 0 {
					c.hlen += 4 // masking key
				}
			}
			if c.hn < 2 || c.hn < c.hlen {
				continue
			}
			c.hdrDone = true
			c.left = c.payloadLen()
			if c.left == 0 {
				if err := c.out(c.hdr[:c.hn], nil); err != nil {
					return total - len(p), err
				}
				c.resetFrame()
			}
			continue
		}
		k := min(int64(len(p)), c.left)
		part := p[:k]
		var err error
		if !c.hdrSent {
			err = c.out(c.hdr[:c.hn], part)
			c.hdrSent = true
		} else {
			err = c.out(part, nil)
		}
		if err != nil {
			return total - len(p), err
		}
		p = p[k:]
		c.left -= k
		if c.left == 0 {
			c.resetFrame()
		}
	}
	return total, nil
}

// out writes a then b (which may be nil) to the socket in one syscall, or
// appends them to corkBuf while corked; c.corkMu is held.
func (c *leanConn) out(a, b []byte) error {
	if c.corks > 0 {
		if c.corkBuf == nil {
			c.corkBuf = corkBufs.Get().(*[]byte)
		}
		*c.corkBuf = append(append(*c.corkBuf, a...), b...)
		return nil
	}
	if err := c.wd.arm(c.Conn); err != nil {
		return err
	}
	c.writes.Add(1)
	var err error
	if b == nil {
		_, err = c.Conn.Write(a)
	} else {
		c.vec[0], c.vec[1] = a, b
		c.bufs = c.vec[:]
		_, err = c.bufs.WriteTo(c.Conn)
		c.vec[0], c.vec[1], c.bufs = nil, nil, nil
	}
	return err
}

// cork holds the frames written from now on until uncork (corks nest:
// the last uncork writes).
func (c *leanConn) cork() {
	c.corkMu.Lock()
	c.corks++
	c.corkMu.Unlock()
}

// uncork ends a cork; the last writes the frames held in one write. A
// failed write closes the socket, as Write does.
func (c *leanConn) uncork() error {
	c.corkMu.Lock()
	defer c.corkMu.Unlock()
	c.corks--
	if c.corks > 0 || c.corkBuf == nil {
		return nil
	}
	b := c.corkBuf
	c.corkBuf = nil
	err := c.out(*b, nil)
	if cap(*b) <= maxPooledMessage { // a large table's frame is not kept
		*b = (*b)[:0]
		corkBufs.Put(b)
	}
	if err != nil {
		c.Conn.Close()
	}
	return err
}

// corkBufs holds the buffers of corked frames: a socket holds one only
// while it is corked, so an idle socket keeps none.
var corkBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// payloadLen decodes the payload length of the complete header in c.hdr.
func (c *leanConn) payloadLen() int64 {
	switch l := c.hdr[1] & 0x7f; l {
	case 126:
		return int64(c.hdr[2])<<8 | int64(c.hdr[3])
	case 127:
		var n int64
		for _, b := range c.hdr[2:10] {
			n = n<<8 | int64(b)
		}
		return n
	default:
		return int64(l)
	}
}

func (c *leanConn) resetFrame() {
	c.hn, c.hlen, c.left, c.hdrDone, c.hdrSent = 0, 0, 0, false, false
}

// writeTimeout bounds every write to a socket of Accept: a write stuck
// that long means the connection is dead (the peer reads nothing), and
// fails, which closes the connection. It is DefaultSendTimeout, the bound
// of a message's trip on any connection.
var writeTimeout = DefaultSendTimeout

// writeDeadline keeps a connection's write deadline between half and all
// of writeTimeout ahead: moved only when less than half is left, so most
// writes set nothing, and a write never waits past writeTimeout.
// Writes of a socket of Accept then need no context with a timeout of
// their own, which costs a timer and a hook in the library per frame.
type writeDeadline struct{ at time.Time }

// arm moves the deadline of nc forward if needed; the caller writes next.
func (d *writeDeadline) arm(nc net.Conn) error {
	if now := time.Now(); d.at.Sub(now) < writeTimeout/2 {
		d.at = now.Add(writeTimeout)
		if err := nc.SetWriteDeadline(d.at); err != nil {
			return err
		}
	}
	return nil
}

// deadlineConn is a hijacked connection other than a plain socket whose
// writes are bounded by writeTimeout (under the library's frame lock, so
// by one goroutine at a time).
type deadlineConn struct {
	net.Conn
	wd writeDeadline
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	err := c.wd.arm(c.Conn)
	n := 0
	if err == nil {
		n, err = c.Conn.Write(p)
	}
	if err != nil {
		c.Conn.Close() // as leanConn.Write
	}
	return n, err
}
