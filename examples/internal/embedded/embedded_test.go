package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/router"
	"github.com/interval-go/sdk/server/store"
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
	// A second example on the same data while the first runs says so.
	if _, err := Start(ctx, "test", "127.0.0.1:0", log); !errors.Is(err, store.ErrInUse) || !strings.Contains(err.Error(), "test is already running") {
		t.Fatalf("second start on the same data: %v", err)
	}
	if third.APIKey == "dev_not-a-key" || third.APIKey == first.APIKey {
		t.Fatalf("an unknown kept key was used: %q", third.APIKey)
	}
	if err := third.srv.CheckAPIKey(ctx, third.APIKey); err != nil {
		t.Fatalf("the new key is not accepted: %v", err)
	}
}

// The quickstart's path: with no endpoint configured, Start serves the
// console on localhost, a host connects with the development key it
// returns, and the login link opens a console session that lists the
// host's action online. A Shutdown whose context has ended still leaves
// nothing running (goleak).
func TestHostConnectsAndConsoleListsIt(t *testing.T) {
	t.Setenv("INTERVAL_DATA_DIR", t.TempDir())
	ctx := context.Background()
	s, err := Start(ctx, "qs", "127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSuffix(s.URL, "/")
	if !strings.HasPrefix(base, "http://127.0.0.1:") || s.Endpoint != "ws"+strings.TrimPrefix(base, "http")+"/websocket" ||
		!strings.HasPrefix(s.LoginLink, base+"/login/link?token=") || !strings.HasPrefix(s.APIKey, "dev_") {
		t.Fatalf("started %+v", s)
	}
	r := router.New()
	r.Action("hello", func(ctx context.Context, tx *interval.Tx) (any, error) { return "hi", nil })
	c, err := interval.New(interval.Options{Endpoint: s.Endpoint, APIKey: s.APIKey, Routes: r,
		Logger: slog.New(slog.DiscardHandler), RetryInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	listened := make(chan error, 1)
	go func() { listened <- c.Listen(ctx) }()
	defer func() {
		c.Close()
		if err := <-listened; !errors.Is(err, interval.ErrClosed) {
			t.Errorf("Listen: %v", err)
		}
	}()

	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := hc.Get(s.LoginLink)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := hc.Get(base + "/api/console/routes?env=development")
		if err != nil {
			t.Fatal(err)
		}
		var routes struct {
			Actions []struct {
				Slug   string
				Online bool
			}
		}
		err = json.NewDecoder(resp.Body).Decode(&routes)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("routes: HTTP %d %v", resp.StatusCode, err)
		}
		if len(routes.Actions) == 1 && routes.Actions[0].Slug == "hello" && routes.Actions[0].Online {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the host's action is not listed online: %+v", routes.Actions)
		}
		time.Sleep(20 * time.Millisecond)
	}

	ended, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Shutdown(ended); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with an ended context: %v", err)
	}
}
