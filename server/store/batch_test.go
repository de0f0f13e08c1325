package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gated is a store whose batches can be held (hold) and made to fail
// (fail); it records the size of each batch it was given.
type gated struct {
	Store
	b       Batcher
	hold    chan struct{} // when not nil, a batch waits until it is closed
	fail    atomic.Bool
	mu      sync.Mutex
	sizes   []int
	entered chan struct{}
}

func newGated(st Store) *gated {
	return &gated{Store: st, b: st.(Batcher), entered: make(chan struct{}, 100)}
}

func (g *gated) WriteBatch(ctx context.Context, ws []Write, errs []error) error {
	g.mu.Lock()
	g.sizes = append(g.sizes, len(ws))
	hold := g.hold
	g.mu.Unlock()
	select {
	case g.entered <- struct{}{}:
	default:
	}
	if hold != nil {
		<-hold
	}
	if g.fail.Load() {
		return errors.New("disk I/O error")
	}
	return g.b.WriteBatch(ctx, ws, errs)
}

func (g *gated) batchSizes() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.sizes...)
}

func newTx(id string) Transaction {
	return Transaction{ID: id, Slug: "act", ActionName: "Act", Env: EnvProduction, UserID: "u1", UserEmail: "a@example.com",
		Status: StatusPending, CreatedAt: ts(1), UpdatedAt: ts(1)}
}

// Concurrent writers, each updating its own transaction and appending its
// logs: once Close returns, a store opened again has every transaction in
// its last state and every log line, in order.
func TestGroupCommitConcurrentWritesDurable(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		st := open(t)
		const writers, steps = 12, 25
		var batches, writes atomic.Int64
		g := NewGroupCommit(st, GroupCommitOptions{OnBatch: func(n int, _ time.Duration, err error) {
			batches.Add(1)
			writes.Add(int64(n))
		}})
		var wg sync.WaitGroup
		errs := make(chan error, writers*steps*2)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprint("tx", w)
				if err := g.CreateTransaction(ctx, newTx(id)); err != nil {
					errs <- err
				}
				if err := g.CreateTransaction(ctx, newTx(id)); !errors.Is(err, ErrConflict) {
					errs <- fmt.Errorf("creating %s again: %v", id, err)
				}
				for i := range steps {
					rec := newTx(id)
					rec.Status, rec.Result = StatusRunning, fmt.Sprint("step ", i)
					if i%2 == 0 {
						g.Queue(rec, "")
					} else if err := g.UpdateTransaction(ctx, rec); err != nil {
						errs <- err
					}
					if err := g.AppendLog(ctx, id, Log{Index: i, Timestamp: int64(i), Data: fmt.Sprint(id, " line ", i)}); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		must(t, g.Close())
		if g.Failed() != 0 {
			t.Fatalf("%d failed", g.Failed())
		}
		again := open(t)
		for w := range writers {
			id := fmt.Sprint("tx", w)
			rec, err := again.Transaction(ctx, id)
			must(t, err)
			if rec.Status != StatusRunning || rec.Result != fmt.Sprint("step ", steps-1) {
				t.Fatalf("%s: %s %q", id, rec.Status, rec.Result)
			}
			logs, err := again.Logs(ctx, id)
			must(t, err)
			if len(logs) != steps {
				t.Fatalf("%s: %d log lines", id, len(logs))
			}
			for i, l := range logs {
				if l.Index != i || l.Data != fmt.Sprint(id, " line ", i) {
					t.Fatalf("%s: line %d is %+v", id, i, l)
				}
			}
		}
		// Audit events join the batches, in order.
		g2 := NewGroupCommit(open(t), GroupCommitOptions{})
		for i := range 5 {
			must(t, g2.AppendAudit(ctx, AuditEvent{At: ts(i), Action: "run.started", Target: fmt.Sprint("tx", i)}))
		}
		if err := g2.AppendAudit(ctx, AuditEvent{At: ts(9), Action: "x", Detail: []byte("{")}); err == nil {
			t.Fatal("an audit event whose detail is not JSON was stored")
		}
		evs, err := g2.ListAudit(ctx, AuditFilter{Action: "run.started"})
		must(t, err)
		if len(evs) != 5 || evs[0].Target != "tx4" || evs[4].Target != "tx0" {
			t.Fatalf("audit trail %+v", evs)
		}
		must(t, g2.Close())
		if writes.Load() == 0 || batches.Load() > writes.Load() {
			t.Fatalf("%d batches for %d writes", batches.Load(), writes.Load())
		}
		if err := g.UpdateTransaction(ctx, newTx("tx0")); !errors.Is(err, ErrClosed) {
			t.Fatalf("write after Close: %v", err)
		}
	})
}

