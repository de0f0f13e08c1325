//go:build unix

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
)

// Claim takes an exclusive flock on the database file's ".lock" companion;
// the kernel drops it when the process ends.
func (s *SQLite) Claim(context.Context) (func(), error) {
	f, err := os.OpenFile(s.path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: claim: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: another interval-server serves from %s", ErrInUse, s.path)
		}
		return nil, fmt.Errorf("store: claim: %w", err)
	}
	return func() { f.Close() }, nil
}
