// Package adapters holds the transports a host or server uses to carry the
// Interval protocol. Each transport is its own package: websocket (the
// default, on github.com/coder/websocket) and httphost (serverless hosts).
package adapters
