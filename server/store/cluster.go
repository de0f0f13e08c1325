package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrLeaseLost is returned by Renew when the replica's lease ran out (its
// row may be gone already): the others take it for dead and may have
// claimed its work.
var ErrLeaseLost = errors.New("store: replica lease lost")

// Cluster is implemented by stores that several server processes
// (replicas) may serve from at once: PostgreSQL. It keeps who is alive
// (a lease each replica renews), which hosts each replica has, which
// replica holds each unfinished transaction, and a bus between replicas
// (OpenBus). SQLite is single-process and does not implement it.
type Cluster interface {
	// Join registers replica id, alive for lease.
	Join(ctx context.Context, id, addr string, lease time.Duration) error
	// Renew extends id's lease and returns the replicas alive now (id
	// among them); ErrLeaseLost when the lease ran out, even if its row
	// was not removed yet: others may have claimed id's runs since.
	Renew(ctx context.Context, id string, lease time.Duration) ([]string, error)
	// Rejoin registers id again after ErrLeaseLost, alive for lease, with
	// no hosts, and returns the unfinished transactions id still owns:
	// those no other replica claimed while id was taken for dead. It is
	// ordered with the claims (ClaimTransaction, ClaimForHost,
	// AdoptOrphans): a run it returns is claimed by nobody else after.
	Rejoin(ctx context.Context, id, addr string, lease time.Duration) ([]string, error)
	// Leave removes id (its hosts with it): the others adopt its work at
	// once instead of when its lease would run out.
	Leave(ctx context.Context, id string) error
	// Reap removes the replicas whose lease ran out and returns their ids.
	Reap(ctx context.Context) ([]string, error)
	// PutHosts replaces the hosts listed for replica (instance id →
	// opaque JSON).
	PutHosts(ctx context.Context, replica string, hosts map[string][]byte) error
	// ReplicaHosts returns the hosts of the live replicas but self, by
	// replica.
	ReplicaHosts(ctx context.Context, self string) (map[string][][]byte, error)
	// TransactionOwner returns the replica holding transaction id ("" for
	// none) and whether that replica is alive.
	TransactionOwner(ctx context.Context, id string) (owner string, alive bool, err error)
	// ClaimTransaction makes self the owner of unfinished transaction id
	// if it has no live owner (or self owns it already).
	ClaimTransaction(ctx context.Context, id, self string) (bool, error)
	// HandTransaction moves transaction id from owner from to owner to;
	// false when from no longer owns it.
	HandTransaction(ctx context.Context, id, from, to string) (bool, error)
	// ClaimForHost makes self the owner of the unfinished transactions of
	// host instance instanceID that no live replica holds, returning their
	// ids, and returns the other live replicas holding some of them.
	ClaimForHost(ctx context.Context, self, instanceID string) (claimed, heldBy []string, err error)
	// HandHostTransactions moves the unfinished transactions of host
	// instance instanceID (API key keyID, or none recorded) from owner
	// from to owner to, returning their ids.
	HandHostTransactions(ctx context.Context, instanceID, keyID, from, to string) ([]string, error)
	// OwnedTransactions returns the unfinished transactions of host
	// instance instanceID that self holds.
	OwnedTransactions(ctx context.Context, self, instanceID string) ([]string, error)
	// AdoptOrphans makes self the owner of the unfinished transactions
	// that were held by a replica no longer alive, returning their ids.
	AdoptOrphans(ctx context.Context, self string) ([]string, error)
}

var _ Cluster = (*Postgres)(nil)

const unfinished = `status NOT IN ('COMPLETED', 'CANCELED')`

// aliveReplicas is the SQL set of the replicas whose lease runs, at the
// time the statement runs (not when its transaction began, which for a
// statement behind the adoption lock may be long before).
const aliveReplicas = `(SELECT id FROM replicas WHERE lease_until > clock_timestamp())`

// skipLocked ends the selection of the runs a claim takes: it leaves
// alone a run whose row another transaction holds locked. That one may be
// a replica's write of the run stopped half-way with its process (frozen
// by its VM, stopped by a debugger): waiting for it would hold the
// adoption lock for as long, and with it every replica's renewal, until
// every lease ran out. The run is claimed at a later beat, once the row is
// free (the frozen replica's session ends or goes on).
const skipLocked = ` FOR UPDATE SKIP LOCKED`

