package isocket

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// A caller whose context ends while its message is being written gets its
// error, and the connection stays open for everyone else (coder/websocket
// closes the connection when a write's own context ends).
func TestCanceledSendKeepsConnection(t *testing.T) {
	reading := make(chan struct{})
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		// Do not read until the client's big write is stuck on full TCP
		// buffers and its caller has given up.
		select {
		case <-reading:
		case <-ctx.Done():
			return
		}
		c := NewConn(ws, Config{DisablePing: true, ReadLimit: 128 << 20})
		select {
		case <-c.Done():
		case <-ctx.Done():
		}
		c.Close()
	})
	dctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	ws, _, err := websocket.Dial(dctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := NewConn(ws, Config{DisablePing: true, SendTimeout: hang})
	defer c.Close()

	sctx, scancel := context.WithCancel(context.Background())
	sent := make(chan error, 1)
	go func() { sent <- c.Send(sctx, strings.Repeat("x", 64<<20)) }()
	time.Sleep(100 * time.Millisecond) // let the write block on the unread socket
	scancel()
	close(reading)
	if err := <-sent; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled Send = %v, want context.Canceled", err)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("connection closed by one caller's cancel: %v", err)
	}
	ctx, cancel2 := context.WithTimeout(context.Background(), hang)
	defer cancel2()
	if err := c.Send(ctx, "still here"); err != nil {
		t.Fatalf("Send after a canceled Send: %v", err)
	}
}

// TestStuckWriteEndsConnection: when the peer stops reading, a write that
// cannot finish within the send timeout ends the connection rather than
// blocking its writer forever.
func TestStuckWriteEndsConnection(t *testing.T) {
	stop := make(chan struct{})
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		rawAuth(ctx, t, ws)
		select { // reads nothing more
		case <-stop:
		case <-ctx.Done():
		}
	})
	defer close(stop)
	c := dial(t, url, Config{SendTimeout: 200 * time.Millisecond})
	err := writeUntilStuck(t, c)
	select {
	case <-c.Done():
	case <-time.After(hang):
		t.Fatalf("connection still open after a write failed with %v", err)
	}
}

// writeUntilStuck posts 1 MiB messages on c, whose peer reads nothing,
// until a write fails, and returns that error; it fails the test when the
// writes block or all of 256 MiB went through.
func writeUntilStuck(t *testing.T, c *Conn) error {
	t.Helper()
	big := strings.Repeat("x", 1<<20)
	errc := make(chan error, 1)
	go func() {
		var err error
		for i := 0; i < 256 && err == nil; i++ {
			err = c.Post(context.Background(), big, hang, func(error) {})
		}
		errc <- err
	}()
	var err error
	select {
	case err = <-errc:
	case <-time.After(hang):
		t.Fatal("a write to a peer that reads nothing is still blocked")
	}
	if err == nil {
		t.Fatal("256 MiB written to a peer that reads nothing")
	}
	return err
}
