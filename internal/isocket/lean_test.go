package isocket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// leanServer serves /websocket the way package server serves console
// sockets: Accept (lean buffers), Start, and the handler's goroutine
// reading with Serve. Every connection shares pinger when it is set.
// Each one echoes "echo:"+m for every message m; the server's Conns are
// sent on conns.
func leanServer(t testing.TB, cfg Config, conns chan<- *Conn) string {
	t.Helper()
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := Accept(w, r, nil)
		if err != nil {
			t.Errorf("Accept: %v", err)
			return
		}
		wg.Add(1)
		defer wg.Done()
		var c *Conn
		cfg := cfg
		cfg.OnMessage = func(s string) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.Send(context.Background(), "echo:"+s) //nolint:errcheck
			}()
		}
		c = ws.Start(cfg)
		if conns != nil {
			conns <- c
		}
		go c.SendAuthenticated(context.Background()) //nolint:errcheck
		c.Serve()
		c.Close()
	}))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		wg.Wait()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/websocket"
}

// A socket accepted with Accept and read by Serve exchanges small and
// large messages both ways, in order, and ends when either side closes.
func TestLeanServeExchange(t *testing.T) {
	conns := make(chan *Conn, 1)
	url := leanServer(t, Config{}, conns)
	msgs := make(chan string, 100)
	c := dial(t, url, Config{OnMessage: func(s string) { msgs <- s }})
	sc := <-conns
	big := strings.Repeat("0123456789abcdef", 70<<10/16) // past a 64 KiB frame length
	mid := strings.Repeat("x", 300)                      // a 126-length header
	for _, m := range []string{"a", mid, big, "", "b"} {
		if err := c.SendTimeout(context.Background(), m, hang); err != nil {
			t.Fatalf("Send %d bytes: %v", len(m), err)
		}
		if got := recv(t, msgs); got != "echo:"+m {
			t.Fatalf("got %d bytes, want %d", len(got), len(m)+5)
		}
	}
	c.Close()
	waitDone(t, sc)
}

// Serve returns when the connection is closed from another goroutine,
// and Close of a connection never served does not wait for a reader.
func TestStartServeClose(t *testing.T) {
	conns := make(chan *Conn, 1)
	url := leanServer(t, Config{}, conns)
	c := dial(t, url, Config{})
	sc := <-conns
	sc.Close()
	waitDone(t, c)

	a, b := wsPair(t)
	defer b.CloseNow()
	never := Start(a, Config{DisablePing: true})
	done := make(chan struct{})
	go func() { never.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(hang):
		t.Fatal("Close of a connection never served hung")
	}
	never.Serve() // returns at once
}

// Serve on a connection that has its own reader is a programming error.
func TestServeOnNewConnPanics(t *testing.T) {
	a, b := wsPair(t)
	defer b.CloseNow()
	go readAll(b)
	c := NewConn(a, Config{DisablePing: true})
	defer c.Close()
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	c.Serve()
}

// wsPair returns the two ends of a websocket over loopback TCP, the
// first accepted with Accept.
func wsPair(t testing.TB) (server, client *websocket.Conn) {
	t.Helper()
	ch := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := Accept(w, r, nil)
		if err != nil {
			t.Errorf("Accept: %v", err)
			return
		}
		ch <- ws.Conn
	}))
	t.Cleanup(srv.Close)
	client, _, err := websocket.Dial(context.Background(), srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return <-ch, client
}

