package interval

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"time"

	"github.com/interval-go/sdk/adapters/websocket"
)

// Transport dials a server. The default is the websocket transport of
// package adapters/websocket; other transports (in-memory, serverless) fit
// the same interface.
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
	// acknowledged it, for at most timeout.
	SendTimeout(ctx context.Context, data string, timeout time.Duration) error
	// Post sends one message without waiting for the acknowledgement: it
	// returns once the message is written, then calls acked exactly once,
	// with nil when the server acknowledged it, or the error that ended
	// the wait (no acknowledgement within timeout, connection closed).
	// acked must not block; it is not called when Post returns an error.
	Post(ctx context.Context, data string, timeout time.Duration, acked func(error)) error
	// Done is closed when the connection has ended.
	Done() <-chan struct{}
	// Err says why the connection ended, once Done is closed.
	Err() error
	// Close ends the connection and waits for its goroutines.
	Close() error
}

// ErrUnauthorized is returned by Listen when the server refuses the API key.
var ErrUnauthorized = websocket.ErrUnauthorized

var errAckTimeout = websocket.ErrAckTimeout

func isAckTimeout(err error) bool { return errors.Is(err, errAckTimeout) }

func isNotConnected(err error) bool { return errors.Is(err, ErrNotConnected) }

type defaultTransport struct{}

func (defaultTransport) Dial(ctx context.Context, cfg DialConfig) (Conn, error) {
	c, err := websocket.Dial(ctx, websocket.DialOptions{
		Endpoint:   wsURL(cfg.Endpoint),
		APIKey:     cfg.APIKey,
		InstanceID: cfg.InstanceID,
	}, websocket.Config{
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

// wsURL accepts http(s) endpoints too, turning them into ws(s).
func wsURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	return u.String()
}

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
