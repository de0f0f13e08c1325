// Package websocket is the websocket transport of an interval.Client, with
// the HTTP settings of the upgrade request a user may need: extra headers
// (an auth gateway's token) and an HTTP client (a proxy, custom TLS roots).
//
// A nil interval.Options.Transport already dials over websocket; set
// Options.Transport to a *Transport only to change those settings:
//
//	c, err := interval.New(interval.Options{
//		Endpoint:  "wss://interval.example.com/websocket",
//		APIKey:    key,
//		Routes:    r,
//		Transport: &websocket.Transport{Header: http.Header{"Authorization": {"Bearer " + token}}},
//	})
//
// The ISocket framing the transport speaks (MESSAGE and ACK, pings, closing
// an unresponsive connection) is shared with the server and lives in an
// internal package; the connections returned report failures with
// interval's sentinel errors (interval.ErrUnauthorized,
// interval.ErrAckTimeout, interval.ErrNotConnected).
package websocket

import (
	"context"
	"net/http"

	"github.com/interval-go/sdk/internal/isocket"
	"github.com/interval-go/sdk/interval"
)

// Transport dials an Interval server over websocket. The zero Transport is
// the one a client uses when Options.Transport is nil. Its fields must not
// change once the client uses it.
type Transport struct {
	// Header is added to the upgrade request of every connection, as for
	// an auth gateway or a proxy that routes on a header. The client's own
	// x-api-key and x-instance-id headers take precedence over the same
	// names here.
	Header http.Header
	// HTTPClient makes the upgrade request (its Transport's proxy, TLS
	// configuration and dialer apply); nil uses a client of the package's
	// own, which batches the ACK and the answer of a message into one write.
	HTTPClient *http.Client
}

var _ interval.Transport = (*Transport)(nil)

// Dial opens one connection and returns once the server has authenticated
// it. A refused API key returns an error wrapping interval.ErrUnauthorized.
func (t *Transport) Dial(ctx context.Context, cfg interval.DialConfig) (interval.Conn, error) {
	c, err := isocket.Dial(ctx, isocket.DialOptions{
		Endpoint:   cfg.Endpoint,
		APIKey:     cfg.APIKey,
		InstanceID: cfg.InstanceID,
		Header:     t.Header,
		HTTPClient: t.HTTPClient,
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
		return nil, err // wraps interval.ErrUnauthorized for a refused key
	}
	return c, nil
}
