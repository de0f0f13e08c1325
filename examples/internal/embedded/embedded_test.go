package embedded

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestKeyKeptBetweenRuns: a restarted example reuses its development key
// (no new key per run); a key the server no longer accepts is replaced.
func TestKeyKeptBetweenRuns(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("INTERVAL_DATA_DIR", dir)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	start := func() *Server {
		t.Helper()
		s, err := Start(ctx, "test", "127.0.0.1:0", log)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	stop := func(s *Server) {
		t.Helper()
		if err := s.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	first := start()
	if first.APIKey == "" || first.LoginLink == "" {
		t.Fatalf("no key or login link: %+v", first)
	}
	stop(first)
	second := start()
	if second.APIKey != first.APIKey {
		t.Fatal("a restart created a new key instead of reusing the kept one")
	}
	stop(second)
	if err := os.WriteFile(filepath.Join(dir, "test.key"), []byte("dev_not-a-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	third := start()
	defer stop(third)
	if third.APIKey == "dev_not-a-key" || third.APIKey == first.APIKey {
		t.Fatalf("an unknown kept key was used: %q", third.APIKey)
	}
	if err := third.srv.CheckAPIKey(ctx, third.APIKey); err != nil {
		t.Fatalf("the new key is not accepted: %v", err)
	}
}
