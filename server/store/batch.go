package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned for a write given to a GroupCommit after Close.
var ErrClosed = errors.New("store: closed")

// Write is one write of a batch: an update of a transaction's mutable
// fields (Tx set, as UpdateTransaction), a new transaction (Create set, as
// CreateTransaction), a log line of transaction TxID (Log set, as
// AppendLog) or an audit event (Audit set, as AppendAudit). With both
// Create and Audit set, the event records the creation: it is written
// with the new transaction, in the same database transaction, and only
// when the transaction was created. With Create, a non-empty Owner is the
// replica that holds the new transaction in a Cluster store: it is written
// in the same statement (Cluster.TransactionOwner), so that a replica's new
// run is never held by nobody, as it would be between a creation and a
// ClaimTransaction by a replica that died in between. With Tx, a non-empty
// Owner fences the update: it is written only while Owner (or nobody)
// holds the transaction, else it fails with ErrNotOwner. A replica taken
// for dead, whose runs others claimed, cannot then overwrite their states
// with its stale copies (a write it had begun before a freeze, one it
// retries). Other stores ignore it.
type Write struct {
	Tx     *Transaction
	Create *Transaction
	Owner  string
	TxID   string
	Log    *Log
	Audit  *AuditEvent
}

// Batcher is implemented by stores that commit many writes in one database
// transaction (one fsync for all of them).
type Batcher interface {
	// WriteBatch applies ws in order in one database transaction and
	// commits it. It returns an error when the transaction failed: then
	// none of ws is written. errs (as long as ws) gets the error of a
	// write that failed alone without spoiling the others: an update of a
	// transaction that does not exist (ErrNotFound), a new one whose id
	// is taken (ErrConflict), an audit event whose detail is not JSON.
	WriteBatch(ctx context.Context, ws []Write, errs []error) error
}

var (
	_ Batcher = (*SQLite)(nil)
	_ Batcher = (*Postgres)(nil)
)

// Statements of the hot paths, prepared once per store (stmt).
const (
	// newTxCols are the columns a new transaction is written with
	// (createTx), in the order of its arguments.
	newTxCols = `id, slug, action_name, env, user_id, user_email, user_name, developer_id,
		status, result_status, params, params_meta, result, host_instance_id, created_at, updated_at, completed_at, via_http_host, host_key_id`
	newTxArgs = `?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?`
	qCreateTx = `INSERT INTO transactions (` + newTxCols + `) VALUES (` + newTxArgs + `)`
	// qUpdateTx writes a transaction's mutable fields, unless it finished
	// with another status: a run's end is final (see ErrFinished).
	qUpdateTx = `UPDATE transactions SET status=?, result_status=?, result=?, host_instance_id=?, host_key_id=?, via_http_host=?, updated_at=?, completed_at=?, pending_answer=? WHERE id=? AND (status NOT IN ('COMPLETED', 'CANCELED') OR status=?)`
	// qUpdateTxOwned is qUpdateTx fenced by the owner (Write.Owner).
	qUpdateTxOwned = qUpdateTx + ` AND owner IN ('', ?)`
	qTx            = `SELECT ` + txCols + ` FROM transactions WHERE id = ?`
	// qCreateTxOnce is qCreateTx that leaves a taken id alone, so that a
	// batch's transaction is not spoiled by it (PostgreSQL aborts one on
	// a unique violation).
	qCreateTxOnce = qCreateTx + ` ON CONFLICT (id) DO NOTHING`
	// qCreateTxOwned is qCreateTxOnce for a store whose transactions have
	// an owner (a Cluster's): the replica holding the new one (Write.Owner).
	qCreateTxOwned = `INSERT INTO transactions (` + newTxCols + `, owner) VALUES (` + newTxArgs + `,?) ON CONFLICT (id) DO NOTHING`
	qAppendAudit   = `INSERT INTO audit_events (at, actor_id, actor_email, action, target, detail, remote) VALUES (?, ?, ?, ?, ?, ?, ?)`
	qAppendLog     = `INSERT INTO transaction_logs (transaction_id, idx, ts, data) VALUES (?,?,?,?)
		ON CONFLICT (transaction_id, idx) DO UPDATE SET ts = excluded.ts, data = excluded.data`
)

