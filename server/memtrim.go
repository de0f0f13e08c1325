package server

import (
	"runtime/debug"
	"sync"
	"time"
)

// memTrim returns the memory of a burst of closed sockets to the operating
// system soon after the burst, instead of leaving it to the runtime's
// background scavenger, which gives a large heap back over minutes: once
// at least burst sockets closed since the last trim, and none for quiet,
// it calls free (debug.FreeOSMemory: a GC, then every free page returned),
// at most once per every.
type memTrim struct {
	burst int
	quiet time.Duration
	every time.Duration
	free  func()
	done  func() bool // the server ended: no more trims

	mu     sync.Mutex
	closed int         // sockets closed since the last trim
	timer  *time.Timer // pending trim
	last   time.Time   // of the last trim
}

// Defaults of memTrim: a burst is 256 sockets (≈ 15 MiB of their buffers
// and stacks); trims are 2 s after the last close, 30 s apart at least.
func newMemTrim(done func() bool) *memTrim {
	return &memTrim{burst: 256, quiet: 2 * time.Second, every: 30 * time.Second, free: debug.FreeOSMemory, done: done}
}

// closedSocket notes that a socket closed.
func (m *memTrim) closedSocket() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed++
	if m.closed < m.burst {
		return
	}
	wait := m.quiet
	if next := time.Until(m.last.Add(m.every)); next > wait {
		wait = next
	}
	if m.timer == nil {
		m.timer = time.AfterFunc(wait, m.trim)
	} else {
		m.timer.Reset(wait) // still closing: wait for the end of the burst
	}
}

func (m *memTrim) trim() {
	m.mu.Lock()
	m.timer = nil
	m.closed = 0
	m.last = time.Now()
	m.mu.Unlock()
	if !m.done() {
		m.free()
	}
}
