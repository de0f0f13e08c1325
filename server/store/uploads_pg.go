package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
)

// uploadChunk is the size of one row of upload_chunks.
const uploadChunk = 1 << 20

// PutUpload stores the file read from r as upload id named name, in one
// transaction, a chunk at a time, and returns its size.
func (s *Postgres) PutUpload(ctx context.Context, id, name string, r io.Reader) (int64, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, s.wrap("put upload", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO uploads (id, name, size) VALUES ($1, $2, 0)`, id, name); err != nil {
		return 0, s.wrap("put upload", err)
	}
	buf := make([]byte, uploadChunk)
	var size int64
	for seq := 0; ; seq++ {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO upload_chunks (upload_id, seq, data) VALUES ($1, $2, $3)`, id, seq, buf[:n]); err != nil {
				return 0, s.wrap("put upload", err)
			}
			size += int64(n)
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return 0, fmt.Errorf("store: put upload: %w", rerr)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE uploads SET size = $2 WHERE id = $1`, id, size); err != nil {
		return 0, s.wrap("put upload", err)
	}
	return size, s.wrap("put upload", tx.Commit(ctx))
}

// Upload is an upload read from the database: an io.ReadSeeker over its
// chunks, each read when reached.
type Upload struct {
	s       *Postgres
	ctx     context.Context
	id      string
	Size    int64
	Created time.Time
	off     int64
	chunk   []byte
	seq     int
}

// OpenUpload returns upload id when it was uploaded as name; ErrNotFound
// otherwise. ctx bounds its reads.
func (s *Postgres) OpenUpload(ctx context.Context, id, name string) (*Upload, error) {
	u := &Upload{s: s, ctx: ctx, id: id, seq: -1}
	var stored string
	err := s.pool.QueryRow(ctx, `SELECT name, size, created_at FROM uploads WHERE id = $1`, id).Scan(&stored, &u.Size, &u.Created)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && stored != name) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, s.wrap("open upload", err)
	}
	return u, nil
}

// Read implements io.Reader.
func (u *Upload) Read(p []byte) (int, error) {
	if u.off >= u.Size {
		return 0, io.EOF
	}
	seq := int(u.off / uploadChunk)
	if seq != u.seq {
		if err := u.s.pool.QueryRow(u.ctx, `SELECT data FROM upload_chunks WHERE upload_id = $1 AND seq = $2`, u.id, seq).Scan(&u.chunk); err != nil {
			return 0, u.s.wrap("read upload", err)
		}
		u.seq = seq
	}
	n := copy(p, u.chunk[u.off-int64(seq)*uploadChunk:])
	if n == 0 {
		return 0, io.ErrUnexpectedEOF // a chunk shorter than the size says
	}
	u.off += int64(n)
	return n, nil
}

// Seek implements io.Seeker.
func (u *Upload) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += u.off
	case io.SeekEnd:
		offset += u.Size
	default:
		return 0, errors.New("store: upload seek: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("store: upload seek: negative position")
	}
	u.off = offset
	return offset, nil
}

// DeleteUploadsBefore deletes the uploads made before t and returns how
// many.
func (s *Postgres) DeleteUploadsBefore(ctx context.Context, t time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM uploads WHERE created_at < $1`, t)
	if err != nil {
		return 0, s.wrap("delete uploads", err)
	}
	return int(tag.RowsAffected()), nil
}
