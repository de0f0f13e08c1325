package interval_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/interval-go/sdk/adapters/websocket"
	"github.com/interval-go/sdk/interval"
)

// "Not connected" is one error under two names: a failed write of the
// websocket adapter is interval.ErrNotConnected for errors.Is (the client
// re-sends such a call on the next connection), and a Transport of the
// user's own reports the same condition with interval.ErrNotConnected
// without importing the adapter.
func TestOneErrNotConnected(t *testing.T) {
	if interval.ErrNotConnected != websocket.ErrNotConnected {
		t.Fatalf("interval.ErrNotConnected (%v) and websocket.ErrNotConnected (%v) are two errors", interval.ErrNotConnected, websocket.ErrNotConnected)
	}
	write := fmt.Errorf("%w: write: %w", websocket.ErrNotConnected, errors.New("broken pipe"))
	if !errors.Is(write, interval.ErrNotConnected) || interval.ErrNotConnected.Error() != "interval: not connected" {
		t.Fatalf("%v is not interval.ErrNotConnected", write)
	}
}