// stmts holds a store's prepared statements by query text.
type stmts struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// stmt returns the statement of q (? placeholders), prepared on first use:
// the database then parses it once, not on every exec. The cache's lock is
// not held while preparing, which waits for a connection (SQLite's one may
// be in a batch's transaction, which looks statements up).
func (s *sqlStore) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	s.prep.mu.Lock()
	st, ok := s.prep.m[q]
	s.prep.mu.Unlock()
	if ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, s.d.rebind(q))
	if err != nil {
		return nil, err
	}
	s.prep.mu.Lock()
	defer s.prep.mu.Unlock()
	if had, ok := s.prep.m[q]; ok {
		st.Close() // prepared meanwhile by another caller
		return had, nil
	}
	if s.prep.m == nil {
		s.prep.m = map[string]*sql.Stmt{}
	}
	s.prep.m[q] = st
	return st, nil
}

// maxStmts bounds the statements cached: queries built from filters
// (ListTransactions) come in many shapes, and those past the bound run
// unprepared.
const maxStmts = 256

// cached returns the prepared statement of q, or nil when the cache is
// full or q could not be prepared (the caller then runs it directly, and
// gets the error there).
func (s *sqlStore) cached(ctx context.Context, q string) *sql.Stmt {
	s.prep.mu.Lock()
	st, ok := s.prep.m[q]
	full := len(s.prep.m) >= maxStmts
	s.prep.mu.Unlock()
	if ok {
		return st
	}
	if full {
		return nil
	}
	st, err := s.stmt(ctx, q)
	if err != nil {
		return nil
	}
	return st
}

// closeStmts closes the prepared statements (before the database).
func (s *sqlStore) closeStmts() {
	s.prep.mu.Lock()
	defer s.prep.mu.Unlock()
	for _, st := range s.prep.m {
		st.Close()
	}
	s.prep.m = nil
}

// execPrepared runs q as a prepared statement, in tx when it is not nil.
// In tx, q must have been prepared before the transaction began: with
// SQLite's single connection, preparing would wait for the transaction's
// own connection.
func (s *sqlStore) execPrepared(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if tx == nil {
		st, err := s.stmt(ctx, q)
		if err != nil {
			return nil, err
		}
		return st.ExecContext(ctx, s.d.args(args)...)
	}
	s.prep.mu.Lock()
	st := s.prep.m[q]
	s.prep.mu.Unlock()
	if st == nil {
		return tx.ExecContext(ctx, s.d.rebind(q), s.d.args(args)...)
	}
	return tx.StmtContext(ctx, st).ExecContext(ctx, s.d.args(args)...)
}

// updateTx writes t's mutable fields, fenced by owner (Write.Owner) in a
// store whose transactions have one.
func (s *sqlStore) updateTx(ctx context.Context, tx *sql.Tx, t Transaction, owner string) (sql.Result, error) {
	args := []any{t.Status, t.ResultStatus, s.d.blob(t.Result), t.HostInstanceID, t.HostKeyID, t.ViaHTTPHost, ms(t.UpdatedAt), nullMS(t.CompletedAt), s.d.blob(t.PendingAnswer), t.ID,
		t.Status}
	q := qUpdateTx
	if owner != "" && s.d.owners {
		q, args = qUpdateTxOwned, append(args, owner)
	}
	return s.execPrepared(ctx, tx, q, args...)
}

// txUpdated is affected for updateTx of transaction id by owner (in tx, or
// not when nil): no row written is ErrNotOwner when another replica holds
// id, ErrFinished when id is stored (it finished, and the write would have
// changed its end), ErrNotFound when it is not.
func (s *sqlStore) txUpdated(ctx context.Context, tx *sql.Tx, id, owner string, r sql.Result, err error) error {
	err = s.affected("update transaction", r, err)
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	q := `SELECT status, '' FROM transactions WHERE id = ?`
	if s.d.owners {
		q = `SELECT status, owner FROM transactions WHERE id = ?`
	}
	var row *sql.Row
	if tx != nil {
		row = tx.QueryRowContext(ctx, s.d.rebind(q), id)
	} else {
		row = s.db.QueryRowContext(ctx, s.d.rebind(q), id)
	}
	var status, held string
	if serr := row.Scan(&status, &held); errors.Is(serr, sql.ErrNoRows) {
		return err
	} else if serr != nil {
		return s.wrap("update transaction", serr)
	}
	if owner != "" && held != "" && held != owner && s.d.owners {
		return fmt.Errorf("store: update transaction %s (held by %s, not %s): %w", id, held, owner, ErrNotOwner)
	}
	return fmt.Errorf("store: update transaction %s (%s): %w", id, status, ErrFinished)
}

