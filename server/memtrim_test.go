package server

import (
	"sync/atomic"
	"testing"
	"time"
)

// A burst of closes frees memory once, after the burst; fewer closes do
// not; nor does anything once the server ended.
func TestMemTrimAfterBurst(t *testing.T) {
	var frees atomic.Int32
	freed := make(chan struct{}, 4)
	var ended atomic.Bool
	m := &memTrim{burst: 3, quiet: time.Millisecond, every: 0, done: ended.Load,
		free: func() { frees.Add(1); freed <- struct{}{} }}
	m.closedSocket()
	m.closedSocket()
	m.mu.Lock()
	pending := m.timer != nil
	m.mu.Unlock()
	if pending {
		t.Fatal("a trim was scheduled for 2 closes, below the burst of 3")
	}
	m.closedSocket()
	<-freed
	if n := frees.Load(); n != 1 {
		t.Fatalf("%d trims after one burst", n)
	}
	ended.Store(true)
	for range 3 {
		m.closedSocket()
	}
	for {
		m.mu.Lock()
		pending = m.timer != nil
		m.mu.Unlock()
		if !pending {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if n := frees.Load(); n != 1 {
		t.Fatalf("%d trims: one ran after the server ended", n)
	}
}
