package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Serverless (HTTP) hosts of the PostgreSQL store (migrations_pg 0002),
// the same as those of the SQLite store (httphosts.go).

func pgScanHTTPHost(sc pgx.Row) (HTTPHost, error) {
	var h HTTPHost
	var created int64
	if err := sc.Scan(&h.ID, &h.URL, &h.Env, &h.CreatedBy, &created); err != nil {
		return HTTPHost{}, err
	}
	h.CreatedAt = fromMS(created)
	return h, nil
}

// CreateHTTPHost inserts h; ErrConflict when its URL is taken in its
// environment.
func (s *Postgres) CreateHTTPHost(ctx context.Context, h HTTPHost) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO http_hosts (`+httpHostCols+`) VALUES ($1,$2,$3,$4,$5)`,
		h.ID, h.URL, h.Env, h.CreatedBy, ms(h.CreatedAt))
	return pgWrap("create http host", err)
}

// HTTPHost returns the serverless host with that id.
func (s *Postgres) HTTPHost(ctx context.Context, id string) (HTTPHost, error) {
	h, err := pgScanHTTPHost(s.pool.QueryRow(ctx, `SELECT `+httpHostCols+` FROM http_hosts WHERE id = $1`, id))
	return h, pgWrap("http host", err)
}

// ListHTTPHosts returns every serverless host, oldest first.
func (s *Postgres) ListHTTPHosts(ctx context.Context) ([]HTTPHost, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+httpHostCols+` FROM http_hosts ORDER BY created_at, url COLLATE "C"`)
	if err != nil {
		return nil, pgWrap("list http hosts", err)
	}
	defer rows.Close()
	out := []HTTPHost{}
	for rows.Next() {
		h, err := pgScanHTTPHost(rows)
		if err != nil {
			return nil, pgWrap("list http hosts", err)
		}
		out = append(out, h)
	}
	return out, pgWrap("list http hosts", rows.Err())
}

// DeleteHTTPHost deletes a serverless host.
func (s *Postgres) DeleteHTTPHost(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM http_hosts WHERE id = $1`, id)
	return pgAffected("delete http host", tag, err)
}
