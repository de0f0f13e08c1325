package protocol

import "errors"

// ErrNotConnected is the one "not connected" sentinel: a message or call
// that did not reach the peer because there was no connection, or it ended
// before delivery. interval.ErrNotConnected and the websocket adapter's
// ErrNotConnected are this error, so errors.Is matches either name, and a
// Transport of the user's own can report it without importing the adapter.
var ErrNotConnected = errors.New("interval: not connected")