// Writes queued while a batch commits share the next batch; a later state
// of a transaction replaces its earlier one there; a read waits for the
// writes queued before it.
func TestGroupCommitGroupsAndCoalesces(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		st := newGated(open(t))
		for i := range 6 {
			must(t, st.CreateTransaction(ctx, newTx(fmt.Sprint("g", i))))
		}
		st.hold = make(chan struct{})
		g := NewGroupCommit(st, GroupCommitOptions{})
		defer g.Close()
		first := newTx("g0")
		first.Status = StatusRunning
		g.Queue(first, "")
		<-st.entered // the first batch is being committed, held
		for i := 1; i < 6; i++ {
			rec := newTx(fmt.Sprint("g", i))
			rec.Status = StatusAwaitingInput
			g.Queue(rec, "")
			rec.Status = StatusCompleted
			g.Queue(rec, "")
		}
		close(st.hold)
		rec, err := g.Transaction(ctx, "g5")
		must(t, err)
		if rec.Status != StatusCompleted {
			t.Fatalf("read after queued writes: %s", rec.Status)
		}
		if got := st.batchSizes(); len(got) != 2 || got[0] != 1 || got[1] != 5 {
			t.Fatalf("batch sizes %v, want [1 5]", got)
		}
	})
}

// A batch the database refuses fails every write in it: each waiter gets
// the error, a queued write is reported and kept for Retry, which writes
// it once the database works again. A write that fails alone (an unknown
// transaction) does not fail the others of its batch.
func TestGroupCommitFailure(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		st := newGated(open(t))
		for i := range 4 {
			must(t, st.CreateTransaction(ctx, newTx(fmt.Sprint("f", i))))
		}
		var mu sync.Mutex
		var failed, retried []string
		g := NewGroupCommit(st, GroupCommitOptions{
			OnFail:    func(t Transaction, err error) { mu.Lock(); failed = append(failed, t.ID+" "+t.Status); mu.Unlock() },
			OnRetried: func(t Transaction) { mu.Lock(); retried = append(retried, t.ID); mu.Unlock() },
		})
		defer g.Close()

		st.fail.Store(true)
		st.hold = make(chan struct{})
		g.Queue(newTx("f0"), "") // a batch of its own, held
		<-st.entered
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i := 1; i < 4; i++ {
			g.Queue(newTx("never"), "") // replaced below, keeps the batch's order
			wg.Add(1)
			go func() {
				defer wg.Done()
				rec := newTx(fmt.Sprint("f", i))
				rec.Status = StatusRunning
				errs[i-1] = g.UpdateTransaction(ctx, rec)
			}()
		}
		rec := newTx("f0")
		rec.Status = StatusCompleted
		g.Queue(rec, "")
		close(st.hold)
		wg.Wait()
		for i, err := range errs {
			if err == nil {
				t.Fatalf("waiter %d: no error from a failed batch", i)
			}
		}
		if n := g.Failed(); n != 2 {
			t.Fatalf("%d transactions failed, want f0 and never", n)
		}
		st.fail.Store(false)
		if n := g.Retry(ctx); n != 1 {
			t.Fatalf("after the retry %d still failed, want 1 (never does not exist)", n)
		}
		got, err := st.Transaction(ctx, "f0")
		must(t, err)
		if got.Status != StatusCompleted {
			t.Fatalf("f0 after the retry: %s", got.Status)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(retried) != 1 || retried[0] != "f0" {
			t.Fatalf("retried %v", retried)
		}
		if len(failed) < 3 || failed[0] != "f0 PENDING" {
			t.Fatalf("failures reported: %v", failed)
		}
	})
}