// pgAdoptLock is the key of the transaction-level advisory lock
// ("intadopt") that orders the claims of a dead replica's runs (which take
// it shared) with a replica's renewal and rejoining (which take it
// exclusive). Without it a claim could read a replica as dead in a
// snapshot taken before that replica renewed or joined again, and take a
// run the replica still holds (renewed) or has just taken back (rejoined):
// two replicas would run it.
const pgAdoptLock int64 = 0x696e7461646f7074

// underAdoptLock sends the statements queue adds in one round trip, in one
// transaction that first takes the adoption lock (exclusive or shared).
// The caller reads the results after the lock's (skipLock) and closes them.
func (s *Postgres) underAdoptLock(ctx context.Context, exclusive bool, queue func(*pgx.Batch)) pgx.BatchResults {
	b := &pgx.Batch{}
	if exclusive {
		b.Queue(`SELECT pg_advisory_xact_lock($1)`, pgAdoptLock)
	} else {
		b.Queue(`SELECT pg_advisory_xact_lock_shared($1)`, pgAdoptLock)
	}
	queue(b)
	// A batch outside a transaction block runs as one implicit
	// transaction: the lock is held until its last statement is done,
	// and each statement reads the data as of its own start (READ
	// COMMITTED), after the lock was granted.
	return s.pool.SendBatch(ctx, b)
}

// skipLock reads the adoption lock's result off br.
func skipLock(br pgx.BatchResults) error {
	_, err := br.Exec()
	return err
}

func (s *Postgres) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: %s: %w", op, redactErr(err, s.secrets))
}

func interval(d time.Duration) string {
	return strconv.FormatInt(d.Milliseconds(), 10) + " milliseconds"
}

// Join implements Cluster.
func (s *Postgres) Join(ctx context.Context, id, addr string, lease time.Duration) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO replicas (id, addr, lease_until) VALUES ($1, $2, now() + $3::interval)`, id, addr, interval(lease))
	return s.wrap("join", err)
}

// Renew implements Cluster. It holds the adoption lock, so a claim runs
// wholly before it (and the lease, run out, cannot be renewed) or wholly
// after (and sees the replica alive).
func (s *Postgres) Renew(ctx context.Context, id string, lease time.Duration) ([]string, error) {
	br := s.underAdoptLock(ctx, true, func(b *pgx.Batch) {
		b.Queue(`UPDATE replicas SET lease_until = clock_timestamp() + $2::interval WHERE id = $1 AND lease_until > clock_timestamp()`, id, interval(lease))
		b.Queue(`SELECT id FROM replicas WHERE lease_until > clock_timestamp() ORDER BY id`)
	})
	defer br.Close()
	if err := skipLock(br); err != nil {
		return nil, s.wrap("renew", err)
	}
	tag, err := br.Exec()
	if err != nil {
		return nil, s.wrap("renew", err)
	}
	if tag.RowsAffected() == 0 {
		return nil, ErrLeaseLost
	}
	rows, err := br.Query()
	if err != nil {
		return nil, s.wrap("renew", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, s.wrap("renew", err)
	}
	return ids, s.wrap("renew", br.Close())
}

// Rejoin implements Cluster.
func (s *Postgres) Rejoin(ctx context.Context, id, addr string, lease time.Duration) ([]string, error) {
	br := s.underAdoptLock(ctx, true, func(b *pgx.Batch) {
		b.Queue(`INSERT INTO replicas (id, addr, lease_until) VALUES ($1, $2, clock_timestamp() + $3::interval)
			ON CONFLICT (id) DO UPDATE SET addr = EXCLUDED.addr, started_at = now(), lease_until = EXCLUDED.lease_until`, id, addr, interval(lease))
		b.Queue(`DELETE FROM replica_hosts WHERE replica = $1`, id)
		b.Queue(`SELECT id FROM transactions WHERE owner = $1 AND `+unfinished+` ORDER BY id`, id)
	})
	defer br.Close()
	if err := skipLock(br); err != nil {
		return nil, s.wrap("rejoin", err)
	}
	for range 2 {
		if _, err := br.Exec(); err != nil {
			return nil, s.wrap("rejoin", err)
		}
	}
	rows, err := br.Query()
	if err != nil {
		return nil, s.wrap("rejoin", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, s.wrap("rejoin", err)
	}
	return ids, s.wrap("rejoin", br.Close())
}

// Leave implements Cluster.
func (s *Postgres) Leave(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM replicas WHERE id = $1`, id)
	return s.wrap("leave", err)
}