// A server socket whose peer stops answering pings is closed with
// ErrUnresponsive by the shared pinger, as by its own ping goroutine; the
// pinger then no longer holds it.
func TestPingerClosesUnresponsive(t *testing.T) {
	p := NewPinger()
	defer p.Close()
	a, b := wsPair(t)
	defer b.CloseNow() // b is never read: a's pings get no pong
	c := Start(a, Config{
		Pinger:                   p,
		PingInterval:             5 * time.Millisecond,
		PingTimeout:              10 * time.Millisecond,
		CloseUnresponsiveTimeout: 50 * time.Millisecond,
	})
	if n := p.Len(); n != 1 {
		t.Fatalf("pinger holds %d connections, want 1", n)
	}
	go c.Serve()
	waitDone(t, c)
	if !errors.Is(c.Err(), ErrUnresponsive) {
		t.Fatalf("Err = %v, want ErrUnresponsive", c.Err())
	}
	c.Close()
	if n := p.Len(); n != 0 {
		t.Fatalf("pinger holds %d connections after the close, want 0", n)
	}
}

// The shared pinger pings every connection (their last pong moves) while
// their peers answer, and they stay open.
func TestPingerKeepsAlive(t *testing.T) {
	p := NewPinger()
	defer p.Close()
	cfg := Config{Pinger: p, PingInterval: 2 * time.Millisecond, PingTimeout: hang, CloseUnresponsiveTimeout: 20 * time.Millisecond}
	conns := make(chan *Conn, 3)
	url := leanServer(t, cfg, conns)
	var server []*Conn
	for range 3 {
		dial(t, url, Config{DisablePing: true})
		server = append(server, <-conns)
	}
	for _, sc := range server {
		first := sc.LastPong()
		deadline := time.After(hang)
		for pongs, last := 0, first; pongs < 5 || time.Since(first) < 3*cfg.CloseUnresponsiveTimeout; {
			select {
			case <-sc.Done():
				t.Fatalf("answered pings, still closed: %v", sc.Err())
			case <-deadline:
				t.Fatalf("only %d pongs", pongs)
			case <-time.After(time.Millisecond):
			}
			if lp := sc.LastPong(); lp.After(last) {
				pongs++
				last = lp
			}
		}
	}
	if n := p.Len(); n != 3 {
		t.Fatalf("pinger holds %d connections, want 3", n)
	}
}

// Close stops the pinger's goroutine (goleak checks it ended); a
// connection added after it is not pinged, and a pinger never given a
// connection never started one.
func TestPingerClose(t *testing.T) {
	idle := NewPinger()
	idle.Close()
	if idle.running() {
		t.Fatal("a pinger with no connection runs")
	}
	p := NewPinger()
	a, b := wsPair(t)
	defer b.CloseNow()
	go readAll(b)
	c := Start(a, Config{Pinger: p, PingInterval: time.Millisecond})
	go c.Serve()
	if !p.running() {
		t.Fatal("pinger not running with a connection")
	}
	p.Close()
	if p.running() {
		t.Fatal("pinger running after Close")
	}
	a2, b2 := wsPair(t)
	defer b2.CloseNow()
	go readAll(b2)
	c2 := Start(a2, Config{Pinger: p})
	go c2.Serve()
	if n := p.Len(); n != 1 { // c only
		t.Fatalf("pinger holds %d connections, want 1", n)
	}
	c.Close()
	c2.Close()
}

// readAll reads ws until it fails, answering its pings and close.
func readAll(ws *websocket.Conn) {
	for {
		if _, _, err := ws.Read(context.Background()); err != nil {
			return
		}
	}
}