// createTx inserts t with q (qCreateTx or qCreateTxOnce), or, given an
// owner in a store whose transactions have one, with qCreateTxOwned.
func (s *sqlStore) createTx(ctx context.Context, tx *sql.Tx, q string, t Transaction, owner string) (sql.Result, error) {
	args := []any{t.ID, t.Slug, t.ActionName, t.Env, t.UserID, t.UserEmail, t.UserName, t.DeveloperID,
		t.Status, t.ResultStatus, s.d.blob(rawOr(t.Params, "{}")), s.d.blob(rawOr(t.ParamsMeta, "")), s.d.blob(t.Result), t.HostInstanceID,
		ms(t.CreatedAt), ms(t.UpdatedAt), nullMS(t.CompletedAt), t.ViaHTTPHost, t.HostKeyID}
	if owner != "" && s.d.owners {
		q, args = qCreateTxOwned, append(args, owner)
	}
	return s.execPrepared(ctx, tx, q, args...)
}

func (s *sqlStore) appendLog(ctx context.Context, tx *sql.Tx, txID string, l Log) error {
	_, err := s.execPrepared(ctx, tx, qAppendLog, txID, l.Index, l.Timestamp, s.d.blob(l.Data))
	return err
}

// WriteBatch commits ws in one database transaction (see Batcher).
func (s *sqlStore) WriteBatch(ctx context.Context, ws []Write, errs []error) error {
	for _, q := range []string{qUpdateTx, qAppendLog, qCreateTxOnce, qAppendAudit, qCreateTxOwned, qUpdateTxOwned} {
		if (q == qCreateTxOwned || q == qUpdateTxOwned) && !s.d.owners {
			continue
		}
		if _, err := s.stmt(ctx, q); err != nil {
			return s.wrap("write batch", err)
		}
	}
	if s.d.uninterruptible {
		ctx = context.WithoutCancel(ctx)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("write batch", err)
	}
	for i, w := range ws {
		switch {
		case w.Tx != nil:
			r, err := s.updateTx(ctx, tx, *w.Tx, w.Owner)
			if err = s.txUpdated(ctx, tx, w.Tx.ID, w.Owner, r, err); err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrFinished) && !errors.Is(err, ErrNotOwner) {
				tx.Rollback()
				return err
			}
			errs[i] = err
		case w.Create != nil:
			var detail string
			if w.Audit != nil {
				// Checked first: the event and its transaction are
				// written together or not at all.
				d, err := auditDetail(*w.Audit)
				if err != nil {
					errs[i] = err
					continue
				}
				detail = d
			}
			r, err := s.createTx(ctx, tx, qCreateTxOnce, *w.Create, w.Owner)
			if err = s.affected("create transaction", r, err); errors.Is(err, ErrNotFound) {
				err = fmt.Errorf("store: create transaction: %w", ErrConflict)
			} else if err != nil {
				tx.Rollback()
				return err
			}
			errs[i] = err
			if err == nil && w.Audit != nil {
				if _, err := s.execPrepared(ctx, tx, qAppendAudit, auditArgs(*w.Audit, detail)...); err != nil {
					tx.Rollback()
					return s.wrap("append audit event", err)
				}
			}
		case w.Log != nil:
			if err := s.appendLog(ctx, tx, w.TxID, *w.Log); err != nil {
				tx.Rollback()
				return s.wrap("append log", err)
			}
		case w.Audit != nil:
			detail, err := auditDetail(*w.Audit)
			if err != nil {
				errs[i] = err
				continue
			}
			if _, err := s.execPrepared(ctx, tx, qAppendAudit, auditArgs(*w.Audit, detail)...); err != nil {
				tx.Rollback()
				return s.wrap("append audit event", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return s.wrap("write batch", err)
	}
	return nil
}

// GroupCommitOptions configure a GroupCommit.
type GroupCommitOptions struct {
	// Timeout bounds the writing of one batch (default 30 s): a database
	// that stops answering fails the batch, and its waiters, instead of
	// holding them forever. SQLite's batches run to their end (a write
	// there cannot be interrupted where it could hang; see dialect).
	Timeout time.Duration
	// OnFail, if set, is called (from the committing goroutine, before
	// the batch's waiters are released: it must not wait for the group
	// commit) with the state of a transaction given to Queue whose write
	// failed; Retry writes it again.
	OnFail func(t Transaction, err error)
	// OnFinished, if set, is called (as OnFail) when a queued write was
	// refused because the stored transaction had finished with another
	// status (ErrFinished): a stale copy's. It is not written again.
	OnFinished func(t Transaction)
	// OnNotOwner, if set, is called (as OnFail) when a queued write was
	// refused because another replica holds the transaction now
	// (ErrNotOwner): a stale copy's, of a replica taken for dead. It is
	// not written again.
	OnNotOwner func(t Transaction)
	// OnRetried, if set, is called when the state of a transaction whose
	// queued write had failed was written (as OnFail, before the batch's
	// waiters are released).
	OnRetried func(t Transaction)
	// OnAuditFail, if set, is called when the audit event given with a
	// new transaction (QueueCreate) could not be written although the
	// transaction was: with a store that is not a Batcher, which writes
	// them one after the other. A Batcher writes both or neither.
	OnAuditFail func(e AuditEvent, err error)
	// OnBatch, if set, is called after each batch with its size, how long
	// it took and its error (for metrics).
	OnBatch func(n int, d time.Duration, err error)
	// LazyDelay bounds how long a write given to QueueLazy waits for a
	// commit it can share (default 50 ms): while only such writes are
	// queued and nobody waits, no commit starts before it passed.
	LazyDelay time.Duration
	// Delay, when above 0, is how long a commit waits for more writes to
	// share it when commits follow each other (the previous one ended
	// less than 2 ms before), hold the writes of several transactions (it
	// or the previous one: as PostgreSQL's commit_siblings, a lone run's
	// commits do not wait) and no read waits for it, as PostgreSQL's
	// commit_delay: fewer commits, and fsyncs, under load (less CPU on a
	// disk whose fsync is fast), at the cost of latency for every write
	// then: Delay, or about a millisecond for a shorter Delay when the
	// process has nothing else to do (Go's timers then wake no sooner).
	// 0, the default, commits at once.
	Delay time.Duration
	// busyGap is how soon after the previous commit a commit counts as
	// one of a busy stream (Delay): a server writing less often commits
	// at once. Default defaultBusyGap; tests set it.
	busyGap time.Duration
}

// defaultBusyGap is GroupCommitOptions.busyGap's default.
const defaultBusyGap = 2 * time.Millisecond

// GroupCommit is a Store whose transaction writes are committed in groups:
// UpdateTransaction, CreateTransaction, AppendLog, AppendAudit, Queue and
// QueueCreate add the write to the open batch,
// and one goroutine commits each batch in one database transaction, so
// writes made at the same moment by many runs share one commit and one
// fsync instead of taking turns for theirs. The methods of Store return
// once their batch committed, with its outcome, as the wrapped store's
// do; Queue and QueueCreate return at once, and Sync waits for every
// write queued before it. A later state of a transaction replaces an
// earlier one not yet written (the batch then writes the latest only).
//
// The reads of what it writes (Transaction, ListTransactions,
// CountTransactions, UnfinishedTransactions, Logs, ListAudit) first wait for the
// writes queued before them, so a read sees every write made before it.
// The other methods pass through to the wrapped store.
//
// A write given to QueueLazy is one nothing sent afterwards depends on
// (a run's informational state): Barrier does not wait for it and it
// starts no commit of its own; it is committed with the next batch that
// must be, or after LazyDelay, and every read and Sync sees it.
//
// When the wrapped store is a Batcher a batch is one WriteBatch; when
// that fails as a whole (the database refused the transaction), each
// write of the batch is tried again alone, so that one bad write fails
// alone. Other stores get the writes one by one.
type GroupCommit struct {
	Store
	b    Batcher // nil: one write at a time
	opts GroupCommitOptions

	mu     sync.Mutex
	lazy   *time.Timer // runs while the open batch holds only lazy writes
	delay  *time.Timer // runs while a commit waits for company (Delay)
	open   *batch
	flying *batch           // being committed
	failed map[string]Write // queued writes (Tx) that failed, by id
	closed bool
	wake   chan struct{}
	exited chan struct{}
	// delayed counts the commits that waited for company (Delay).
	delayed atomic.Int64
}

// batch is a group of writes committed together.
type batch struct {
	ws     []Write
	queued []bool         // given to Queue: a failure goes to failed
	eager  []bool         // not given to QueueLazy (alone): Barrier waits for it
	upd    map[string]int // index in ws of the update of each transaction
	errs   []error
	done   chan struct{} // closed once committed (or failed)
	// must counts the eager writes; wanted is set when a reader or Sync
	// waits for the batch: either starts its commit at once.
	must   int
	wanted bool
	// lazyDue is when a batch of lazy writes only is committed anyway.
	lazyDue time.Time
}

// shared tells whether b holds writes of more than one transaction.
func (b *batch) shared() bool {
	first := ""
	for _, w := range b.ws {
		id := w.TxID
		switch {
		case w.Tx != nil:
			id = w.Tx.ID
		case w.Create != nil:
			id = w.Create.ID
		}
		switch {
		case id == "":
		case first == "":
			first = id
		case id != first:
			return true
		}
	}
	return false
}

func newBatch() *batch {
	return &batch{upd: map[string]int{}, done: make(chan struct{})}
}

// NewGroupCommit starts the committing goroutine of a GroupCommit over st
// (Close ends it, and closes st).
func NewGroupCommit(st Store, opts GroupCommitOptions) *GroupCommit {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.busyGap <= 0 {
		opts.busyGap = defaultBusyGap
	}
	if opts.LazyDelay <= 0 {
		opts.LazyDelay = 50 * time.Millisecond
	}
	g := &GroupCommit{Store: st, opts: opts, open: newBatch(), failed: map[string]Write{},
		wake: make(chan struct{}, 1), exited: make(chan struct{})}
	g.b, _ = st.(Batcher)
	go g.loop()
	return g
}

// Unwrap returns the wrapped store.
func (g *GroupCommit) Unwrap() Store { return g.Store }

// add puts w in the open batch (g.mu held) and returns the batch and the
// index of w, which a later state of the same transaction may take over.
// A lazy write starts no commit (see QueueLazy); a later eager state of
// the same transaction makes its entry eager.
func (g *GroupCommit) add(w Write, queued, lazy bool) (*batch, int) {
	b := g.open
	i, merged := len(b.ws), false
	if w.Tx != nil {
		if j, ok := b.upd[w.Tx.ID]; ok {
			i, merged = j, true
			b.ws[i].Tx, b.ws[i].Owner = w.Tx, w.Owner
			b.queued[i] = b.queued[i] || queued
		} else {
			b.upd[w.Tx.ID] = i
		}
	}
	if !merged {
		b.ws = append(b.ws, w)
		b.queued = append(b.queued, queued)
		b.eager = append(b.eager, false)
	}
	switch {
	case !lazy && !b.eager[i]:
		b.eager[i] = true
		b.must++
		if b.must == 1 {
			g.kick()
		}
	case lazy && len(b.ws) == 1:
		b.lazyDue = time.Now().Add(g.opts.LazyDelay)
		g.kick()
	}
	return b, i
}

// kick wakes the committing goroutine (g.mu held). Once closed, wake is
// closed too, and the goroutine commits what is left without waiting.
func (g *GroupCommit) kick() {
	if g.closed {
		return
	}
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// Queue adds the write of t's mutable fields to the open batch and returns
// at once. Sync (or any later read) waits for it. When it fails, OnFail is
// called and Retry writes it again.
func (g *GroupCommit) Queue(t Transaction, owner string) { g.queue(t, owner, false) }

// QueueLazy is Queue for a state nothing sent afterwards depends on (an
// informational status): Barrier does not wait for it, and it is committed
// with the next batch that has another write, or after LazyDelay. Reads and
// Sync see it, as they see every write queued before them.
func (g *GroupCommit) QueueLazy(t Transaction, owner string) { g.queue(t, owner, true) }

// queue adds the write of t's mutable fields by owner (Write.Owner), lazy
// or not, to the open batch (a failure is reported and kept for Retry).
func (g *GroupCommit) queue(t Transaction, owner string, lazy bool) {
	g.mu.Lock()
	w := Write{Tx: &t, Owner: owner}
	if g.closed {
		g.failed[t.ID] = w
		g.mu.Unlock()
		if g.opts.OnFail != nil {
			g.opts.OnFail(t, ErrClosed)
		}
		return
	}
	g.add(w, true, lazy)
	g.mu.Unlock()
}

// write adds w and waits for its batch.
func (g *GroupCommit) write(ctx context.Context, w Write) error {
	return g.enqueue(w)(ctx)
}

// enqueue adds w and returns the wait for its batch.
func (g *GroupCommit) enqueue(w Write) func(context.Context) error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return func(context.Context) error { return ErrClosed }
	}
	b, i := g.add(w, false, false)
	g.mu.Unlock()
	return func(ctx context.Context) error { return b.wait(ctx, i) }
}

// wait waits for b to be committed and returns the error of its write i.
func (b *batch) wait(ctx context.Context, i int) error {
	select {
	case <-b.done:
		return b.errs[i]
	case <-ctx.Done():
		return fmt.Errorf("store: waiting for the commit: %w", ctx.Err())
	}
}

// UpdateTransaction writes t's mutable fields in the next batch and
// returns once it committed.
func (g *GroupCommit) UpdateTransaction(ctx context.Context, t Transaction) error {
	return g.write(ctx, Write{Tx: &t})
}

// CreateTransaction stores a new transaction in the next batch and returns
// once it committed.
func (g *GroupCommit) CreateTransaction(ctx context.Context, t Transaction) error {
	return g.write(ctx, Write{Create: &t})
}

// QueueCreate adds a new transaction to the next batch and returns at once
// the wait for its outcome (what CreateTransaction returns): a caller
// holding a lock queues the write under it, in order with its other
// writes, and waits once it let go. A non-nil audit is the event that
// records the creation: it is written with the transaction, in the same
// commit, and only when the transaction is created (so a creation costs
// one commit, not one for the run and another for its event). A non-empty
// owner is the replica that holds the new transaction (Write.Owner): a
// Cluster store, always a Batcher, writes it with the row.
func (g *GroupCommit) QueueCreate(t Transaction, owner string, audit *AuditEvent) (wait func(context.Context) error) {
	return g.enqueue(Write{Create: &t, Owner: owner, Audit: audit})
}

// AppendAudit stores an audit event in the next batch and returns once it
// committed.
func (g *GroupCommit) AppendAudit(ctx context.Context, e AuditEvent) error {
	return g.write(ctx, Write{Audit: &e})
}

// AppendLog stores a log line in the next batch and returns once it
// committed.
func (g *GroupCommit) AppendLog(ctx context.Context, txID string, l Log) error {
	return g.write(ctx, Write{TxID: txID, Log: &l})
}

// QueueLog adds a log line of transaction txID to the next batch and
// returns at once the wait for its outcome (what AppendLog returns): a
// caller holding a lock queues the line under it, in order with its other
// writes, and waits once it let go.
func (g *GroupCommit) QueueLog(txID string, l Log) (wait func(context.Context) error) {
	return g.enqueue(Write{TxID: txID, Log: &l})
}

// Sync waits until every write queued before it was committed (or
// failed), or ctx ends. It returns at once when none is pending.
func (g *GroupCommit) Sync(ctx context.Context) error {
	g.mu.Lock()
	b := g.flying
	if len(g.open.ws) > 0 {
		b = g.open // committed after the flying one
		if !b.wanted {
			b.wanted = true
			g.kick()
		}
	}
	g.mu.Unlock()
	return waitDone(ctx, b)
}

// Barrier waits until every write queued before it, but those given to
// QueueLazy, was committed (or failed), or ctx ends: what is sent after it
// overtakes no write it may depend on. It returns at once when none is
// pending.
func (g *GroupCommit) Barrier(ctx context.Context) error {
	g.mu.Lock()
	var b *batch
	switch {
	case g.open.must > 0:
		b = g.open // committed after the flying one
	case g.flying != nil && g.flying.must > 0:
		b = g.flying
	}
	g.mu.Unlock()
	return waitDone(ctx, b)
}

// waitDone waits for b (nil: nothing) to be committed, or ctx to end.
func waitDone(ctx context.Context, b *batch) error {
	if b == nil {
		return nil
	}
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("store: waiting for the commit: %w", ctx.Err())
	}
}

