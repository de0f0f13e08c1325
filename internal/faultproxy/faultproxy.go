// Package faultproxy is a TCP proxy on loopback for fault-injection tests:
// it forwards every connection it accepts to a target address and lets the
// test cut, freeze (stall) and delay each one, as a flaky network would.
//
// A frozen connection stops forwarding in both directions: what a peer
// writes is accepted by its kernel (its write succeeds) and held until the
// connection thaws, when it is delivered in order, or is cut, when it is
// lost. A cut closes both sides at once. A delay holds every chunk of data
// for that long before forwarding it.
//
// Every goroutine the proxy starts ends by Close.
package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by Proxy methods after Close.
var ErrClosed = errors.New("faultproxy: closed")

// Proxy accepts connections on a loopback address and forwards each to
// its target.
type Proxy struct {
	ln     net.Listener
	target atomic.Pointer[string] // the address new connections go to
	delay  atomic.Int64           // time.Duration applied to each forwarded chunk
	refuse atomic.Bool            // new connections are closed at once
	freeze atomic.Bool            // new connections start frozen

	mu     sync.Mutex
	conns  map[*Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// New starts a proxy on 127.0.0.1 (a free port) forwarding to target
// ("host:port", or "unix:PATH" for a Unix socket, such as a test
// PostgreSQL's).
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listening: %w", err)
	}
	p := &Proxy{ln: ln, conns: map[*Conn]struct{}{}}
	p.target.Store(&target)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address ("127.0.0.1:port") clients dial instead of the
// target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetTarget makes the connections accepted from now on go to target
// ("host:port"), as when the server behind an address is replaced by
// another; those open stay with the old one.
func (p *Proxy) SetTarget(target string) { p.target.Store(&target) }

// SetDelay makes every chunk of data forwarded from now on, in either
// direction, wait d first (0: none).
func (p *Proxy) SetDelay(d time.Duration) { p.delay.Store(int64(d)) }

// Refuse makes the proxy close the connections it accepts from now on at
// once (the target is unreachable), until Refuse(false).
func (p *Proxy) Refuse(on bool) { p.refuse.Store(on) }

// FreezeNew makes the connections accepted from now on start frozen (see
// Conn.Freeze; Thaw or Cut each), as a network path that accepts
// connections and then carries nothing; FreezeNew(false) ends that for
// those accepted after it.
func (p *Proxy) FreezeNew(on bool) { p.freeze.Store(on) }

// Conns returns the open connections, oldest first.
func (p *Proxy) Conns() []*Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*Conn, 0, len(p.conns))
	for c := range p.conns {
		out = append(out, c)
	}
	for i := 1; i < len(out); i++ { // few connections: insertion sort by id
		for j := i; j > 0 && out[j].id < out[j-1].id; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// CutAll cuts every open connection and returns how many there were.
func (p *Proxy) CutAll() int {
	cs := p.Conns()
	for _, c := range cs {
		c.Cut()
	}
	return len(cs)
}

// Close stops accepting, cuts every connection and waits for the proxy's
// goroutines to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.closed = true
	p.mu.Unlock()
	err := p.ln.Close()
	p.CutAll()
	p.wg.Wait()
	return err
}

var connIDs atomic.Uint64

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		if p.refuse.Load() {
			client.Close()
			continue
		}
		p.wg.Add(1)
		go p.serve(client)
	}
}

// dialTimeout bounds the connection to the target.
const dialTimeout = 10 * time.Second

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	network, addr := "tcp", *p.target.Load()
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		network, addr = "unix", path
	}
	server, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	cancel()
	if err != nil {
		client.Close()
		return
	}
	c := &Conn{id: connIDs.Add(1), client: client, server: server, thawed: make(chan struct{}), done: make(chan struct{})}
	if p.freeze.Load() {
		c.frozen = true
	} else {
		close(c.thawed)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		client.Close()
		server.Close()
		return
	}
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.pump(p, server, client) }()
	go func() { defer wg.Done(); c.pump(p, client, server) }()
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// Conn is one proxied connection.
type Conn struct {
	id     uint64
	client net.Conn // accepted from the dialer
	server net.Conn // dialed to the target

	mu     sync.Mutex
	frozen bool
	thawed chan struct{} // closed while not frozen
	cut    bool
	done   chan struct{} // closed by Cut
}

// Freeze stops forwarding in both directions until Thaw or Cut: data
// written meanwhile is held, as by a stalled network.
func (c *Conn) Freeze() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen || c.cut {
		return
	}
	c.frozen = true
	c.thawed = make(chan struct{})
}

// Thaw forwards again what a Freeze held, in order.
func (c *Conn) Thaw() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen {
		return
	}
	c.frozen = false
	close(c.thawed)
}

// Frozen reports whether the connection is frozen.
func (c *Conn) Frozen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frozen
}

// Cut closes both sides of the connection at once; data held by a freeze
// or a delay is lost.
func (c *Conn) Cut() {
	c.mu.Lock()
	if c.cut {
		c.mu.Unlock()
		return
	}
	c.cut = true
	close(c.done)
	c.mu.Unlock()
	c.client.Close()
	c.server.Close()
}

// pass waits while the connection is frozen; false once it is cut.
func (c *Conn) pass() bool {
	for {
		c.mu.Lock()
		cut, frozen, thawed := c.cut, c.frozen, c.thawed
		c.mu.Unlock()
		if cut {
			return false
		}
		if !frozen {
			return true
		}
		select {
		case <-thawed:
		case <-c.done:
			return false
		}
	}
}

// pump forwards src to dst until either ends or the connection is cut;
// then it cuts the connection (a TCP connection that ends one way ends
// both, for the peers these tests run).
func (c *Conn) pump(p *Proxy, dst, src net.Conn) {
	defer c.Cut()
	buf := make([]byte, 32<<10)
	for {
		if !c.pass() {
			return
		}
		n, err := src.Read(buf)
		if n > 0 {
			if d := time.Duration(p.delay.Load()); d > 0 {
				select {
				case <-time.After(d):
				case <-c.done:
					return
				}
			}
			// Read before a freeze began, written after it: held too.
			if !c.pass() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // io.EOF or a closed or broken connection
		}
	}
}
