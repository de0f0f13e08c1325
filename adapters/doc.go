// Package adapters holds the transports a host or server uses to carry the
// Interval protocol. Each transport is its own package: websocket (the
// default, on github.com/coder/websocket: ISocket framing for hosts and the
// server) and httphost (serverless hosts: an http.Handler and an AWS Lambda
// handler that answer the server's POSTs by declaring routes or by running
// one transaction or page on a fresh websocket connection).
package adapters
