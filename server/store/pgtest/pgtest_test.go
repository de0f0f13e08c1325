package pgtest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestMissingBinaries: without PostgreSQL the error says what to install.
func TestMissingBinaries(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	old := libGlob
	libGlob = t.TempDir() + "/*/bin"
	defer func() { libGlob = old }()
	_, err := Start()
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "install Debian's postgresql package") {
		t.Fatalf("Start without PostgreSQL: %v", err)
	}
}

// TestStartStop starts a server, creates two databases, checks that a
// password is required, and stops it.
func TestStartStop(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	}()
	ctx := context.Background()
	a, err := s.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateDatabase(ctx)
	if err != nil || a == b {
		t.Fatalf("second database %q %v", b, err)
	}
	c, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	var one int
	if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("query: %d %v", one, err)
	}
	c.Close(ctx)
	if c, err := pgx.Connect(ctx, strings.Replace(a, s.Password, "wrong", 1)); err == nil {
		c.Close(ctx)
		t.Fatal("connected with a wrong password")
	}
}
