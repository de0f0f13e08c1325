package interval

import (
	"context"
	"sync"

	"github.com/interval-go/sdk/internal/protocol"
)

// maxQueuedStates bounds the state updates of one page or IO call waiting
// to be applied; past it the oldest is dropped (states are whole views).
const maxQueuedStates = 64

// stateQueue applies the state updates (SET_STATE) of one page, or of one IO
// call that already returned (a table shown with the append UI), in the
// order they arrived. They arrive on the connection's reader, and applying
// one can take long (an async fetch, the first sort of a big table), so a
// worker goroutine of the queue's own applies them while any are queued:
// the reader and the host's other transactions never wait for them, and two
// updates are never applied out of order. The worker is work (goWork):
// Shutdown waits for it, Close does not.
type stateQueue struct {
	mu      sync.Mutex
	queue   []protocol.IOResponse
	working bool
}

// push queues resp and starts the worker unless it runs. The worker calls
// apply for each queued update in turn and stops early when ctx ends.
func (q *stateQueue) push(c *Client, ctx context.Context, resp protocol.IOResponse, apply func(protocol.IOResponse)) {
	q.mu.Lock()
	if len(q.queue) == maxQueuedStates {
		c.log.Warn("state updates coming faster than they are applied; dropping the oldest", "transaction", resp.TransactionID)
		q.queue = q.queue[1:]
	}
	q.queue = append(q.queue, resp)
	start := !q.working
	q.working = true
	q.mu.Unlock()
	if !start {
		return
	}
	started := c.goWork(func() {
		for {
			q.mu.Lock()
			if len(q.queue) == 0 || ctx.Err() != nil {
				q.queue, q.working = nil, false
				q.mu.Unlock()
				return
			}
			next := q.queue[0]
			q.queue = q.queue[1:]
			q.mu.Unlock()
			apply(next)
		}
	})
	if !started { // closed
		q.mu.Lock()
		q.queue, q.working = nil, false
		q.mu.Unlock()
	}
}
