package isocket

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/interval-go/sdk/internal/protocol"
)

// TestReceivedMessagesAnsweredInOneWrite: messages that have all arrived
// when the reader gets to them (a server starting several transactions at
// once) are acknowledged and answered in one write to the socket, each
// ACK and each answer still its own frame, in order.
func TestReceivedMessagesAnsweredInOneWrite(t *testing.T) {
	const k = 5
	start := make(chan struct{})
	authed := make(chan struct{})  // the server has the ACK of "authenticated"
	holding := make(chan struct{}) // the reader handles m0
	written := make(chan struct{}) // the server has written the k messages
	frames := make(chan protocol.Frame, 2*(k+1))
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		rawAuth(ctx, t, ws)
		close(authed)
		<-start
		rawWrite(ctx, t, ws, string(protocol.AppendMessage(nil, "m0", "hold")))
		<-holding
		for i := 1; i <= k; i++ {
			rawWrite(ctx, t, ws, string(protocol.AppendMessage(nil, fmt.Sprintf("m%d", i), fmt.Sprintf("call%d", i))))
		}
		close(written)
		for range 2 * (k + 1) {
			frames <- rawRead(ctx, ws)
		}
		rawRead(ctx, ws)
	})
	var c *Conn
	c = dial(t, url, Config{DisablePing: true, OnMessage: func(s string) {
		if s == "hold" {
			// The reader is busy while the other messages arrive
			// (a test may block here; OnMessage must not otherwise).
			close(holding)
			select {
			case <-written:
			case <-time.After(hang):
				t.Error("server did not write its messages")
			}
		}
		if err := c.Post(context.Background(), "reply:"+s, hang, func(error) {}); err != nil {
			t.Error(err)
		}
	}})
	<-authed
	c.cork.waitIdle() // the HTTP client's goroutine may still be writing that ACK
	before := c.cork.writes.Load()
	close(start)
	for i := 0; i <= k; i++ {
		ack, reply := <-frames, <-frames
		if ack.Type != protocol.FrameAck || ack.ID != fmt.Sprintf("m%d", i) {
			t.Fatalf("frame %d: got %+v, want the ACK of m%d", 2*i, ack, i)
		}
		if reply.Type != protocol.FrameMessage || !strings.HasPrefix(reply.Data, "reply:") {
			t.Fatalf("frame %d: got %+v, want a reply", 2*i+1, reply)
		}
	}
	// One write for the ACK and reply of "hold" (the reader flushes them
	// before it reads again), one for the five others.
	if got := c.cork.writes.Load() - before; got != 2 {
		t.Fatalf("%d socket writes for the ACKs and replies of %d messages, want 2", got, k+1)
	}
}

// raceBuild is set in race builds (race_test.go).
var raceBuild bool

// TestWokenGoroutineWritesWithTheReader: what a goroutine that handling a
// message woke writes at once (a transaction's handler sending its first
// call) leaves in the write of the message's ACK and answer, not in one of
// its own. One P makes the order of the two goroutines the scheduler's,
// not a race; the scheduler still runs the reader first now and then (it
// takes from its global queue every 61st time), so most exchanges, not
// all, must take one write. The race detector randomizes which goroutine
// runs next: under it the exchanges are checked, not their writes
// (./scripts/test runs this test once more without it).
func TestWokenGoroutineWritesWithTheReader(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const rounds = 20
	authed := make(chan struct{}) // the server has the ACK of "authenticated"
	next := make(chan struct{})   // the test is ready for the next round
	frames := make(chan protocol.Frame, 3)
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		rawAuth(ctx, t, ws)
		close(authed)
		for i := range rounds {
			<-next
			rawWrite(ctx, t, ws, string(protocol.AppendMessage(nil, fmt.Sprintf("m%d", i), "start")))
			for range 3 {
				frames <- rawRead(ctx, ws)
			}
		}
		rawRead(ctx, ws)
	})
	var c *Conn
	var wg sync.WaitGroup
	defer wg.Wait()
	c = dial(t, url, Config{DisablePing: true, OnMessage: func(s string) {
		wg.Add(1)
		go func() { // the handler the message starts
			defer wg.Done()
			c.Post(context.Background(), "first call", hang, func(error) {}) //nolint:errcheck
		}()
		c.Post(context.Background(), "answer", hang, func(error) {}) //nolint:errcheck
	}})
	<-authed
	shared := 0
	for range rounds {
		c.cork.waitIdle()
		before := c.cork.writes.Load()
		next <- struct{}{}
		ack, answer, call := <-frames, <-frames, <-frames
		if ack.Type != protocol.FrameAck || answer.Data != "answer" || call.Data != "first call" {
			t.Fatalf("got %+v, %+v and %+v, want the ACK, the answer and the call", ack, answer, call)
		}
		if c.cork.writes.Load()-before == 1 {
			shared++
		}
	}
	if !raceBuild && shared < rounds*3/4 {
		t.Fatalf("the ACK, the answer and the call shared one socket write %d times out of %d", shared, rounds)
	}
}

