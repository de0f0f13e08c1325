package interval

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
)

// ErrAPI wraps an error answer of the server's HTTP API.
var ErrAPI = errors.New("interval: server API error")

// Delivery is one recipient of a notification: an email address or a Slack
// channel/user, by Method "EMAIL" or "SLACK" (empty lets the server pick).
type Delivery struct {
	To     string
	Method string
}

// Notification is a message sent to people outside the console.
type Notification struct {
	Message string
	Title   string
	// Deliveries are the recipients; empty delivers to nobody on servers
	// that require it (the official SDK then fails with "Invalid input.").
	Deliveries []Delivery
	// IdempotencyKey lets the server drop duplicates.
	IdempotencyKey string
}

// Notify sends a notification about this transaction (POST /api/notify,
// like the official SDK's ctx.notify).
func (tx *Tx) Notify(ctx context.Context, n Notification) error {
	return tx.t.c.notify(ctx, tx.ID, n)
}

// Notify sends a notification outside any transaction. With a development
// key the server may ignore it.
func (c *Client) Notify(ctx context.Context, n Notification) error {
	return c.notify(ctx, "", n)
}

func (c *Client) notify(ctx context.Context, txID string, n Notification) error {
	if n.Message == "" {
		return fmt.Errorf("interval: notification without a message")
	}
	in := protocol.NotifyInputs{TransactionID: txID, Message: n.Message, Title: n.Title,
		DeliveryInstructions: []protocol.DeliveryInstruction{}, IdempotencyKey: n.IdempotencyKey,
		CreatedAt: time.Now().UTC().Format(protocol.JSTimeLayout)}
	for _, d := range n.Deliveries {
		in.DeliveryInstructions = append(in.DeliveryInstructions, protocol.DeliveryInstruction{To: d.To, Method: d.Method})
	}
	var out protocol.TypedResult
	if err := c.postAPI(ctx, "/api/notify", in, &out); err != nil {
		return fmt.Errorf("interval: notify: %w", err)
	}
	return nil
}

// QueuedAction is an action queued to run later from the console, possibly
// assigned to one operator.
type QueuedAction struct {
	ID string
	// Assignee is the email of the operator it is assigned to.
	Assignee string
	Params   Params
}

// Enqueue queues the action with this slug, with params, optionally
// assigned to an operator by email (POST /api/actions/enqueue). It returns
// the queued action's id.
func (c *Client) Enqueue(ctx context.Context, slug, assignee string, params map[string]any) (string, error) {
	in := protocol.EnqueueInputs{Slug: slug, Assignee: assignee}
	if params != nil {
		plain, meta, err := protocol.Serialize(params)
		if err != nil {
			return "", fmt.Errorf("interval: enqueue params: %w", err)
		}
		if in.Params, err = json.Marshal(plain); err != nil {
			return "", fmt.Errorf("interval: enqueue params: %w", err)
		}
		in.ParamsMeta = meta
	}
	var out protocol.TypedResult
	if err := c.postAPI(ctx, "/api/actions/enqueue", in, &out); err != nil {
		return "", fmt.Errorf("interval: enqueue %s: %w", slug, err)
	}
	return out.ID, nil
}

// Dequeue removes a queued action and returns it
// (POST /api/actions/dequeue).
func (c *Client) Dequeue(ctx context.Context, id string) (QueuedAction, error) {
	var out protocol.DequeueReturns
	if err := c.postAPI(ctx, "/api/actions/dequeue", protocol.DequeueInputs{ID: id}, &out); err != nil {
		return QueuedAction{}, fmt.Errorf("interval: dequeue %s: %w", id, err)
	}
	params, err := decodeParams(out.Params, out.ParamsMeta)
	if err != nil {
		return QueuedAction{}, fmt.Errorf("interval: dequeue %s: %w", id, err)
	}
	return QueuedAction{ID: out.ID, Assignee: out.Assignee, Params: params}, nil
}

// postAPI posts JSON to the server's HTTP API with the bearer key and
// decodes a {"type":"success"} answer into out.
func (c *Client) postAPI(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, httpBase(c.opts.Endpoint)+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.opts.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	var typed protocol.TypedResult
	if err := json.Unmarshal(raw, &typed); err != nil {
		return fmt.Errorf("%w: HTTP %d: %s", ErrAPI, resp.StatusCode, truncateText(raw))
	}
	if resp.StatusCode >= 300 || typed.Type != "success" {
		msg := typed.Message
		if msg == "" {
			msg = truncateText(raw)
		}
		return fmt.Errorf("%w: HTTP %d: %s", ErrAPI, resp.StatusCode, msg)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%w: %v", protocol.ErrMalformed, err)
		}
	}
	return nil
}

func truncateText(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// Ping checks that the server answers on the current connection: it sends a
// "ping" message and waits for its acknowledgement.
func (c *Client) Ping(ctx context.Context) error {
	c.mu.Lock()
	conn, ready := c.conn, c.ready
	c.mu.Unlock()
	select {
	case <-ready:
	default:
		return ErrNotConnected
	}
	if conn == nil {
		return ErrNotConnected
	}
	start := time.Now()
	if err := conn.SendTimeout(ctx, protocol.DataPing, c.opts.PingTimeout); err != nil {
		return fmt.Errorf("interval: ping: %w", err)
	}
	c.log.Debug("ping", "rtt", time.Since(start))
	return nil
}
