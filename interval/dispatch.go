package interval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/internal/rpc"
)

// attemptKey holds a call's attempt number in its context: connect's post
// function waits attempt×SendTimeout for the ACK.
type attemptKey struct{}

// callPeer sends one call on peer, retrying with new ids when the ACK times
// out (attempt n waits n×SendTimeout), like the official SDK, but waiting
// between attempts. A non-zero deadline bounds all attempts together.
func (c *Client) callPeer(ctx context.Context, deadline time.Time, peer *rpc.Peer, method string, in any) (json.RawMessage, error) {
	var err error
	for attempt := 1; attempt <= c.opts.MaxResendAttempts; attempt++ {
		actx := context.WithValue(ctx, attemptKey{}, attempt)
		var raw json.RawMessage
		var timeout time.Duration // none: ctx bounds the call
		if !deadline.IsZero() {
			timeout = max(time.Until(deadline), 1)
		}
		raw, err = peer.CallRawTimeout(actx, timeout, method, in)
		if err == nil {
			return raw, nil
		}
		if !isAckTimeout(err) {
			return nil, err
		}
		c.log.Debug("no ACK, resending", "method", method, "attempt", attempt)
	}
	return nil, fmt.Errorf("interval: %s: maximum resend attempts reached: %w", method, err)
}

// call sends a call to the server, waiting for a connection first (bounded
// by ctx), and decodes the answer into out. If the connection drops while
// the call is in flight it is sent again after reconnection.
func (c *Client) call(ctx context.Context, method string, in any, out any) error {
	resent := false // the connection dropped under an attempt: the next one sends it again
	for {
		c.mu.Lock()
		ready, peer, closed := c.ready, c.peer, c.state == stateClosed
		c.mu.Unlock()
		if closed {
			return ErrClosed
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return fmt.Errorf("%w: %s: %w", ErrNotConnected, method, ctx.Err())
		case <-c.life.Done():
			return ErrClosed
		}
		if peer == nil {
			continue
		}
		// The response timeout is a timer in the call, not a child context:
		// a child of a transaction's context would leave its cancel
		// registration (a map) behind in that context for its whole life.
		raw, err := c.callPeer(ctx, time.Now().Add(c.opts.ResponseTimeout), peer, method, in)
		if errors.Is(err, rpc.ErrClosed) || isNotConnected(err) {
			resent = true
			continue // the connection dropped: wait for the next one
		}
		if err != nil {
			return err
		}
		if resent {
			c.reportResent(method)
		}
		if out != nil && len(raw) > 0 {
			if err := decodeReturn(raw, out); err != nil {
				return fmt.Errorf("interval: %s returned %w: %v", method, protocol.ErrMalformed, err)
			}
		}
		return nil
	}
}

// decodeReturn decodes a call's answer into out as json.Unmarshal does,
// taking the usual true and false of SEND_IO_CALL and
// MARK_TRANSACTION_COMPLETE without it.
func decodeReturn(raw json.RawMessage, out any) error {
	if b := string(raw); b == "true" || b == "false" {
		switch out := out.(type) {
		case *bool:
			*out = b == "true"
			return nil
		case *protocol.SendIOCallReturns:
			*out = protocol.SendIOCallReturns{OK: b == "true"}
			return nil
		}
	}
	return json.Unmarshal(raw, out)
}

// handleCall answers the server's calls. It runs on the connection's reader
// goroutine and does not block.
func (c *Client) handleCall(method string, data json.RawMessage) (any, error) {
	switch method {
	case protocol.MethodStartTransaction:
		in, err := protocol.DecodeStartTransaction(data)
		if err != nil {
			return nil, fmt.Errorf("%w: START_TRANSACTION: %v", protocol.ErrMalformed, err)
		}
		if err := in.Validate(); err != nil {
			return nil, err
		}
		c.startTransaction(in)
		return nil, nil
	case protocol.MethodIOResponse:
		var in protocol.IOResponseInputs
		if err := decodeFlat(data, &in, protocol.FlatField{Name: "value", S: &in.Value},
			protocol.FlatField{Name: "transactionId", S: &in.TransactionID}); err != nil {
			return nil, fmt.Errorf("%w: IO_RESPONSE: %v", protocol.ErrMalformed, err)
		}
		c.ioResponse(in)
		return nil, nil
	case protocol.MethodCloseTransaction:
		var in protocol.CloseTransactionInputs
		if err := decodeFlat(data, &in, protocol.FlatField{Name: "transactionId", S: &in.TransactionID}); err != nil {
			return nil, fmt.Errorf("%w: CLOSE_TRANSACTION: %v", protocol.ErrMalformed, err)
		}
		c.closesUnanswered.Add(1) // until the answer is posted: a lingering drain waits for it
		c.closeTransaction(in.TransactionID)
		return nil, nil
	case protocol.MethodOpenPage:
		var in protocol.OpenPageInputs
		if err := json.Unmarshal(data, &in); err != nil {
			return nil, fmt.Errorf("%w: OPEN_PAGE: %v", protocol.ErrMalformed, err)
		}
		return c.openPage(in), nil
	case protocol.MethodClosePage:
		var in protocol.ClosePageInputs
		if err := decodeFlat(data, &in, protocol.FlatField{Name: "pageKey", S: &in.PageKey}); err != nil {
			return nil, fmt.Errorf("%w: CLOSE_PAGE: %v", protocol.ErrMalformed, err)
		}
		c.closePage(in.PageKey)
		return nil, nil
	}
	return nil, fmt.Errorf("interval: unknown method %q from server", protocol.Clip(method, 64))
}

// decodeFlat decodes data, the input of a call whose fields are all
// strings, into *in (whose fields the given FlatFields point into) without
// encoding/json's reflection where protocol.DecodeFlat can, and with
// encoding/json otherwise: the result is the same either way.
func decodeFlat[T any](data []byte, in *T, fields ...protocol.FlatField) error {
	if protocol.DecodeFlat(data, fields...) {
		return nil
	}
	var zero T
	*in = zero
	return json.Unmarshal(data, in)
}