// tcpPair returns two ends of a loopback TCP connection.
func tcpPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		ch <- c
	}()
	a, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-ch
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// frame encodes an unmasked websocket frame header for a payload of n
// bytes, and the payload.
func frame(op byte, n int) []byte {
	var h []byte
	switch {
	case n < 126:
		h = []byte{0x80 | op, byte(n)}
	case n < 1<<16:
		h = []byte{0x80 | op, 126, byte(n >> 8), byte(n)}
	default:
		h = []byte{0x80 | op, 127, 0, 0, 0, 0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	}
	p := make([]byte, n)
	for i := range p {
		p[i] = byte('a' + i%26)
	}
	return append(h, p...)
}

// leanConn.Write passes a stream of frames through unchanged however the
// writes split it: frames with empty, short, 16-bit and 64-bit lengths,
// written whole, as header then payload, and a byte at a time.
func TestLeanConnWriteFraming(t *testing.T) {
	a, b := tcpPair(t)
	lc := newLeanConn(a)
	if lc == nil {
		t.Skip("no lean connections on this platform")
	}
	var stream []byte
	for _, n := range []int{0, 5, 125, 126, 300, 70000} {
		stream = append(stream, frame(1, n)...)
	}
	var want bytes.Buffer
	got := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 3*len(stream))
		_, err := io.ReadFull(b, buf)
		if err != nil {
			t.Errorf("read: %v", err)
		}
		got <- buf
	}()
	write := func(p []byte) {
		t.Helper()
		if n, err := lc.Write(p); err != nil || n != len(p) {
			t.Fatalf("Write: %d, %v", n, err)
		}
		want.Write(p)
	}
	write(stream) // whole
	for i := 0; i < len(stream); {
		f := stream[i:]
		hl := 2
		switch f[1] & 0x7f {
		case 126:
			hl = 4
		case 127:
			hl = 10
		}
		plen := int(lenOf(f))
		write(f[:hl]) // header, then payload in two parts
		if plen > 0 {
			write(f[hl : hl+plen/2])
			write(f[hl+plen/2 : hl+plen])
		}
		i += hl + plen
	}
	for i := range stream { // a byte at a time
		write(stream[i : i+1])
	}
	select {
	case g := <-got:
		if !bytes.Equal(g, want.Bytes()) {
			t.Fatal("bytes on the wire differ from the frames written")
		}
	case <-time.After(hang):
		t.Fatal("not all written")
	}
	if lc.hdrDone || lc.hn != 0 {
		t.Fatalf("frame state not reset: %+v", lc.hn)
	}
}

// lenOf decodes the payload length of the frame starting f.
func lenOf(f []byte) int64 {
	c := &leanConn{}
	copy(c.hdr[:], f[:min(len(f), 14)])
	return c.payloadLen()
}

// leanConn.Read holds a pooled chunk only while received bytes wait in it:
// none before data comes, none once it is all read.
func TestLeanConnReadReleasesChunk(t *testing.T) {
	a, b := tcpPair(t)
	lc := newLeanConn(a)
	if lc == nil {
		t.Skip("no lean connections on this platform")
	}
	msg := bytes.Repeat([]byte("0123456789"), 10)
	go b.Write(msg) //nolint:errcheck
	p := make([]byte, 16)
	var got []byte
	for len(got) < len(msg) {
		n, err := lc.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p[:n]...)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("read %q", got)
	}
	if lc.chunk != nil {
		t.Fatal("chunk kept after every byte was read")
	}
	b.Close()
	if _, err := lc.Read(p); !errors.Is(err, io.EOF) {
		t.Fatalf("Read at the end: %v, want io.EOF", err)
	}
	if lc.chunk != nil {
		t.Fatal("chunk kept at the end of the stream")
	}
}

// On a Socket of Accept, a write to a peer that reads
// nothing fails once the connection's write deadline passes, and ends the
// connection, with no context of its own bounding it.
func TestAcceptedStuckWriteEndsConnection(t *testing.T) {
	old := writeTimeout
	writeTimeout = 200 * time.Millisecond
	t.Cleanup(func() { writeTimeout = old })
	conns := make(chan *Conn, 1)
	url := leanServer(t, Config{}, conns)
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	// The authenticated message, left unacknowledged; then nothing is read.
	if _, _, err := ws.Read(ctx); err != nil {
		t.Fatal(err)
	}
	sc := <-conns
	writeUntilStuck(t, sc)
	waitDone(t, sc)
}

