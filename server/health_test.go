package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

// get fetches url and returns its status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// /readyz turns 503 as soon as Shutdown begins, while /healthz keeps
// answering 200: a load balancer stops sending new sockets to a draining
// server without its liveness probe restarting it.
func TestHealthThroughShutdown(t *testing.T) {
	e := newEnv(t, Options{})
	for _, p := range []string{HealthzPath, ReadyzPath} {
		if code, body := get(t, e.hs.URL+p); code != http.StatusOK || body != "ok" {
			t.Fatalf("%s before shutdown: %d %q", p, code, body)
		}
	}
	// A host with a run waiting on the operator: what a drain is for.
	admin := e.admin()
	h := e.host(admin.key(store.EnvDevelopment), "", action("job"))
	b := admin.browser()
	id := admin.startRun(b, h, "job", store.EnvDevelopment)
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("r1", "g1", "INPUT_TEXT")})

	done := make(chan error, 1)
	go func() { done <- e.s.Shutdown(context.Background()) }()
	deadline := time.Now().Add(wait)
	for {
		code, body := get(t, e.hs.URL+ReadyzPath)
		if code == http.StatusServiceUnavailable {
			if body != "shutting down" {
				t.Fatalf("/readyz while shutting down: %q", body)
			}
			break
		}
		if code != http.StatusOK || time.Now().After(deadline) {
			t.Fatalf("/readyz after Shutdown began: %d %q", code, body)
		}
	}
	if code, _ := get(t, e.hs.URL+HealthzPath); code != http.StatusOK {
		t.Fatalf("/healthz while shutting down: %d", code)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Shutdown did not return")
	}
	<-h.conn.Done()
	if code, _ := closeStatus(h.conn.Err()); code != 1012 {
		t.Fatalf("host closed with %v, want 1012", h.conn.Err())
	}
	// Shut down: still alive, never ready again; other paths refused.
	if code, body := get(t, e.hs.URL+ReadyzPath); code != http.StatusServiceUnavailable || body != "shutting down" {
		t.Fatalf("/readyz after Shutdown: %d %q", code, body)
	}
	if code, _ := get(t, e.hs.URL+HealthzPath); code != http.StatusOK {
		t.Fatalf("/healthz after Shutdown: %d", code)
	}
	if code, _ := get(t, e.hs.URL+"/api/auth/me"); code != http.StatusServiceUnavailable {
		t.Fatalf("API after Shutdown: %d", code)
	}
}

// unansweringStore fails reads of the user count on demand, like a database
// that stopped answering.
type unansweringStore struct {
	store.Store
	fail atomic.Bool
}

func (f *unansweringStore) CountUsers(ctx context.Context) (int, error) {
	if f.fail.Load() {
		return 0, errors.New("connection refused")
	}
	return f.Store.CountUsers(ctx)
}

// A server whose store does not answer is not ready (its error is logged,
// not shown), and ready again once the store answers.
func TestReadyzFollowsStore(t *testing.T) {
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fs := &unansweringStore{Store: st}
	var logs logBuf
	e := newEnv(t, Options{Store: fs, Logger: logs.logger()})
	if code, _ := get(t, e.hs.URL+ReadyzPath); code != http.StatusOK {
		t.Fatalf("/readyz: %d", code)
	}
	fs.fail.Store(true)
	if code, body := get(t, e.hs.URL+ReadyzPath); code != http.StatusServiceUnavailable || body != "store unavailable" {
		t.Fatalf("/readyz with a failing store: %d %q", code, body)
	}
	if code, _ := get(t, e.hs.URL+HealthzPath); code != http.StatusOK {
		t.Fatalf("/healthz with a failing store: %d", code)
	}
	waitLogged(t, &logs, "not ready: the store does not answer", "connection refused")
	fs.fail.Store(false)
	if code, _ := get(t, e.hs.URL+ReadyzPath); code != http.StatusOK {
		t.Fatalf("/readyz after the store came back: %d", code)
	}
}

// A server opened for administration serves nothing: alive, never ready.
func TestReadyzAdminOnly(t *testing.T) {
	e := newEnv(t, Options{AdminOnly: true})
	if code, _ := get(t, e.hs.URL+HealthzPath); code != http.StatusOK {
		t.Fatalf("/healthz: %d", code)
	}
	if code, body := get(t, e.hs.URL+ReadyzPath); code != http.StatusServiceUnavailable || body != "opened for administration only" {
		t.Fatalf("/readyz: %d %q", code, body)
	}
}
