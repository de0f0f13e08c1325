package interval_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/interval-go/sdk/internal/isocket"
	"github.com/interval-go/sdk/interval"
)

// Each transport error is one error under two names: what the ISocket
// framing returns is interval's sentinel for errors.Is (the client re-sends
// a call that was not connected or not acknowledged), and a Transport of
// the user's own reports the same conditions with interval's sentinels
// without importing any transport package.
func TestTransportSentinels(t *testing.T) {
	for _, c := range []struct {
		name         string
		iv, framing  error
		wantInterval string
	}{
		{"ErrNotConnected", interval.ErrNotConnected, isocket.ErrNotConnected, "interval: not connected"},
		{"ErrAckTimeout", interval.ErrAckTimeout, isocket.ErrAckTimeout, "interval: no ACK within the send timeout"},
		{"ErrUnauthorized", interval.ErrUnauthorized, isocket.ErrUnauthorized, "interval: server refused the connection"},
	} {
		if c.iv != c.framing {
			t.Errorf("interval.%s (%v) and isocket.%s (%v) are two errors", c.name, c.iv, c.name, c.framing)
		}
		if c.iv.Error() != c.wantInterval {
			t.Errorf("interval.%s = %q, want %q", c.name, c.iv, c.wantInterval)
		}
		wrapped := fmt.Errorf("%w: write: %w", c.framing, errors.New("broken pipe"))
		if !errors.Is(wrapped, c.iv) {
			t.Errorf("%v is not interval.%s", wrapped, c.name)
		}
	}
}
