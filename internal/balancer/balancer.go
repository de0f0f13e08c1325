// Package balancer is a TCP load balancer for tests of several servers,
// behaving as nginx's upstream with proxy_next_upstream error: each new
// connection goes to a backend that accepts it, the next one when one
// refuses. It copies bytes and knows nothing of HTTP or websockets.
package balancer

import (
	"io"
	"net"
	"sync"
	"time"
)

// Policy picks the order in which backends are tried for a connection.
type Policy int

const (
	// Failover tries the backends in the order given: the first that
	// accepts takes every connection.
	Failover Policy = iota
	// RoundRobin starts each connection at the next backend in turn.
	RoundRobin
)

// Balancer listens on a loopback address and forwards connections.
type Balancer struct {
	l        net.Listener
	policy   Policy
	backends []string

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// Start listens on 127.0.0.1 and forwards to backends (host:port) by
// policy until Close.
func Start(policy Policy, backends ...string) (*Balancer, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &Balancer{l: l, policy: policy, backends: backends, conns: map[net.Conn]struct{}{}}
	b.wg.Add(1)
	go b.accept()
	return b, nil
}

// Addr is the address clients connect to.
func (b *Balancer) Addr() string { return b.l.Addr().String() }

// Close stops listening, cuts every forwarded connection and waits for
// its goroutines to end.
func (b *Balancer) Close() {
	b.l.Close()
	b.mu.Lock()
	for c := range b.conns {
		c.Close()
	}
	b.conns = nil
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *Balancer) accept() {
	defer b.wg.Done()
	for next := 0; ; next++ {
		c, err := b.l.Accept()
		if err != nil {
			return
		}
		var up net.Conn
		for k := range b.backends {
			i := k
			if b.policy == RoundRobin {
				i = (next + k) % len(b.backends)
			}
			if up, err = net.DialTimeout("tcp", b.backends[i], time.Second); err == nil {
				break
			}
		}
		if up == nil {
			c.Close()
			continue
		}
		if !b.track(c, up) {
			return // closing
		}
		b.wg.Add(2)
		go b.pipe(c, up)
		go b.pipe(up, c)
	}
}

// track registers a forwarded pair; false once Close began.
func (b *Balancer) track(cs ...net.Conn) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conns == nil {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		b.conns[c] = struct{}{}
	}
	return true
}

func (b *Balancer) pipe(dst, src net.Conn) {
	defer b.wg.Done()
	io.Copy(dst, src)
	dst.Close()
	src.Close()
	b.mu.Lock()
	if b.conns != nil {
		delete(b.conns, dst)
		delete(b.conns, src)
	}
	b.mu.Unlock()
}
