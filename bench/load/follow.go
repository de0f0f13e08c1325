package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	wsa "github.com/interval-go/sdk/internal/isocket"
	"github.com/interval-go/sdk/internal/protocol"
)

// A console socket closes under a run when its server restarts (1012), the
// network drops, or the replica holding the run is gone. The web console
// (lib/socket.js) then opens another socket after a back-off, through the
// same address (which a load balancer may send to another replica), sends
// CONNECT_TO_TRANSACTION_AS_CLIENT for its run again and carries on: it
// shows the form again when the run still waits (an answer sent just
// before the drop may not have gone through) and the result once it
// completes. follow does the same for one run, so that the load program
// measures what an operator sees across restarts of the server.

// reconnectDelay is the console's back-off before reconnection attempt n
// (0 first): 500 ms doubling up to 8 s, ±20 %.
func reconnectDelay(n int) time.Duration {
	d := min(8*time.Second, 500*time.Millisecond<<min(n, 4))
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// answerAgain is how long an operator whose answer was refused (the run's
// host is away), or not acknowledged in time (its server frozen), waits for
// the form to come again before answering again, as the console's form
// shows the error and the operator submits again.
const answerAgain = time.Second

// createAttempts is how many times a run's creation is tried when the
// server cannot be reached or answers 502, 503 (a replica shutting down)
// or 504.
const createAttempts = 5

// create creates a run, trying again after a connection error or a
// gateway/unavailable status, as an operator clicks again.
func (d *driver) create(ctx context.Context) (string, error) {
	var err error
	for try := range createAttempts {
		if try > 0 {
			d.retried.Add(1)
			t := time.NewTimer(200 * time.Millisecond << (try - 1))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return "", fmt.Errorf("%w (after %v)", ctx.Err(), err)
			}
		}
		var id string
		id, err = d.con.createRun(ctx, slug, env)
		if err == nil {
			return id, nil
		}
		var se *statusError
		if errors.As(err, &se) && se.code != http.StatusServiceUnavailable && se.code != http.StatusBadGateway && se.code != http.StatusGatewayTimeout {
			return "", err
		}
		if ctx.Err() != nil {
			return "", err
		}
	}
	return "", err
}

// followed is what follow knows of its run across sockets.
type followed struct {
	id, answer string
	t0         time.Time
	rendered   time.Duration // creation → first RENDER
	answered   time.Time     // first RESPOND_TO_IO_CALL sent
	// acked is set once the server acknowledged an answer: the run never
	// asks for it again (a render then counts in driver.askedAgain).
	acked   bool
	ackedAt time.Time // when, for the log
	last    protocol.IORender
	// credit is the calls reserved on the current socket and not made,
	// in the wall-clock second creditSec: the server counts calls per
	// second, so a call made in a later second (a run that waited
	// across it) takes a call of that second's budget instead.
	credit    int
	creditSec int64
}

// use takes one call from b's reserved calls, or reserves one.
func (f *followed) use(ctx context.Context, b *browser) error {
	if f.credit > 0 && time.Now().Unix() == f.creditSec {
		f.credit--
		return nil
	}
	f.credit = 0
	return b.reserve(ctx, 1)
}

// follow carries run id through to its completion with o's sockets,
// starting on b (callsPerRun calls reserved): connect, answer each render
// until the run completes, leave; when the socket closes, another one
// connects to the run again.
func (d *driver) follow(ctx context.Context, o *operator, b *browser, id, answer string, t0 time.Time) sample {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	f := &followed{id: id, answer: answer, t0: t0, credit: callsPerRun, creditSec: b.reservedSec()}
	for attempt := 0; ; attempt++ {
		s, err := d.attached(ctx, b, f)
		if err == nil {
			return s
		}
		if !b.closed() && ctx.Err() == nil {
			// A server that refuses a call because the run is moving
			// closes the socket right after: the console then
			// reconnects (and connects to its run again). One that
			// acknowledged nothing in time (frozen) closes it when it
			// wakes, or its socket breaks: the console waits for that.
			patience := time.Second
			if errors.Is(err, wsa.ErrAckTimeout) {
				patience = d.timeout
			}
			t := time.NewTimer(patience)
			select {
			case <-b.conn.Done():
			case <-t.C:
			}
			t.Stop()
		}
		if !b.closed() || ctx.Err() != nil {
			d.noteErr(fmt.Errorf("run %s: %w", id, err))
			return sample{outcome: lost}
		}
		// The socket closed under the run: another one, after the
		// console's back-off.
		d.reconnects.Add(1)
		for b = nil; b == nil; attempt++ {
			t := time.NewTimer(reconnectDelay(attempt))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				d.noteErr(fmt.Errorf("run %s: reconnecting: %w (%v)", id, ctx.Err(), err))
				return sample{outcome: lost}
			}
			o.mu.Lock()
			nb, derr := o.socket(ctx, callsPerRun)
			o.mu.Unlock()
			if derr != nil {
				err = derr
				continue
			}
			b, f.credit, f.creditSec = nb, callsPerRun, nb.reservedSec()
		}
	}
}

