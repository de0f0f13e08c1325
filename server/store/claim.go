package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrInUse is returned by Claim when another server is using the store.
var ErrInUse = errors.New("store: in use by another server")

// Claimer is implemented by stores that can make sure one server at a time
// serves from them. A server recovers the unfinished transactions it finds
// at start as its own, so two servers on one store would fail each other's
// runs; administration (creating keys and users) needs no claim.
type Claimer interface {
	// Claim marks the store as served by this process until release is
	// called or the process ends (even by kill -9). It fails with ErrInUse
	// while another process holds the claim.
	Claim(ctx context.Context) (release func(), err error)
}

var (
	_ Claimer = (*SQLite)(nil)
	_ Claimer = (*Postgres)(nil)
)

// pgServerLock is the key of the session advisory lock a serving server
// holds ("intsrv01").
const pgServerLock int64 = 0x696e747372763031

// Claim holds a session-level advisory lock on a connection of its own; the
// database drops it when that connection ends.
func (s *Postgres) Claim(ctx context.Context) (func(), error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("store: claim: %w", redactErr(err, s.secrets))
	}
	// The lock lasts as long as this session: make PostgreSQL notice within
	// about half a minute that a crashed server's connection is dead (TCP
	// keepalives of this backend; ignored on unix sockets), so the next
	// server can start.
	if _, err := conn.Exec(ctx, `SET tcp_keepalives_idle = 15; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3`); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("store: claim: %w", redactErr(err, s.secrets))
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, pgServerLock).Scan(&ok); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("store: claim: %w", redactErr(err, s.secrets))
	}
	if !ok {
		conn.Close(context.Background())
		return nil, fmt.Errorf("%w: another interval-server serves from this PostgreSQL database (one server per database for now; "+
			"the claim of a server that crashed lapses once PostgreSQL notices its connection is gone, within about 30 s)", ErrInUse)
	}
	return func() {
		// Unlock before closing: closing the connection returns before
		// PostgreSQL's backend has ended the session and its lock, and a
		// server started right after (a restart) would find it held.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, pgServerLock) //nolint:errcheck // closing ends the lock anyway
		conn.Close(ctx)
	}, nil
}

// SingleServerPresent reports whether a server of the release before
// replicas serves from this database: it holds the claim (Claim), knows
// nothing of replicas and would fail their runs as its own.
func (s *Postgres) SingleServerPresent(ctx context.Context) (bool, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("store: %w", redactErr(err, s.secrets))
	}
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, pgServerLock).Scan(&got); err != nil {
		conn.Release()
		return false, fmt.Errorf("store: %w", redactErr(err, s.secrets))
	}
	if got {
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, pgServerLock); err != nil {
			// Ending the session ends its lock.
			c := conn.Hijack()
			c.Close(context.Background())
			return false, nil
		}
	}
	conn.Release()
	return !got, nil
}
