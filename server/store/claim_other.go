//go:build !unix

package store

import "context"

// Claim is not enforced for SQLite on this platform.
func (s *SQLite) Claim(context.Context) (func(), error) { return func() {}, nil }