// A new transaction queued with its audit event is written with it in one
// commit; a taken id, or an event whose detail is not JSON, writes neither.
func TestGroupCommitCreateWithAudit(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		gs := newGated(open(t))
		g := NewGroupCommit(gs, GroupCommitOptions{})
		defer g.Close()
		started := func(id string) *AuditEvent {
			return &AuditEvent{At: ts(2), ActorEmail: "a@example.com", Action: "run.started", Target: id, Detail: []byte(`{"slug":"act"}`)}
		}
		if err := g.QueueCreate(newTx("tx1"), "", started("tx1"))(ctx); err != nil {
			t.Fatal(err)
		}
		if sizes := gs.batchSizes(); len(sizes) != 1 || sizes[0] != 1 {
			t.Fatalf("batches %v: want the run and its event in one write of one batch", sizes)
		}
		if err := g.QueueCreate(newTx("tx1"), "", started("tx1"))(ctx); !errors.Is(err, ErrConflict) {
			t.Fatalf("creating tx1 again: %v", err)
		}
		bad := started("tx2")
		bad.Detail = []byte("{")
		if err := g.QueueCreate(newTx("tx2"), "", bad)(ctx); err == nil {
			t.Fatal("an event whose detail is not JSON was taken")
		}
		if _, err := g.Transaction(ctx, "tx2"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("tx2 was created without its event: %v", err)
		}
		evs, err := g.ListAudit(ctx, AuditFilter{Action: "run.started"})
		must(t, err)
		if len(evs) != 1 || evs[0].Target != "tx1" || string(evs[0].Detail) != `{"slug":"act"}` {
			t.Fatalf("events %+v: want the one of tx1's creation", evs)
		}
		// The event is dropped with its run when the batch fails.
		gs.fail.Store(true)
		if err := g.QueueCreate(newTx("tx3"), "", started("tx3"))(ctx); err == nil {
			t.Fatal("a failed batch was reported written")
		}
		gs.fail.Store(false)
		evs, err = g.ListAudit(ctx, AuditFilter{Action: "run.started"})
		must(t, err)
		if len(evs) != 1 {
			t.Fatalf("%d events after the failed batch", len(evs))
		}
	})
}