// Retry queues again the failed writes of Queue that no later write of
// the same transaction replaces, waits for them, and returns how many
// transactions still have a failed write.
func (g *GroupCommit) Retry(ctx context.Context) int {
	g.mu.Lock()
	if len(g.failed) == 0 {
		g.mu.Unlock()
		return 0
	}
	for id, t := range g.failed {
		if g.closed {
			break
		}
		if _, ok := g.open.upd[id]; ok {
			continue
		}
		if g.flying != nil {
			if _, ok := g.flying.upd[id]; ok {
				continue
			}
		}
		g.add(t, true, false)
	}
	g.mu.Unlock()
	g.Sync(ctx)
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.failed)
}

// Failed returns how many transactions have a queued write that failed
// and was not written since.
func (g *GroupCommit) Failed() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.failed)
}

// Close commits the writes queued, ends the committing goroutine and
// closes the wrapped store. Writes given after Close fail with ErrClosed.
func (g *GroupCommit) Close() error {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.wake)
	}
	g.mu.Unlock()
	<-g.exited
	return g.Store.Close()
}

// loop commits batches one after the other until Close.
func (g *GroupCommit) loop() {
	defer close(g.exited)
	var lastEnd time.Time // of the last commit
	lastShared := false   // the last commit held writes of several transactions
	for {
		g.mu.Lock()
		for {
			o := g.open
			if len(o.ws) > 0 && (o.must > 0 || o.wanted || g.closed || !time.Now().Before(o.lazyDue)) {
				break
			}
			if len(o.ws) == 0 && g.closed {
				g.mu.Unlock()
				return
			}
			var due <-chan time.Time
			if len(o.ws) > 0 {
				// Lazy writes only: they wait for company, or their
				// time.
				if g.lazy == nil {
					g.lazy = time.NewTimer(time.Until(o.lazyDue))
				} else {
					g.lazy.Reset(time.Until(o.lazyDue))
				}
				due = g.lazy.C
			}
			g.mu.Unlock()
			select {
			case <-g.wake:
			case <-due:
			}
			if due != nil {
				g.lazy.Stop()
			}
			g.mu.Lock()
		}
		if g.opts.Delay > 0 && !g.closed && !g.open.wanted && time.Since(lastEnd) < g.opts.busyGap &&
			(lastShared || g.open.shared()) {
			// A busy stream of several runs' writes: let more join
			// this commit. A lone run's commits, back to back as they
			// are, do not wait: nothing would join them.
			g.delayed.Add(1)
			g.mu.Unlock()
			g.sleep(g.opts.Delay)
			g.mu.Lock()
		}
		b := g.open
		g.open, g.flying = newBatch(), b
		g.mu.Unlock()

		g.commit(b)
		lastEnd = time.Now()
		if g.opts.Delay > 0 {
			lastShared = b.shared()
		}

		type failure struct {
			t   Transaction
			err error
		}
		var failed []failure
		var retried, stale, fenced []Transaction
		g.mu.Lock()
		g.flying = nil
		for i, w := range b.ws {
			if w.Tx == nil {
				continue
			}
			_, had := g.failed[w.Tx.ID]
			switch {
			case b.errs[i] == nil && had:
				delete(g.failed, w.Tx.ID)
				retried = append(retried, *w.Tx)
			case errors.Is(b.errs[i], ErrNotOwner):
				delete(g.failed, w.Tx.ID)
				if b.queued[i] {
					fenced = append(fenced, *w.Tx)
				}
			case errors.Is(b.errs[i], ErrFinished):
				delete(g.failed, w.Tx.ID)
				if b.queued[i] {
					stale = append(stale, *w.Tx)
				}
			case b.errs[i] != nil && b.queued[i]:
				g.failed[w.Tx.ID] = w
				failed = append(failed, failure{*w.Tx, b.errs[i]})
			}
		}
		g.mu.Unlock()
		// Reported before the batch's waiters go on: a Retry or Sync
		// that returned has had its outcome reported.
		for _, f := range failed {
			if g.opts.OnFail != nil {
				g.opts.OnFail(f.t, f.err)
			}
		}
		for _, t := range retried {
			if g.opts.OnRetried != nil {
				g.opts.OnRetried(t)
			}
		}
		for _, t := range stale {
			if g.opts.OnFinished != nil {
				g.opts.OnFinished(t)
			}
		}
		for _, t := range fenced {
			if g.opts.OnNotOwner != nil {
				g.opts.OnNotOwner(t)
			}
		}
		close(b.done)
	}
}

