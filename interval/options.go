package interval

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// Default option values, the same as the official Node SDK's.
const (
	DefaultRetryInterval            = 3 * time.Second
	DefaultPingInterval             = 30 * time.Second
	DefaultPingTimeout              = 5 * time.Second
	DefaultConnectTimeout           = 15 * time.Second
	DefaultSendTimeout              = 5 * time.Second
	DefaultCloseUnresponsiveTimeout = 3 * time.Minute
	DefaultReinitializeBatchTimeout = 200 * time.Millisecond
	DefaultMaxResendAttempts        = 10
	// DefaultResponseTimeout bounds the wait for the server's answer to one
	// call once it was acknowledged (the Node SDK waits forever).
	DefaultResponseTimeout = 60 * time.Second
	// DefaultShutdownTimeout bounds the drain Listen starts when its
	// context ends. It leaves actions that compute for a few seconds time
	// to finish and fits well within the grace period of process managers
	// (Kubernetes sends SIGKILL 30 s after SIGTERM, systemd after 90 s),
	// while a Ctrl+C at a terminal still ends within seconds. An action
	// waiting on an operator cannot finish in any bound: it is cancelled,
	// and the operator sees it failed.
	DefaultShutdownTimeout = 10 * time.Second
)

// Options configure a Client. They mirror the props of the Interval class of
// the official SDK with Go types; zero values take the defaults above.
type Options struct {
	// APIKey authenticates the host. Empty falls back to $INTERVAL_API_KEY.
	APIKey string
	// Endpoint is the server's websocket URL, such as
	// ws://localhost:8080/websocket. Empty falls back to $INTERVAL_ENDPOINT.
	Endpoint string
	// Routes are the actions and pages this host serves (a *router.Mux).
	Routes Routes
	// Logger receives the client's log lines; nil uses slog.Default().
	Logger *slog.Logger
	// LogLevel is the least level of the client's own records that reach
	// Logger, like the Interval class's logLevel: slog.LevelError for
	// errors only ("quiet"), slog.LevelDebug for every call and
	// transaction, or a *slog.LevelVar to change it while the client runs.
	// Nil means slog.LevelInfo (connection changes, warnings, errors). It
	// only narrows what Logger's handler enables: the handler's own level
	// applies too.
	LogLevel slog.Leveler
	// RetryInterval is the pause between reconnection attempts and the base
	// of resend back-off.
	RetryInterval time.Duration
	// PingInterval is how often the host pings the server.
	PingInterval time.Duration
	// PingTimeout is how long a ping waits for its pong.
	PingTimeout time.Duration
	// ConnectTimeout bounds one connection attempt, up to the server's
	// "authenticated" message.
	ConnectTimeout time.Duration
	// SendTimeout is how long a message waits for the server's ACK on its
	// first attempt (attempt n waits n×SendTimeout).
	SendTimeout time.Duration
	// CloseUnresponsiveTimeout closes and reconnects a connection whose
	// pings have failed for this long. A connection on which a message
	// waited SendTimeout for its ACK is pinged at once, and closed and
	// reconnected if that ping gets no pong within PingTimeout: a network
	// path that died without a close is left after about SendTimeout +
	// PingTimeout while something waits on it.
	CloseUnresponsiveTimeout time.Duration
	// ReinitializeBatchTimeout batches route changes made while listening
	// into one re-initialization.
	ReinitializeBatchTimeout time.Duration
	// MaxResendAttempts bounds the attempts of one call whose ACK times out.
	MaxResendAttempts int
	// ResponseTimeout bounds the wait for an acknowledged call's answer.
	ResponseTimeout time.Duration
	// ShutdownTimeout bounds the drain Listen starts when its context
	// ends (see Listen): how long running handlers may take to finish
	// (and, with a development key, how long the connection stays open
	// for the operator to leave finished transactions) before they are
	// cancelled and the client closes. Default DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Transport carries the protocol; nil uses the websocket transport
	// (adapters/websocket.Transport sets its HTTP header and client).
	Transport Transport
	// OnError is called, if set, with every error a handler returns (after
	// middleware), from the transaction's goroutine.
	OnError func(tx *Tx, err error)
	// OnConnection, if set, is told of the connection's changes:
	// connected, disconnected, reconnected (after how many attempts and
	// how long), and each call re-sent after a reconnection. It must not
	// block, and is called concurrently (see ConnectionHook). Nil costs
	// nothing. otelinterval.ConnectionHook records them as OpenTelemetry
	// metrics.
	OnConnection ConnectionHook
}

// ErrMissingAPIKey and ErrMissingEndpoint are returned by New when neither
// the option nor its environment variable is set.
var (
	ErrMissingAPIKey   = errors.New("interval: no API key: set Options.APIKey or INTERVAL_API_KEY")
	ErrMissingEndpoint = errors.New("interval: no endpoint: set Options.Endpoint or INTERVAL_ENDPOINT")
	ErrMissingRoutes   = errors.New("interval: no routes: set Options.Routes")
)

func (o *Options) resolve() error {
	if o.APIKey == "" {
		o.APIKey = os.Getenv("INTERVAL_API_KEY")
	}
	if o.Endpoint == "" {
		o.Endpoint = os.Getenv("INTERVAL_ENDPOINT")
	}
	switch {
	case o.APIKey == "":
		return ErrMissingAPIKey
	case o.Endpoint == "":
		return ErrMissingEndpoint
	case o.Routes == nil:
		return ErrMissingRoutes
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.RetryInterval, DefaultRetryInterval)
	def(&o.PingInterval, DefaultPingInterval)
	def(&o.PingTimeout, DefaultPingTimeout)
	def(&o.ConnectTimeout, DefaultConnectTimeout)
	def(&o.SendTimeout, DefaultSendTimeout)
	def(&o.CloseUnresponsiveTimeout, DefaultCloseUnresponsiveTimeout)
	def(&o.ReinitializeBatchTimeout, DefaultReinitializeBatchTimeout)
	def(&o.ResponseTimeout, DefaultResponseTimeout)
	def(&o.ShutdownTimeout, DefaultShutdownTimeout)
	if o.MaxResendAttempts <= 0 {
		o.MaxResendAttempts = DefaultMaxResendAttempts
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Logger = o.Logger.With("component", "interval")
	if o.Transport == nil {
		o.Transport = defaultTransport{}
	}
	if _, err := validateEndpoint(o.Endpoint); err != nil {
		return err
	}
	return nil
}

func validateEndpoint(s string) (string, error) {
	u, err := parseURL(s)
	if err != nil {
		return "", fmt.Errorf("interval: endpoint %q: %w", s, err)
	}
	switch u.Scheme {
	case "ws", "wss", "http", "https":
	default:
		return "", fmt.Errorf("interval: endpoint %q: scheme must be ws or wss (http and https are taken as ws and wss)", s)
	}
	return s, nil
}
