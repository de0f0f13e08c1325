package interval

import (
	"time"

	"github.com/interval-go/sdk/internal/protocol"
)

// ConnectionEventKind says what happened to a Client's connection to the
// server (ConnectionEvent.Kind).
type ConnectionEventKind uint8

const (
	// Connected: the first connection of Listen is initialized (the
	// server answered INITIALIZE_HOST).
	Connected ConnectionEventKind = iota + 1
	// Reconnected: a new connection is initialized after a drop; the
	// event's Attempts and Downtime say what it took.
	Reconnected
	// Disconnected: an initialized connection ended; the event's Err says
	// why. It follows every Connected and Reconnected, once: when the
	// connection drops, or when the client closes (Err wraps ErrClosed).
	Disconnected
	// Resent: one call was delivered again over a new connection after a
	// drop; the event's Resend says what it carried.
	Resent
)

var connectionEventKindNames = [...]string{"", "connected", "reconnected", "disconnected", "resent"}

// String returns "connected", "reconnected", "disconnected" or "resent".
func (k ConnectionEventKind) String() string {
	if int(k) < len(connectionEventKindNames) {
		return connectionEventKindNames[k]
	}
	return "unknown"
}

// ResendKind says what a re-sent call carried (ConnectionEvent.Resend).
// The values are a small fixed set, fit for a metric attribute.
type ResendKind string

// What a call delivered again after a reconnection carried.
const (
	// ResendIOCall is a transaction's pending IO call (SEND_IO_CALL): the
	// form the operator waits on, shown again.
	ResendIOCall ResendKind = "io_call"
	// ResendLoading is a transaction's or page's loading state
	// (SEND_LOADING_CALL).
	ResendLoading ResendKind = "loading"
	// ResendPage is an open page's layout (SEND_PAGE).
	ResendPage ResendKind = "page"
	// ResendResult is a transaction's result (MARK_TRANSACTION_COMPLETE).
	ResendResult ResendKind = "result"
	// ResendLog is a line of a transaction's log (SEND_LOG).
	ResendLog ResendKind = "log"
	// ResendRedirect is a redirect (SEND_REDIRECT).
	ResendRedirect ResendKind = "redirect"
)

// resendKinds maps the methods the client may send again to their kind.
var resendKinds = map[string]ResendKind{
	protocol.MethodSendIOCall:              ResendIOCall,
	protocol.MethodSendLoadingCall:         ResendLoading,
	protocol.MethodSendPage:                ResendPage,
	protocol.MethodMarkTransactionComplete: ResendResult,
	protocol.MethodSendLog:                 ResendLog,
	protocol.MethodSendRedirect:            ResendRedirect,
}

// ConnectionEvent is one change of a Client's connection, reported to
// Options.OnConnection. Only the fields of its Kind are set.
type ConnectionEvent struct {
	Kind ConnectionEventKind
	// Attempts is, on Reconnected, the number of connection attempts
	// since the drop, the successful one included (1 when the first
	// attempt succeeded).
	Attempts int
	// Downtime is, on Reconnected, the time from the drop (the
	// Disconnected event) to the new connection's initialization.
	Downtime time.Duration
	// Err is, on Disconnected, why the connection ended: the transport's
	// error, or an error wrapping ErrClosed when the client closed it.
	// Never nil on Disconnected.
	Err error
	// Resend is, on Resent, what the call delivered again carried.
	Resend ResendKind
}

// ConnectionHook observes a Client's connection: set it as
// Options.OnConnection. It is told when Listen's connection is first
// initialized (Connected), each time it ends (Disconnected) and is
// initialized again (Reconnected), and of every call delivered again over
// a new connection because the one it was sent on dropped (Resent): after
// a reconnection the client re-sends each transaction's pending IO call and
// loading state and each open page's layout and loading state, and every
// call that was in flight (a result, a log line…) goes again. A Resent
// event is reported once the server has answered the call; one re-sent
// in vain (the connection dropped again) is not reported.
//
// Connected, Reconnected and Disconnected are reported in that order from
// the goroutine that runs Listen's connections; Resent events come from
// the goroutines that re-send (the client's own, and those of the
// transactions and pages whose calls were in flight), after the
// Reconnected of the connection that carried them. So a hook is called
// concurrently and must be safe for concurrent use.
//
// A hook must not block: the client's connection, or the call re-sent,
// waits for it. Close and Shutdown return once the last Disconnected was
// reported, so a hook must not call them either (start them in a new
// goroutine). Package middleware/otelinterval provides one recording
// OpenTelemetry metrics (otelinterval.ConnectionHook).
//
// The connections of ServeRequest (serverless requests) are not reported.
type ConnectionHook func(ConnectionEvent)

// report calls the connection hook, if set.
func (c *Client) report(ev ConnectionEvent) {
	if c.opts.OnConnection != nil {
		c.opts.OnConnection(ev)
	}
}

// reportResent reports a call of method delivered again after a drop.
func (c *Client) reportResent(method string) {
	if c.opts.OnConnection == nil {
		return
	}
	if k, ok := resendKinds[method]; ok {
		c.opts.OnConnection(ConnectionEvent{Kind: Resent, Resend: k})
	}
}