// TestAckNotHeldForLaterMessages: the cork holds an ACK only while the
// reader handles what has already arrived: a lone message is acknowledged
// and answered without another message coming to push it out.
func TestAckNotHeldForLaterMessages(t *testing.T) {
	got := make(chan protocol.Frame, 4)
	start := make(chan struct{})
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		rawAuth(ctx, t, ws)
		<-start
		rawWrite(ctx, t, ws, string(protocol.AppendMessage(nil, uuid.NewString(), "call")))
		got <- rawRead(ctx, ws)
		got <- rawRead(ctx, ws)
		rawRead(ctx, ws)
	})
	var c *Conn
	c = dial(t, url, Config{DisablePing: true, OnMessage: func(s string) {
		c.Post(context.Background(), "reply", hang, func(error) {}) //nolint:errcheck
	}})
	close(start)
	for _, want := range []string{protocol.FrameAck, protocol.FrameMessage} {
		select {
		case f := <-got:
			if f.Type != want {
				t.Fatalf("got %+v, want a %s", f, want)
			}
		case <-time.After(hang):
			t.Fatalf("no %s: the cork held it", want)
		}
	}
}

// waitIdle waits until no goroutine writes to the socket.
func (c *corkConn) waitIdle() {
	c.mu.Lock()
	for c.flushing {
		c.idle.Wait()
	}
	c.mu.Unlock()
}

// pipeCork is a corkConn over one end of a net.Pipe, whose writes block
// until the other end reads, and that other end.
func pipeCork(t *testing.T) (*corkConn, net.Conn) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return newCorkConn(a, hang), b
}

// readOne reads what one write to the pipe carried.
func readOne(t *testing.T, r net.Conn) string {
	t.Helper()
	buf := make([]byte, 1<<10)
	r.SetReadDeadline(time.Now().Add(hang))
	n, err := r.Read(buf)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(buf[:n])
}

// waitWrites waits until c has started n socket writes.
func waitWrites(t *testing.T, c *corkConn, n int64) {
	t.Helper()
	deadline := time.Now().Add(hang)
	for c.writes.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d socket writes, want %d", c.writes.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestFramesWaitingForAWriteShareTheNext: frames of other goroutines
// (other transactions) framed while a write is in progress return at once
// and leave together in the next write, in order.
func TestFramesWaitingForAWriteShareTheNext(t *testing.T) {
	c, peer := pipeCork(t)
	first := make(chan error, 1)
	go func() { _, err := c.Write([]byte("A")); first <- err }()
	waitWrites(t, c, 1) // "A" is in the pipe, which nobody reads yet
	for _, s := range []string{"B", "C", "D"} {
		if _, err := c.Write([]byte(s)); err != nil { // must not wait for "A"
			t.Fatal(err)
		}
	}
	if got := readOne(t, peer); got != "A" {
		t.Fatalf("first write %q, want A", got)
	}
	if got := readOne(t, peer); got != "BCD" {
		t.Fatalf("second write %q, want BCD", got)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if n := c.writes.Load(); n != 2 {
		t.Fatalf("%d socket writes, want 2", n)
	}
}

// TestAnnouncedWriteGathersFrames: between enter and release (a message
// being framed by the library) frames wait; release writes them all at
// once, and a write with nobody holding frames back goes out at once.
func TestAnnouncedWriteGathersFrames(t *testing.T) {
	c, peer := pipeCork(t)
	c.enter()
	c.Write([]byte("ping"))    //nolint:errcheck // another goroutine's frame
	c.Write([]byte("message")) //nolint:errcheck
	if n := c.writes.Load(); n != 0 {
		t.Fatalf("%d socket writes before release", n)
	}
	done := make(chan error, 1)
	go func() { done <- c.release() }()
	if got := readOne(t, peer); got != "pingmessage" {
		t.Fatalf("write %q, want pingmessage", got)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	go func() { _, err := c.Write([]byte("alone")); done <- err }()
	if got := readOne(t, peer); got != "alone" {
		t.Fatalf("write %q, want alone", got)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestCorkedReaderFlushesBeforeReading: what the reader's cork holds goes
// out when the reader reads from the socket again.
func TestCorkedReaderFlushesBeforeReading(t *testing.T) {
	c, peer := pipeCork(t)
	c.cork()
	c.Write([]byte("ack")) //nolint:errcheck
	c.Write([]byte("res")) //nolint:errcheck
	if n := c.writes.Load(); n != 0 {
		t.Fatalf("%d socket writes while corked", n)
	}
	read := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		read <- err
	}()
	if got := readOne(t, peer); got != "ackres" {
		t.Fatalf("write %q, want ackres", got)
	}
	peer.Write([]byte("x")) //nolint:errcheck
	if err := <-read; err != nil {
		t.Fatal(err)
	}
}

// TestCorkFailedWriteReported: a write that fails closes the socket, and
// the writers whose frames it carried, and every later one, get its error.
func TestCorkFailedWriteReported(t *testing.T) {
	c, peer := pipeCork(t)
	peer.Close()
	c.enter()
	if _, err := c.Write([]byte("frame")); err != nil {
		t.Fatalf("Write while announced: %v", err)
	}
	if err := c.release(); err == nil || err == io.EOF {
		t.Fatalf("release: %v, want the pipe's error", err)
	}
	if _, err := c.Write([]byte("later")); err == nil {
		t.Fatal("Write after a failed write succeeded")
	}
}