// Reap implements Cluster.
func (s *Postgres) Reap(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `DELETE FROM replicas WHERE lease_until <= now() RETURNING id`)
	if err != nil {
		return nil, s.wrap("reap", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err == nil {
		// Old bus messages nobody fetched (their receiver died).
		_, err = s.pool.Exec(ctx, `DELETE FROM replica_messages WHERE created_at < now() - interval '5 minutes'`)
	}
	return ids, s.wrap("reap", err)
}

// PutHosts implements Cluster.
func (s *Postgres) PutHosts(ctx context.Context, replica string, hosts map[string][]byte) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.wrap("put hosts", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `DELETE FROM replica_hosts WHERE replica = $1`, replica); err != nil {
		return s.wrap("put hosts", err)
	}
	for id, h := range hosts {
		if _, err := tx.Exec(ctx, `INSERT INTO replica_hosts (replica, instance_id, host) VALUES ($1, $2, $3)`, replica, id, string(h)); err != nil {
			return s.wrap("put hosts", err)
		}
	}
	return s.wrap("put hosts", tx.Commit(ctx))
}

// ReplicaHosts implements Cluster.
func (s *Postgres) ReplicaHosts(ctx context.Context, self string) (map[string][][]byte, error) {
	rows, err := s.pool.Query(ctx, `SELECT h.replica, h.host::text FROM replica_hosts h JOIN replicas r ON r.id = h.replica
		WHERE r.lease_until > now() AND h.replica <> $1`, self)
	if err != nil {
		return nil, s.wrap("replica hosts", err)
	}
	defer rows.Close()
	out := map[string][][]byte{}
	for rows.Next() {
		var r, h string
		if err := rows.Scan(&r, &h); err != nil {
			return nil, s.wrap("replica hosts", err)
		}
		out[r] = append(out[r], []byte(h))
	}
	return out, s.wrap("replica hosts", rows.Err())
}

// TransactionOwner implements Cluster.
func (s *Postgres) TransactionOwner(ctx context.Context, id string) (string, bool, error) {
	var owner string
	var alive bool
	err := s.pool.QueryRow(ctx, `SELECT owner, owner IN `+aliveReplicas+` FROM transactions WHERE id = $1`, id).Scan(&owner, &alive)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, ErrNotFound
	}
	return owner, alive, s.wrap("transaction owner", err)
}

// ClaimTransaction implements Cluster.
func (s *Postgres) ClaimTransaction(ctx context.Context, id, self string) (bool, error) {
	br := s.underAdoptLock(ctx, false, func(b *pgx.Batch) {
		b.Queue(`UPDATE transactions SET owner = $2 WHERE id IN (SELECT id FROM transactions WHERE id = $1 AND `+unfinished+`
		AND (owner = $2 OR owner NOT IN `+aliveReplicas+`)`+skipLocked+`)`, id, self)
	})
	defer br.Close()
	if err := skipLock(br); err != nil {
		return false, s.wrap("claim transaction", err)
	}
	tag, err := br.Exec()
	if err != nil {
		return false, s.wrap("claim transaction", err)
	}
	return tag.RowsAffected() == 1, s.wrap("claim transaction", br.Close())
}

