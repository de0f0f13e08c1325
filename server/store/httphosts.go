package store

import "context"

// Serverless (HTTP) hosts of the SQLite store (migration 0002).

const httpHostCols = `id, url, env, created_by, created_at`

func scanHTTPHost(sc interface{ Scan(...any) error }) (HTTPHost, error) {
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
func (s *SQLite) CreateHTTPHost(ctx context.Context, h HTTPHost) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO http_hosts (`+httpHostCols+`) VALUES (?,?,?,?,?)`,
		h.ID, h.URL, h.Env, h.CreatedBy, ms(h.CreatedAt))
	return wrap("create http host", err)
}

// HTTPHost returns the serverless host with that id.
func (s *SQLite) HTTPHost(ctx context.Context, id string) (HTTPHost, error) {
	h, err := scanHTTPHost(s.db.QueryRowContext(ctx, `SELECT `+httpHostCols+` FROM http_hosts WHERE id = ?`, id))
	return h, wrap("http host", err)
}

// ListHTTPHosts returns every serverless host, oldest first.
func (s *SQLite) ListHTTPHosts(ctx context.Context) ([]HTTPHost, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+httpHostCols+` FROM http_hosts ORDER BY created_at, url`)
	if err != nil {
		return nil, wrap("list http hosts", err)
	}
	defer rows.Close()
	out := []HTTPHost{}
	for rows.Next() {
		h, err := scanHTTPHost(rows)
		if err != nil {
			return nil, wrap("list http hosts", err)
		}
		out = append(out, h)
	}
	return out, wrap("list http hosts", rows.Err())
}

// DeleteHTTPHost deletes a serverless host.
func (s *SQLite) DeleteHTTPHost(ctx context.Context, id string) error {
	r, err := s.db.ExecContext(ctx, `DELETE FROM http_hosts WHERE id = ?`, id)
	return affected("delete http host", r, err)
}