// A lazy write starts no commit and Barrier does not wait for it: it goes
// with the next write that must be committed (one batch, its latest state
// only), and Sync and reads see it at once. Alone it is committed after
// LazyDelay.
func TestGroupCommitLazyWrites(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		st := newGated(open(t))
		for i := range 3 {
			must(t, st.CreateTransaction(ctx, newTx(fmt.Sprint("z", i))))
		}
		g := NewGroupCommit(st, GroupCommitOptions{LazyDelay: time.Hour})
		defer g.Close()
		rec := newTx("z0")
		rec.Status = StatusAwaitingInput
		g.QueueLazy(rec, "")
		bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		must(t, g.Barrier(bctx)) // returns at once: nothing it must wait for
		time.Sleep(50 * time.Millisecond)
		if got := st.batchSizes(); len(got) != 0 {
			t.Fatalf("a lazy write alone was committed at once: batches %v", got)
		}
		other := newTx("z1")
		other.Status = StatusRunning
		g.Queue(other, "") // must be committed: takes the lazy one along
		must(t, g.Barrier(bctx))
		if got := st.batchSizes(); len(got) != 1 || got[0] != 2 {
			t.Fatalf("batch sizes %v, want [2]", got)
		}
		stored, err := st.Store.Transaction(ctx, "z0")
		must(t, err)
		if stored.Status != StatusAwaitingInput {
			t.Fatalf("lazy write not committed with the next batch: %s", stored.Status)
		}

		// A lazy state replaced by an eager one of the same transaction
		// makes one eager write.
		rec.Status = StatusRunning
		g.QueueLazy(rec, "")
		rec.Status = StatusCompleted
		g.Queue(rec, "")
		must(t, g.Barrier(bctx))
		if got := st.batchSizes(); len(got) != 2 || got[1] != 1 {
			t.Fatalf("batch sizes %v, want [2 1]", got)
		}

		// Reads see a lazy write: they commit it first.
		last := newTx("z2")
		last.Status = StatusAwaitingInput
		g.QueueLazy(last, "")
		read, err := g.Transaction(bctx, "z2")
		must(t, err)
		if read.Status != StatusAwaitingInput {
			t.Fatalf("read after a lazy write: %s", read.Status)
		}
	})
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		st := newGated(open(t))
		must(t, st.CreateTransaction(ctx, newTx("d0")))
		g := NewGroupCommit(st, GroupCommitOptions{LazyDelay: 30 * time.Millisecond})
		defer g.Close()
		rec := newTx("d0")
		rec.Status = StatusAwaitingInput
		g.QueueLazy(rec, "")
		select {
		case <-st.entered: // committed alone once LazyDelay passed
		case <-time.After(10 * time.Second):
			t.Fatal("a lazy write alone was never committed")
		}
		must(t, g.Sync(ctx))
		stored, err := st.Store.Transaction(ctx, "d0")
		must(t, err)
		if stored.Status != StatusAwaitingInput {
			t.Fatalf("lazy write: %s", stored.Status)
		}
	})
}

// With a Delay, a commit that follows another at once waits for more
// writes: the writes queued while it waits share it. A read does not wait
// for the delay.
func TestGroupCommitDelayGathers(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		st := newGated(open(t))
		for i := range 6 {
			must(t, st.CreateTransaction(ctx, newTx(fmt.Sprint("w", i))))
		}
		hold := make(chan struct{})
		st.hold = hold
		// Any commit counts as following another: a slow machine may
		// take longer than the default between two.
		g := NewGroupCommit(st, GroupCommitOptions{Delay: time.Second, busyGap: time.Hour})
		defer g.Close()
		update := func(i int) {
			rec := newTx(fmt.Sprint("w", i))
			rec.Status = StatusRunning
			g.Queue(rec, "")
		}
		update(0)
		<-st.entered // the first commit, held
		update(1)    // two runs' writes wait for the next commit,
		update(5)    // which follows the first at once: it waits
		st.mu.Lock()
		st.hold = nil
		st.mu.Unlock()
		close(hold)
		for deadline := time.Now().Add(10 * time.Second); g.delayed.Load() == 0; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the second commit did not wait for company (batch sizes %v)", st.batchSizes())
			}
		}
		update(2) // they join it
		update(3)
		start := time.Now()
		read, err := g.Transaction(ctx, "w3") // a read ends the delay
		must(t, err)
		if read.Status != StatusRunning {
			t.Fatalf("read: %s", read.Status)
		}
		if waited := time.Since(start); waited > 700*time.Millisecond {
			t.Fatalf("a read waited %v for the delay", waited)
		}
		if got := st.batchSizes(); len(got) != 2 || got[0] != 1 || got[1] != 4 {
			t.Fatalf("batch sizes %v, want [1 4]", got)
		}
		if n := g.delayed.Load(); n != 1 {
			t.Fatalf("%d commits waited for company, want 1", n)
		}
	})
}