// HandTransaction implements Cluster.
func (s *Postgres) HandTransaction(ctx context.Context, id, from, to string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE transactions SET owner = $3 WHERE id = $1 AND owner = $2`, id, from, to)
	if err != nil {
		return false, s.wrap("hand transaction", err)
	}
	return tag.RowsAffected() == 1, nil
}

// ClaimForHost implements Cluster.
func (s *Postgres) ClaimForHost(ctx context.Context, self, instanceID string) ([]string, []string, error) {
	br := s.underAdoptLock(ctx, false, func(b *pgx.Batch) {
		b.Queue(`UPDATE transactions SET owner = $1 WHERE id IN (SELECT id FROM transactions WHERE host_instance_id = $2 AND `+unfinished+`
		AND owner <> $1 AND owner NOT IN `+aliveReplicas+skipLocked+`) RETURNING id`, self, instanceID)
		b.Queue(`SELECT DISTINCT owner FROM transactions WHERE host_instance_id = $2 AND `+unfinished+`
		AND owner <> $1 AND owner IN `+aliveReplicas, self, instanceID)
	})
	defer br.Close()
	if err := skipLock(br); err != nil {
		return nil, nil, s.wrap("claim for host", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, nil, s.wrap("claim for host", err)
	}
	claimed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, nil, s.wrap("claim for host", err)
	}
	rows, err = br.Query()
	if err != nil {
		return nil, nil, s.wrap("claim for host", err)
	}
	held, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, nil, s.wrap("claim for host", err)
	}
	return claimed, held, s.wrap("claim for host", br.Close())
}

// AdoptOrphans implements Cluster.
func (s *Postgres) AdoptOrphans(ctx context.Context, self string) ([]string, error) {
	br := s.underAdoptLock(ctx, false, func(b *pgx.Batch) {
		b.Queue(`UPDATE transactions SET owner = $1 WHERE id IN (SELECT id FROM transactions WHERE `+unfinished+`
		AND owner <> '' AND owner <> $1 AND owner NOT IN `+aliveReplicas+skipLocked+`) RETURNING id`, self)
	})
	defer br.Close()
	if err := skipLock(br); err != nil {
		return nil, s.wrap("adopt", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, s.wrap("adopt", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, s.wrap("adopt", err)
	}
	return ids, s.wrap("adopt", br.Close())
}

// notifyLimit is the largest payload sent inline with NOTIFY (PostgreSQL
// refuses 8000 bytes and more); larger ones go through replica_messages.
const notifyLimit = 7900

// BroadcastChannel is the bus channel every replica listens on.
const BroadcastChannel = "interval_all"

// ReplicaChannel is the bus channel of replica id.
func ReplicaChannel(id string) string { return "interval_r_" + strings.ToLower(id) }

// Bus carries messages between replicas on LISTEN/NOTIFY: one connection
// listens, another sends in order, so a replica receives the messages of
// another in the order they were sent. A message larger than NOTIFY takes
// is stored in replica_messages and its id notified. Delivery is at most
// once: a replica that loses its listening connection is told (OnReset)
// and must assume it missed messages.
type Bus struct {
	s       *Postgres
	self    string
	deliver func(body []byte)
	reset   func()
	log     func(msg string, err error)

	mu     sync.Mutex
	queue  []busOut
	busy   bool // the sender holds messages taken off queue
	sig    chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type busOut struct {
	channel string
	body    []byte
}

// OpenBus starts the bus of replica self: deliver gets every message sent
// to self or broadcast (in order, from one goroutine; it must not block
// long); reset is called when the listening connection was lost and
// came back (messages may have been missed); logf reports errors. It
// returns once self listens.
func (s *Postgres) OpenBus(ctx context.Context, self string, deliver func([]byte), reset func(), logf func(string, error)) (*Bus, error) {
	bctx, cancel := context.WithCancel(context.Background())
	b := &Bus{s: s, self: self, deliver: deliver, reset: reset, log: logf, sig: make(chan struct{}, 1),
		ctx: bctx, cancel: cancel}
	conn, err := b.listenConn(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	b.wg.Add(2)
	go b.listen(conn)
	go b.send()
	return b, nil
}

func (b *Bus) listenConn(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, b.s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, b.s.wrap("bus", err)
	}
	for _, ch := range []string{ReplicaChannel(b.self), BroadcastChannel} {
		if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{ch}.Sanitize()); err != nil {
			conn.Close(context.Background())
			return nil, b.s.wrap("bus", err)
		}
	}
	return conn, nil
}

func (b *Bus) listen(conn *pgx.Conn) {
	defer b.wg.Done()
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	for b.ctx.Err() == nil {
		if conn == nil {
			c, err := b.listenConn(b.ctx)
			if err != nil {
				b.log("bus: listening again failed; retrying", err)
				select {
				case <-b.ctx.Done():
					return
				case <-time.After(time.Second):
				}
				continue
			}
			conn = c
			b.reset()
		}
		n, err := conn.WaitForNotification(b.ctx)
		if err != nil {
			if b.ctx.Err() != nil {
				return
			}
			b.log("bus: listening connection lost", err)
			conn.Close(context.Background())
			conn = nil
			continue
		}
		body := []byte(n.Payload)
		if strings.HasPrefix(n.Payload, "@") {
			body, err = b.fetch(n.Payload[1:], n.Channel != BroadcastChannel)
			if err != nil {
				b.log("bus: fetching a large message failed", err)
				continue
			}
		}
		b.deliver(body)
	}
}

func (b *Bus) fetch(id string, take bool) ([]byte, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	q := `SELECT body FROM replica_messages WHERE id = $1`
	if take {
		q = `DELETE FROM replica_messages WHERE id = $1 RETURNING body`
	}
	var body string
	if err := b.s.pool.QueryRow(ctx, q, id).Scan(&body); err != nil {
		return nil, b.s.wrap("bus fetch", err)
	}
	return []byte(body), nil
}

// Send queues body for replica to ("" for every replica, self included);
// messages are sent in the order of Send.
func (b *Bus) Send(to string, body []byte) {
	ch := BroadcastChannel
	if to != "" {
		ch = ReplicaChannel(to)
	}
	b.mu.Lock()
	b.queue = append(b.queue, busOut{ch, body})
	b.mu.Unlock()
	select {
	case b.sig <- struct{}{}:
	default:
	}
}

func (b *Bus) send() {
	defer b.wg.Done()
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	for {
		b.mu.Lock()
		q := b.queue
		b.queue = nil
		b.busy = len(q) > 0
		b.mu.Unlock()
		if len(q) == 0 {
			select {
			case <-b.ctx.Done():
				return
			case <-b.sig:
			}
			continue
		}
		for try := 0; ; try++ {
			if conn == nil {
				c, err := pgx.ConnectConfig(b.ctx, b.s.pool.Config().ConnConfig.Copy())
				if err != nil {
					if b.ctx.Err() != nil {
						return
					}
					b.log("bus: sending connection failed; retrying", err)
					select {
					case <-b.ctx.Done():
						return
					case <-time.After(200 * time.Millisecond):
					}
					continue
				}
				conn = c
			}
			err := b.notify(conn, q)
			if err == nil {
				break
			}
			conn.Close(context.Background())
			conn = nil
			if b.ctx.Err() != nil {
				return
			}
			if try >= 2 {
				b.log("bus: messages dropped", err)
				break
			}
		}
	}
}

// notify sends q in one round trip and one implicit transaction: all of
// them are delivered, in order, or none.
func (b *Bus) notify(conn *pgx.Conn, q []busOut) error {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	batch := &pgx.Batch{}
	for _, m := range q {
		if len(m.body) > notifyLimit {
			batch.Queue(`WITH m AS (INSERT INTO replica_messages (body) VALUES ($1) RETURNING id)
				SELECT pg_notify($2, '@' || id) FROM m`, string(m.body), m.channel)
		} else {
			batch.Queue(`SELECT pg_notify($1, $2)`, m.channel, string(m.body))
		}
	}
	return b.s.wrap("bus send", conn.SendBatch(ctx, batch).Close())
}

// Close stops the bus once the messages queued are sent, or after flush
// (then the rest is dropped).
func (b *Bus) Close(flush time.Duration) {
	deadline := time.Now().Add(flush)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		idle := len(b.queue) == 0 && !b.busy
		b.mu.Unlock()
		if idle {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.cancel()
	b.wg.Wait()
}

// NoteLoginFailure records a failed password login for email (lower-cased
// by the caller) at at, and forgets failures older than keep.
func (s *Postgres) NoteLoginFailure(ctx context.Context, email string, at time.Time, keep time.Duration) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO login_failures (email, at) VALUES ($1, $2)`, email, at); err != nil {
		return s.wrap("login failure", err)
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM login_failures WHERE at < $1`, at.Add(-keep))
	return s.wrap("login failure", err)
}

// LoginFailures returns the failed logins for email since since, oldest
// first.
func (s *Postgres) LoginFailures(ctx context.Context, email string, since time.Time) ([]time.Time, error) {
	rows, err := s.pool.Query(ctx, `SELECT at FROM login_failures WHERE email = $1 AND at >= $2 ORDER BY at`, email, since)
	if err != nil {
		return nil, s.wrap("login failures", err)
	}
	ats, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	return ats, s.wrap("login failures", err)
}

// ClearLoginFailures forgets email's failed logins (it logged in).
func (s *Postgres) ClearLoginFailures(ctx context.Context, email string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM login_failures WHERE email = $1`, email)
	return s.wrap("login failures", err)
}

// OwnedTransactions implements Cluster.
func (s *Postgres) OwnedTransactions(ctx context.Context, self, instanceID string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM transactions WHERE owner = $1 AND host_instance_id = $2 AND `+unfinished, self, instanceID)
	if err != nil {
		return nil, s.wrap("owned transactions", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, s.wrap("owned transactions", err)
}

// HandHostTransactions implements Cluster.
func (s *Postgres) HandHostTransactions(ctx context.Context, instanceID, keyID, from, to string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `UPDATE transactions SET owner = $4 WHERE host_instance_id = $1 AND owner = $3
		AND (host_key_id = '' OR host_key_id = $2) AND NOT via_http_host AND `+unfinished+` RETURNING id`, instanceID, keyID, from, to)
	if err != nil {
		return nil, s.wrap("hand host transactions", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, s.wrap("hand host transactions", err)
}