// sleep waits d, or less when a read or Sync wants the open batch, or
// Close is called (the loop's goroutine only).
func (g *GroupCommit) sleep(d time.Duration) {
	if g.delay == nil {
		g.delay = time.NewTimer(d)
	} else {
		g.delay.Reset(d)
	}
	defer g.delay.Stop()
	for {
		select {
		case <-g.delay.C:
			return
		case _, ok := <-g.wake:
			g.mu.Lock()
			done := !ok || g.closed || g.open.wanted
			g.mu.Unlock()
			if done {
				return
			}
		}
	}
}

// commit writes b, setting b.errs.
func (g *GroupCommit) commit(b *batch) {
	ctx, cancel := context.WithTimeout(context.Background(), g.opts.Timeout)
	defer cancel()
	start := time.Now()
	b.errs = make([]error, len(b.ws))
	var err error
	switch {
	case g.b != nil:
		err = g.b.WriteBatch(ctx, b.ws, b.errs)
		if err != nil && len(b.ws) == 1 {
			b.errs[0] = err
		} else if err != nil {
			// Each alone: one bad write must not fail the others.
			for i := range b.ws {
				b.errs[i] = nil
				if werr := g.b.WriteBatch(ctx, b.ws[i:i+1], b.errs[i:i+1]); werr != nil {
					b.errs[i] = werr
				}
			}
		}
	default:
		for i, w := range b.ws {
			switch {
			case w.Tx != nil:
				b.errs[i] = g.Store.UpdateTransaction(ctx, *w.Tx)
			case w.Create != nil:
				b.errs[i] = g.Store.CreateTransaction(ctx, *w.Create)
				if b.errs[i] == nil && w.Audit != nil {
					// Another store cannot write both at once: the
					// transaction exists, so its event is reported
					// lost rather than the creation failed.
					if aerr := g.Store.AppendAudit(ctx, *w.Audit); aerr != nil && g.opts.OnAuditFail != nil {
						g.opts.OnAuditFail(*w.Audit, aerr)
					}
				}
			case w.Audit != nil:
				b.errs[i] = g.Store.AppendAudit(ctx, *w.Audit)
			default:
				b.errs[i] = g.Store.AppendLog(ctx, w.TxID, *w.Log)
			}
			if err == nil {
				err = b.errs[i]
			}
		}
	}
	if g.opts.OnBatch != nil {
		g.opts.OnBatch(len(b.ws), time.Since(start), err)
	}
}

