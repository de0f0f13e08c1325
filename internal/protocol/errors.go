package protocol

import "errors"

// The transport sentinels. Each exists once, here, and is re-exported under
// the same name by package interval (for users and for Transports of their
// own, which report them without importing a transport package) and by the
// ISocket framing (internal/isocket), so errors.Is matches either name.
var (
	// ErrNotConnected: a message or call did not reach the peer because
	// there was no connection, or the connection was lost before delivery.
	ErrNotConnected = errors.New("interval: not connected")
	// ErrAckTimeout: the peer did not acknowledge a message within the
	// send timeout. The connection may still be alive: the sender may send
	// the message again.
	ErrAckTimeout = errors.New("interval: no ACK within the send timeout")
	// ErrUnauthorized: the server refused the host's API key (an HTTP 401
	// or 403 on the upgrade, or close code 1008 before "authenticated").
	ErrUnauthorized = errors.New("interval: server refused the connection")
)
