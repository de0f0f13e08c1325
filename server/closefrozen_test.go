package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestCloseCutsASocketThatStoppedReading: Close closes every socket at
// once, and a peer that no longer reads (a frozen tab, a dead network path)
// does not hold it for the 5 s a close waits for the peer's close frame.
// The peer, reading later, still finds the close frame (1012) before the
// end of the connection.
func TestCloseCutsASocketThatStoppedReading(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	ws, err := dialConsole(e, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	until(t, e, "the console socket to be served", func(*hub) bool {
		e.s.mu.Lock()
		defer e.s.mu.Unlock()
		return len(e.s.conns) == 1
	})
	// Nothing reads ws until Close has returned.
	closed := make(chan error, 1)
	start := time.Now()
	go func() { closed <- e.s.Close() }()
	select {
	case err := <-closed:
		t.Logf("Close returned %v after %v", err, time.Since(start).Round(time.Millisecond))
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(4 * time.Second):
		t.Fatalf("Close still waits %v after it began, for a peer that does not read (a close waits 5 s for the peer's close frame)", time.Since(start).Round(time.Millisecond))
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, _, err = ws.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusServiceRestart {
		t.Fatalf("the peer, reading after the close, got %v; want the close frame 1012", err)
	}
}
