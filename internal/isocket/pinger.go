package isocket

import (
	"container/heap"
	"sync"
	"time"
)

// Pinger pings many connections from one goroutine (Config.Pinger): each
// is pinged every PingInterval of its Config, as its own ping goroutine
// would, and closed with ErrUnresponsive the same way. A ping waiting for
// its pong runs on a goroutine of its own, for that wait only.
//
// A Pinger starts its goroutine with its first connection; Close stops it.
// The zero value is not usable: call NewPinger.
type Pinger struct {
	mu      sync.Mutex
	conns   pingHeap // by next ping due
	started bool
	closed  bool
	wake    chan struct{} // the earliest ping due moved
	stop    chan struct{}
	wg      sync.WaitGroup // the loop and the pings waiting for their pong
}

// NewPinger returns a Pinger with no connection and no goroutine.
func NewPinger() *Pinger {
	return &Pinger{wake: make(chan struct{}, 1), stop: make(chan struct{})}
}

// Close stops the pinger's goroutine and waits for it and for the pings
// still waiting for their pong (at most PingTimeout). Connections still
// registered are no longer pinged, nor are those added later. Close may be
// called more than once.
func (p *Pinger) Close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.stop)
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// Len returns how many connections the pinger pings.
func (p *Pinger) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// running reports whether the pinger's goroutine was started and not
// stopped (for tests).
func (p *Pinger) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started && !p.closed
}

func (p *Pinger) add(c *Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	c.pingAt = time.Now().Add(c.cfg.PingInterval)
	heap.Push(&p.conns, c)
	if !p.started {
		p.started = true
		p.wg.Add(1)
		go p.loop()
	} else if c.pingIdx == 0 {
		p.poke()
	}
}

func (p *Pinger) remove(c *Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.pingIdx >= 0 {
		heap.Remove(&p.conns, c.pingIdx)
	}
}

// poke wakes the loop (p.mu held).
func (p *Pinger) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *Pinger) loop() {
	defer p.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var due []*Conn
	for {
		now := time.Now()
		p.mu.Lock()
		for len(p.conns) > 0 && !p.conns[0].pingAt.After(now) {
			c := p.conns[0]
			c.pingAt = now.Add(c.cfg.PingInterval)
			heap.Fix(&p.conns, 0)
			// As a ticker drops ticks, a connection whose last
			// ping still waits for its pong skips this one.
			if !c.pinging {
				c.pinging = true
				due = append(due, c)
			}
		}
		wait := time.Hour
		if len(p.conns) > 0 {
			wait = p.conns[0].pingAt.Sub(now)
		}
		p.mu.Unlock()
		for i, c := range due {
			p.ping(c)
			due[i] = nil
		}
		due = due[:0]
		t.Reset(wait)
		select {
		case <-p.stop:
			return
		case <-p.wake:
		case <-t.C:
		}
	}
}

// ping pings c on a goroutine of its own, counted in c's goroutines (its
// Close waits for it) and the pinger's.
func (p *Pinger) ping(c *Conn) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer c.wg.Done()
		c.ping()
		p.mu.Lock()
		c.pinging = false
		p.mu.Unlock()
	}()
}

// pingHeap orders connections by their next ping (container/heap).
type pingHeap []*Conn

func (h pingHeap) Len() int           { return len(h) }
func (h pingHeap) Less(i, j int) bool { return h[i].pingAt.Before(h[j].pingAt) }
func (h pingHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].pingIdx = i
	h[j].pingIdx = j
}

func (h *pingHeap) Push(x any) {
	c := x.(*Conn)
	c.pingIdx = len(*h)
	*h = append(*h, c)
}

func (h *pingHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	c.pingIdx = -1
	*h = old[:len(old)-1]
	return c
}