// attached connects socket b to f's run and answers its renders until it
// completes (then leaves it; nil error) or the socket closes, the server
// refuses the connection or the run's time is up.
func (d *driver) attached(ctx context.Context, b *browser, f *followed) (sample, error) {
	w := b.watch(f.id)
	defer b.unwatch(f.id)
	// A call whose answer the closed socket will never bring ends with
	// the socket.
	ctx, cancel := b.open(ctx)
	defer cancel()
	if err := f.use(ctx, b); err != nil {
		return sample{}, err
	}
	if err := b.must(ctx, protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: f.id}); err != nil {
		return sample{}, err
	}
	var again <-chan time.Time
	respond := func() error {
		if err := f.use(ctx, b); err != nil {
			return err
		}
		if f.answered.IsZero() {
			f.answered = time.Now()
		}
		err := b.must(ctx, protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: f.id, IOResponse: ioResponse(f.id, f.last, f.answer)})
		if errors.Is(err, errRefused) || errors.Is(err, wsa.ErrAckTimeout) {
			// The host is away (or the form moved on): answer again
			// when it comes back, or after a while, as an operator
			// clicks again.
			again = time.After(answerAgain)
			return nil
		}
		again = nil
		if err == nil {
			f.acked, f.ackedAt = true, time.Now()
			// A render received before the acknowledgement (the host
			// sent its call again while the answer was on its way)
			// was sent before the answer was taken: it asks nothing
			// again. The socket's reader queued it before it took
			// the acknowledgement.
			select {
			case <-w.render:
			default:
			}
		}
		return err
	}
	for {
		select {
		case raw := <-w.render:
			r, err := protocol.DecodeIORender(raw)
			if err != nil {
				return sample{}, err
			}
			if f.rendered == 0 {
				f.rendered = time.Since(f.t0)
			}
			if f.acked {
				d.askedAgain.Add(1)
				d.noteErr(fmt.Errorf("run %s: asked again for an answer the server acknowledged at %s (render %s)",
					f.id, f.ackedAt.UTC().Format("15:04:05.000"), r.ID))
				f.acked = false
			}
			f.last = r
			if err := respond(); err != nil {
				return sample{}, err
			}
		case <-again:
			if err := respond(); err != nil {
				return sample{}, err
			}
		case c := <-w.completed:
			s := sample{outcome: completed, render: f.rendered, total: time.Since(f.t0)}
			if !f.answered.IsZero() {
				s.answer = time.Since(f.answered)
			}
			if got, ok := resultData(c); !ok || got != f.answer {
				d.noteErr(fmt.Errorf("run %s: result %s %q, want SUCCESS %q", f.id, c.ResultStatus, protocol.Clip(c.Result, 200), f.answer))
				s.outcome = wrong
			}
			if f.use(ctx, b) == nil {
				if err := b.must(ctx, protocol.MethodLeaveTransaction, protocol.TransactionRef{TransactionID: f.id}); err != nil && !b.closed() {
					d.noteErr(fmt.Errorf("run %s: %w", f.id, err))
				}
			}
			return s, nil
		case <-ctx.Done():
			return sample{}, fmt.Errorf("waiting for RENDER or TRANSACTION_COMPLETED: %w", ctx.Err())
		case <-b.conn.Done():
			return sample{}, b.closedErr()
		}
	}
}

// open returns ctx ending also when b's socket ends.
func (b *browser) open(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := make(chan struct{})
	go func() {
		select {
		case <-b.conn.Done():
			cancel()
		case <-stop:
		}
	}()
	return ctx, func() {
		close(stop)
		cancel()
	}
}

// starts counts how many times the hosts' handler started each run: a
// second start of one transaction id is a duplicate (the run executed
// twice).
type starts struct {
	mu    sync.Mutex
	n     map[string]int
	total int
	dups  int
	// log, if set, is told of each duplicate, with the run's id.
	log *slog.Logger
}

// start records a start of run id.
func (s *starts) start(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[string]int{}
	}
	s.n[id]++
	s.total++
	if s.n[id] > 1 {
		s.dups++
		if s.log != nil {
			s.log.Warn("a host started a run again", "run", id, "starts", s.n[id])
		}
	}
}

// started returns how many starts there were so far.
func (s *starts) started() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// duplicates returns how many starts were duplicates so far.
func (s *starts) duplicates() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dups
}
