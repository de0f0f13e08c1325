package store

import "context"

// Serverless (HTTP) hosts (migration 0002 of both databases).

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
func (s *sqlStore) CreateHTTPHost(ctx context.Context, h HTTPHost) error {
	_, err := s.exec(ctx, `INSERT INTO http_hosts (`+httpHostCols+`) VALUES (?,?,?,?,?)`,
		h.ID, h.URL, h.Env, h.CreatedBy, ms(h.CreatedAt))
	return s.wrap("create http host", err)
}

// HTTPHost returns the serverless host with that id.
func (s *sqlStore) HTTPHost(ctx context.Context, id string) (HTTPHost, error) {
	h, err := scanHTTPHost(s.queryRow(ctx, `SELECT `+httpHostCols+` FROM http_hosts WHERE id = ?`, id))
	return h, s.wrap("http host", err)
}

// ListHTTPHosts returns every serverless host, oldest first.
func (s *sqlStore) ListHTTPHosts(ctx context.Context) ([]HTTPHost, error) {
	rows, err := s.query(ctx, `SELECT `+httpHostCols+` FROM http_hosts ORDER BY created_at, url`+s.d.bytewise)
	if err != nil {
		return nil, s.wrap("list http hosts", err)
	}
	defer rows.Close()
	out := []HTTPHost{}
	for rows.Next() {
		h, err := scanHTTPHost(rows)
		if err != nil {
			return nil, s.wrap("list http hosts", err)
		}
		out = append(out, h)
	}
	return out, s.wrap("list http hosts", rows.Err())
}

// DeleteHTTPHost deletes a serverless host.
func (s *sqlStore) DeleteHTTPHost(ctx context.Context, id string) error {
	r, err := s.exec(ctx, `DELETE FROM http_hosts WHERE id = ?`, id)
	return s.affected("delete http host", r, err)
}