// Messages are read into pooled buffers: what a frame's data became stays
// intact while later messages reuse the buffer.
func TestPooledReadsKeepData(t *testing.T) {
	conns := make(chan *Conn, 1)
	url := leanServer(t, Config{}, conns)
	msgs := make(chan string, 100)
	c := dial(t, url, Config{OnMessage: func(s string) { msgs <- s }})
	<-conns
	var got []string
	for i := range 20 {
		m := strings.Repeat(string(rune('a'+i)), 100+i*50)
		if err := c.SendTimeout(context.Background(), m, hang); err != nil {
			t.Fatal(err)
		}
		got = append(got, recv(t, msgs))
	}
	for i, g := range got {
		if want := "echo:" + strings.Repeat(string(rune('a'+i)), 100+i*50); g != want {
			t.Fatalf("message %d changed after later reads: %.20q…", i, g)
		}
	}
}

// heldServer accepts one socket holding ACKs for hold and hands its Conn
// and the messages it gets to the test.
func heldServer(t *testing.T, hold time.Duration) (url string, conns <-chan *Conn, msgs <-chan string) {
	t.Helper()
	cc := make(chan *Conn, 1)
	mc := make(chan string, 100)
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sock, err := Accept(w, r, nil)
		if err != nil {
			t.Errorf("Accept: %v", err)
			return
		}
		wg.Add(1)
		defer wg.Done()
		c := sock.NewConn(Config{AckHold: hold, OnMessage: func(s string) { mc <- s }})
		if err := c.SendAuthenticated(context.Background()); err != nil {
			t.Errorf("authenticated: %v", err)
		}
		cc <- c
		<-c.Done()
	}))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		wg.Wait()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/websocket", cc, mc
}

// With AckHold the ACK of a message waits for FlushAcks; in a Batch the
// held ACKs and the messages posted leave in one write to the socket, each
// its own frame, in order.
func TestHeldAcksLeaveWithTheAnswer(t *testing.T) {
	url, conns, msgs := heldServer(t, hang)
	got := make(chan string, 10)
	c := dial(t, url, Config{OnMessage: func(s string) { got <- s }})
	sc := <-conns

	acked := make(chan error, 2)
	for _, m := range []string{"one", "two"} {
		if err := c.Post(context.Background(), m, hang, func(err error) { acked <- err }); err != nil {
			t.Fatal(err)
		}
		if s := recv(t, msgs); s != m {
			t.Fatalf("server got %q, want %q", s, m)
		}
	}
	select {
	case err := <-acked:
		t.Fatalf("a held ACK arrived before FlushAcks (%v)", err)
	case <-time.After(50 * time.Millisecond):
	}

	before := sc.lean.writes.Load()
	sc.Batch(func() {
		sc.FlushAcks()
		for _, m := range []string{"answer one", "answer two"} {
			if err := sc.Post(context.Background(), m, hang, func(error) {}); err != nil {
				t.Error(err)
			}
		}
	})
	if n := sc.lean.writes.Load() - before; n != 1 {
		t.Fatalf("two ACKs and two messages took %d writes, want 1", n)
	}
	for range 2 {
		select {
		case err := <-acked:
			if err != nil {
				t.Fatalf("ACK: %v", err)
			}
		case <-time.After(hang):
			t.Fatal("held ACK never came")
		}
	}
	for _, want := range []string{"answer one", "answer two"} {
		if s := recv(t, got); s != want {
			t.Fatalf("client got %q, want %q (in order)", s, want)
		}
	}
	// Control messages are acknowledged at once: the client's ping
	// message is, with nothing held.
	if err := c.SendTimeout(context.Background(), "ping", hang); err != nil {
		t.Fatalf("ping not acknowledged without FlushAcks: %v", err)
	}
}

// An ACK held and never flushed goes out once AckHold passed.
func TestHeldAckBounded(t *testing.T) {
	url, conns, msgs := heldServer(t, 20*time.Millisecond)
	c := dial(t, url, Config{})
	<-conns
	for i := range 3 { // the timer is armed again for each
		if err := c.SendTimeout(context.Background(), fmt.Sprint("m", i), hang); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		recv(t, msgs)
	}
}
