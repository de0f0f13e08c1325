// Package adapters holds what a user plugs into a host, each in its own
// package above package interval: websocket (the websocket transport with
// the upgrade request's HTTP header and client, for proxies and auth
// gateways; a nil interval.Options.Transport already dials over websocket)
// and httphost (serverless hosts: an http.Handler and an AWS Lambda handler
// that answer the server's POSTs by declaring routes or by running one
// transaction or page on a fresh websocket connection). The ISocket
// framing both ends share lives in internal/isocket.
package adapters
