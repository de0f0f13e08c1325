package interval

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"time"

	"github.com/interval-go/sdk/internal/isocket"
	"github.com/interval-go/sdk/internal/protocol"
)

// Transport dials a server. The default (a nil Options.Transport) is the
// websocket transport with no extra settings; package adapters/websocket
// offers the same transport with an HTTP header and client of the user's
// (proxies, auth gateways). Other transports (in-memory, serverless) fit
// the same interface.
//
// A Transport reports its failures with this package's sentinels, wrapped
// with %w or not, so it never needs to import another transport's package:
// ErrUnauthorized from Dial for a refused API key, ErrAckTimeout from a
// Conn when the server did not acknowledge a message in time (the client
// then sends it again), ErrNotConnected when the connection was lost, or
// was not there, before a message was delivered (the client sends it again
// on the next connection).
type Transport interface {
	// Dial opens one connection and returns once the server has
	// authenticated it, or fails (an error wrapping ErrUnauthorized when
	// the server refused the API key).
	Dial(ctx context.Context, cfg DialConfig) (Conn, error)
}

// DialConfig is what a Transport needs to open one connection.
type DialConfig struct {
	Endpoint   string
	APIKey     string
	InstanceID string
	// OnMessage receives every protocol message (an RPC envelope string) in
	// order. It does not block.
	OnMessage func(data string)
	Logger    *slog.Logger

	ConnectTimeout           time.Duration
	SendTimeout              time.Duration
	PingInterval             time.Duration
	PingTimeout              time.Duration
	CloseUnresponsiveTimeout time.Duration
}

// Conn is one open connection of a Transport.
type Conn interface {
	// SendTimeout sends one message and waits until the server has
	// acknowledged it, for at most timeout (then it fails with an error
	// wrapping ErrAckTimeout).
	SendTimeout(ctx context.Context, data string, timeout time.Duration) error
	// Post sends one message without waiting for the acknowledgement: it
	// returns once the message is written, then calls acked exactly once,
	// with nil when the server acknowledged it, or the error that ended
	// the wait: one wrapping ErrAckTimeout (no acknowledgement within
	// timeout) or ErrNotConnected (the connection ended first). acked must
	// not block; it is not called when Post returns an error (which wraps
	// ErrNotConnected when the message could not be written).
	Post(ctx context.Context, data string, timeout time.Duration, acked func(error)) error
	// Done is closed when the connection has ended.
	Done() <-chan struct{}
	// Err says why the connection ended, once Done is closed.
	Err() error
	// Close ends the connection and waits for its goroutines.
	Close() error
}

// The transport errors, for errors.Is. A Transport of the user's own wraps
// them (see Transport).
var (
	// ErrUnauthorized is returned by Listen when the server refuses the API
	// key; a Transport's Dial returns it (wrapped) then.
	ErrUnauthorized = protocol.ErrUnauthorized
	// ErrAckTimeout is reported by a Transport's Conn when the server did
	// not acknowledge a message within the send timeout. The client sends
	// the message again, up to Options.MaxResendAttempts times; a call
	// that runs out of attempts fails with an error wrapping it.
	ErrAckTimeout = protocol.ErrAckTimeout
)

func isAckTimeout(err error) bool { return errors.Is(err, ErrAckTimeout) }

func isNotConnected(err error) bool { return errors.Is(err, ErrNotConnected) }

// defaultTransport is the websocket transport of a nil Options.Transport;
// adapters/websocket.Transport is the same with the user's HTTP settings.
type defaultTransport struct{}

func (defaultTransport) Dial(ctx context.Context, cfg DialConfig) (Conn, error) {
	c, err := isocket.Dial(ctx, isocket.DialOptions{
		Endpoint:   cfg.Endpoint,
		APIKey:     cfg.APIKey,
		InstanceID: cfg.InstanceID,
	}, isocket.Config{
		OnMessage:                cfg.OnMessage,
		Logger:                   cfg.Logger,
		ConnectTimeout:           cfg.ConnectTimeout,
		SendTimeout:              cfg.SendTimeout,
		PingInterval:             cfg.PingInterval,
		PingTimeout:              cfg.PingTimeout,
		CloseUnresponsiveTimeout: cfg.CloseUnresponsiveTimeout,
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func parseURL(s string) (*url.URL, error) { return url.Parse(s) }

// httpBase derives the HTTP API base URL from the websocket endpoint:
// wss://x.example.com/websocket → https://x.example.com.
func httpBase(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	}
	u.Path, u.RawQuery, u.Fragment = "", "", ""
	return u.String()
}
