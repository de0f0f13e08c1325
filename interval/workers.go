package interval

import (
	"sync/atomic"
	"time"
)

// Transactions run on worker goroutines that are kept for a while once
// their transaction has returned, and take the next one: a new goroutine
// starts with a 2 KiB stack, which rendering an IO call outgrows, and the
// runtime copying it to a larger one cost 5–7 % of a busy host's CPU. A
// worker kept idle has its grown stack already.
//
// An idle worker is one of the client's own goroutines (counted in c.bg,
// so Close waits for it): it ends when it has waited idleWorkerTimeout for
// work, or when the client closes. A worker running a handler is work
// (c.work), as a handler's goroutine was: Close does not wait for it.

// maxIdleWorkers bounds the workers kept waiting: more end at once.
const maxIdleWorkers = 64

// idleWorkerTimeout is how long an idle worker waits for work, in
// nanoseconds (a variable for tests).
var idleWorkerTimeout atomic.Int64

func init() { idleWorkerTimeout.Store(int64(5 * time.Second)) }

// txJob is a transaction to run.
type txJob struct {
	t  *txState
	tx *Tx
	h  Handler
}

// runJob runs j on an idle worker, or on a new one when none waits. The
// caller has counted it in c.work.
func (c *Client) runJob(j txJob) {
	select {
	case c.jobs <- j:
	default:
		go c.worker(j.t, j.tx, j.h)
	}
}

// worker runs a transaction's handler, reports its outcome, then runs the
// jobs handed to it while it waits idle. The handler runs in this frame,
// the bottom of the stack, so that a handler waiting on the operator is as
// shallow as on a goroutine of its own: the runtime then shrinks its stack
// back to 4 KiB after a deep render (BENCHMARKS.md, memory per waiting
// transaction).
func (c *Client) worker(t *txState, tx *Tx, h Handler) {
	var timer *time.Timer
	for t != nil {
		tx.Organization = c.organization(t.ctx)
		result, err := safeServe(t.ctx, h, tx)
		c.complete(t, tx, result, err)
		c.workDone()
		t, tx, h = c.nextJob(&timer)
	}
}

// nextJob waits, as an idle worker, for the next job, with *timer (made
// on the first wait) bounding the wait; nil when the worker is to end.
//
//go:noinline
func (c *Client) nextJob(timer **time.Timer) (*txState, *Tx, Handler) {
	d := time.Duration(idleWorkerTimeout.Load())
	if *timer == nil {
		*timer = time.NewTimer(d)
	} else {
		(*timer).Reset(d)
	}
	j, ok := c.awaitJobDeep((*timer).C)
	(*timer).Stop()
	if !ok {
		return nil, nil, nil
	}
	return j.t, j.tx, j.h
}

// awaitJobDeep is awaitJob in a frame that keeps idleDepth bytes of the
// stack in use while the worker waits: the garbage collector halves the
// stack of a goroutine that uses less than a quarter of it, and a worker
// waiting in a shallow frame would lose the stack it keeps idle for.
//
//go:noinline
func (c *Client) awaitJobDeep(expired <-chan time.Time) (txJob, bool) {
	var pad [idleDepth]byte
	j, ok := c.awaitJob(expired)
	keepStack(&pad)
	return j, ok
}

// idleDepth is the stack an idle worker keeps in use: with the runtime's
// 800 bytes of guard, more than a quarter of a 4 KiB stack.
const idleDepth = 256

// keepStack keeps *p alive, in its caller's frame, until it is called.
//
//go:noinline
func keepStack(*[idleDepth]byte) {}

// awaitJob waits, as an idle worker, for a job until expired fires or the
// client closes (then it returns false). It returns false at once when
// maxIdleWorkers wait already or the client has closed.
func (c *Client) awaitJob(expired <-chan time.Time) (txJob, bool) {
	c.mu.Lock()
	if c.state == stateClosed || c.idle >= maxIdleWorkers {
		c.mu.Unlock()
		return txJob{}, false
	}
	c.idle++
	c.bg.Add(1) // under c.mu, not closed: every bg.Wait comes after the move to closed
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.idle--
		c.mu.Unlock()
		c.bg.Done()
	}()
	select {
	case j := <-c.jobs:
		return j, true
	case <-expired:
	case <-c.life.Done():
	}
	return txJob{}, false
}
