package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// maxUploadNameBytes bounds the name of an uploaded file. File systems take
// 255 bytes, but the name is not used on disk: a name of 255 UTF-16 units
// (macOS) may be longer in UTF-8.
const maxUploadNameBytes = 1024

// An upload is a directory of the uploads dir named by a random id,
// holding the file's bytes (uploadData) and the name it was uploaded with
// (uploadName), which its URL carries and serveUpload checks. The name is
// never a path on disk, so any name is readable: one of any length, one
// starting with a dot, index.html. Uploads made before held the file under
// its own name; openUpload still reads them.
const (
	uploadData = "data"
	uploadName = "name"
)

// saveUpload stores an upload in dir (which must not exist) and returns
// its size. The caller removes dir when it fails.
func saveUpload(dir, name string, src io.Reader) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return 0, fmt.Errorf("upload dir: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return 0, fmt.Errorf("upload dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, uploadName), []byte(name), 0o600); err != nil {
		return 0, fmt.Errorf("upload name: %w", err)
	}
	out, err := os.OpenFile(filepath.Join(dir, uploadData), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("upload file: %w", err)
	}
	n, err := io.Copy(out, src)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("upload file: %w", err)
	}
	return n, nil
}

// openUpload opens the file of the upload in dir when name is the name it
// was uploaded with; an error wrapping fs.ErrNotExist otherwise.
func openUpload(dir, name string) (*os.File, error) {
	stored, err := os.ReadFile(filepath.Join(dir, uploadName))
	if err == nil {
		if string(stored) != name {
			return nil, fmt.Errorf("upload %s is not named %q: %w", filepath.Base(dir), name, fs.ErrNotExist)
		}
		return os.Open(filepath.Join(dir, uploadData))
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	// An upload stored under its own name by an earlier version.
	if name == "" || name == "." || name == ".." || name != filepath.Base(name) {
		return nil, fmt.Errorf("upload name %q: %w", name, fs.ErrNotExist)
	}
	return os.Open(filepath.Join(dir, name))
}

// Defaults of Options.UploadRetention and Options.UploadDiskReserve.
const (
	DefaultUploadRetention   = 30 * 24 * time.Hour
	DefaultUploadDiskReserve = 1 << 30
)

// sweepUploads deletes uploaded files older than the retention: a file is
// uploaded for the run that asks for it, and the host reads it then.
// It returns how many it deleted.
func (s *Server) sweepUploads(now time.Time) int {
	keep := s.opts.UploadRetention
	if keep < 0 {
		return 0
	}
	if s.cl != nil {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		n, err := s.cl.db.DeleteUploadsBefore(ctx, now.Add(-keep))
		if err != nil {
			s.log.Warn("deleting old uploads", "err", err)
		} else if n > 0 {
			s.log.Info("deleted old uploads", "count", n, "olderThan", keep.String())
		}
		return n
	}
	ents, err := os.ReadDir(s.upDir)
	if err != nil {
		if !os.IsNotExist(err) {
			s.log.Warn("reading the uploads directory", "err", err)
		}
		return 0
	}
	deleted := 0
	for _, ent := range ents {
		info, err := ent.Info()
		if err != nil || !ent.IsDir() || now.Sub(info.ModTime()) < keep {
			continue
		}
		if err := os.RemoveAll(filepath.Join(s.upDir, ent.Name())); err != nil {
			s.log.Warn("deleting an old upload", "upload", ent.Name(), "err", err)
			continue
		}
		deleted++
	}
	if deleted > 0 {
		s.log.Info("deleted old uploads", "count", deleted, "olderThan", keep.String())
	}
	return deleted
}

// uploadRoom reports whether an upload of up to size bytes leaves the
// data dir's file system its reserve, and the free bytes (-1: unknown).
func (s *Server) uploadRoom(size int64) (bool, int64) {
	free, ok := freeDisk(s.opts.DataDir)
	if !ok {
		return true, -1
	}
	return free-size >= s.opts.UploadDiskReserve, free
}
