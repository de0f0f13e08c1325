package server

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// goroutinesWith counts the goroutines whose stack holds every one of
// frames (their running frames: not the function that created them).
func goroutinesWith(frames ...string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if i := strings.Index(g, "\ncreated by "); i >= 0 {
			g = g[:i]
		}
		all := true
		for _, f := range frames {
			if !strings.Contains(g, f) {
				all = false
				break
			}
		}
		if all {
			count++
		}
	}
	return count
}

// An idle console socket keeps one goroutine, which reads it. The HTTP handler that accepted it has returned (so the HTTP server
// dropped its request and buffers), no inbox or outbox worker runs, and no
// ping goroutine of its own: one pinger serves every socket, and it ends
// with the server.
func TestIdleBrowserSocketGoroutines(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	const n = 3
	for range n {
		admin.browser()
	}
	want := map[string]int{
		"serveBrowser":     n, // each socket's goroutine
		"handleSocket":     0, // the HTTP handlers returned
		"endpoint).inWork": 0,
		"endpoint).outWor": 0,
		"Pinger).loop":     1,
	}
	frames := map[string][]string{
		"serveBrowser":     {"server.(*endpoint).run", "isocket.(*Conn).readLoop"},
		"handleSocket":     {"server.(*Server).handleSocket("}, // not its closures
		"endpoint).inWork": {"server.(*endpoint).inWorker"},
		"endpoint).outWor": {"server.(*endpoint).outWorker"},
		"Pinger).loop":     {"isocket.(*Pinger).loop"},
	}
	counts := func() map[string]int {
		got := map[string]int{}
		for k, f := range frames {
			got[k] = goroutinesWith(f...)
		}
		return got
	}
	deadline := time.Now().Add(wait)
	for {
		got := counts()
		same := true
		for k, v := range want {
			same = same && got[k] == v
		}
		if same {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines of %d idle console sockets: %v, want %v", n, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The test's peers ping not either: no goroutine pings a single
	// socket.
	if got := goroutinesWith("isocket.(*Conn).pingLoop"); got != 0 {
		t.Fatalf("%d ping goroutines of a single socket", got)
	}
	if got := e.s.pinger.Len(); got != n {
		t.Fatalf("the pinger holds %d sockets, want %d", got, n)
	}
	e.stop()
	if got := goroutinesWith("isocket.(*Pinger).loop"); got != 0 {
		t.Fatalf("%d pinger goroutines after Close", got)
	}
}