// TestGroupCommitDelayLoneRun: the commits of one run, back to back, do
// not wait for company (as PostgreSQL's commit_siblings): nothing would
// join them, and a lone operator's run would take a delay (at least a
// millisecond of Go's timers) per commit.
func TestGroupCommitDelayLoneRun(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		st := newGated(open(t))
		g := NewGroupCommit(st, GroupCommitOptions{Delay: time.Second, busyGap: time.Hour})
		defer g.Close()
		rec := newTx("lone")
		must(t, g.CreateTransaction(ctx, rec))
		for _, status := range []string{StatusRunning, StatusAwaitingInput, StatusRunning, StatusCompleted} {
			rec.Status = status
			must(t, g.UpdateTransaction(ctx, rec))
			must(t, g.AppendLog(ctx, rec.ID, Log{Index: len(status), Timestamp: 1, Data: `"line"`}))
		}
		if n := g.delayed.Load(); n != 0 {
			t.Fatalf("%d commits of a lone run waited for company, want 0 (batches %v)", n, st.batchSizes())
		}
		if got, err := g.Transaction(ctx, "lone"); err != nil || got.Status != StatusCompleted {
			t.Fatalf("read: %+v %v", got.Status, err)
		}
	})
}

// A run's end is final: a write of a finished transaction that would
// change its status is refused with ErrFinished, alone or in a batch, and
// the batch's other writes go through; a queued one is reported once to
// OnFinished and never retried. A write that keeps the final status (a
// pending answer dropped after the end) goes through.
func TestFinishedTransactionIsFinal(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		st := open(t)
		rec := newTx("end")
		must(t, st.CreateTransaction(ctx, rec))
		rec.Status = StatusRunning
		must(t, st.UpdateTransaction(ctx, rec))
		done := ts(5)
		rec.Status, rec.ResultStatus, rec.Result, rec.CompletedAt, rec.PendingAnswer = StatusCompleted, "SUCCESS", `{"data":"ok"}`, &done, `{"id":"a"}`
		must(t, st.UpdateTransaction(ctx, rec))

		stale := newTx("end")
		stale.Status = StatusRunning
		isErr(t, "reopen a completed run", st.UpdateTransaction(ctx, stale), ErrFinished)
		stale.Status = StatusCanceled
		isErr(t, "cancel a completed run", st.UpdateTransaction(ctx, stale), ErrFinished)
		isErr(t, "update unknown", st.UpdateTransaction(ctx, Transaction{ID: "nope", Status: StatusRunning}), ErrNotFound)
		rec.PendingAnswer = ""
		must(t, st.UpdateTransaction(ctx, rec))

		must(t, st.CreateTransaction(ctx, newTx("other")))
		var mu sync.Mutex
		var finished, failed []string
		g := NewGroupCommit(st, GroupCommitOptions{
			OnFail:     func(t Transaction, err error) { mu.Lock(); failed = append(failed, t.ID); mu.Unlock() },
			OnFinished: func(t Transaction) { mu.Lock(); finished = append(finished, t.ID+" "+t.Status); mu.Unlock() },
		})
		defer g.Close()
		stale.Status = StatusHostDropped
		g.Queue(stale, "")
		other := newTx("other")
		other.Status = StatusRunning
		g.Queue(other, "")
		must(t, g.Sync(ctx))
		if n := g.Retry(ctx); n != 0 {
			t.Fatalf("%d writes left to retry, want none", n)
		}
		got, err := g.Transaction(ctx, "end")
		must(t, err)
		if got.Status != StatusCompleted || got.Result != `{"data":"ok"}` || got.CompletedAt == nil || got.PendingAnswer != "" {
			t.Fatalf("the finished run after a stale write: %+v", got)
		}
		if got, _ := g.Transaction(ctx, "other"); got.Status != StatusRunning {
			t.Fatalf("the batch's other write: status %s, want RUNNING", got.Status)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(finished) != 1 || finished[0] != "end HOST_DROPPED" || len(failed) != 0 {
			t.Fatalf("reported finished %v, failed %v; want [end HOST_DROPPED] and none", finished, failed)
		}
	})
}
