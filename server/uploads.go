package server

import (
	"os"
	"path/filepath"
	"time"
)

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