// Transaction returns a transaction once the writes queued before were
// committed.
func (g *GroupCommit) Transaction(ctx context.Context, id string) (Transaction, error) {
	if err := g.Sync(ctx); err != nil {
		return Transaction{}, err
	}
	return g.Store.Transaction(ctx, id)
}

// ListTransactions lists transactions once the writes queued before were
// committed.
func (g *GroupCommit) ListTransactions(ctx context.Context, f TransactionFilter) ([]Transaction, error) {
	if err := g.Sync(ctx); err != nil {
		return nil, err
	}
	return g.Store.ListTransactions(ctx, f)
}

// CountTransactions counts transactions once the writes queued before
// were committed.
func (g *GroupCommit) CountTransactions(ctx context.Context, f TransactionFilter) (int, error) {
	if err := g.Sync(ctx); err != nil {
		return 0, err
	}
	return g.Store.CountTransactions(ctx, f)
}

// UnfinishedTransactions lists them once the writes queued before were
// committed.
func (g *GroupCommit) UnfinishedTransactions(ctx context.Context) ([]Transaction, error) {
	if err := g.Sync(ctx); err != nil {
		return nil, err
	}
	return g.Store.UnfinishedTransactions(ctx)
}

// ListAudit lists audit events once the writes queued before were
// committed.
func (g *GroupCommit) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	if err := g.Sync(ctx); err != nil {
		return nil, err
	}
	return g.Store.ListAudit(ctx, f)
}

// Logs returns a transaction's logs once the writes queued before were
// committed.
func (g *GroupCommit) Logs(ctx context.Context, txID string) ([]Log, error) {
	if err := g.Sync(ctx); err != nil {
		return nil, err
	}
	return g.Store.Logs(ctx, txID)
}
