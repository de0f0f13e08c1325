package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/interval-go/sdk/internal/faultproxy"
	"github.com/interval-go/sdk/server/store"
	"github.com/interval-go/sdk/server/store/pgtest"
)

// TestFrozenDatabaseAsksToTryAgain freezes the network path between a
// server and its PostgreSQL (a partition, a failover: nothing answers,
// nothing closes). A console request then got no answer at all (the
// browser gave up after its own timeout), or, once the lookup of its
// session failed, a 401 that logged the operator out; a console socket was
// refused as an invalid session. Now a request is answered 503 "try again"
// within storeAnswerTimeout, a socket is closed with 1013 (try again
// later) so that the console reconnects, and once the database answers
// again the same session works: nobody was logged out.
func TestFrozenDatabaseAsksToTryAgain(t *testing.T) {
	dbURL, proxy := databaseThroughProxy(t)
	e := newEnv(t, replicaOpts(dbURL))
	admin := e.admin()
	hc := &http.Client{Jar: admin.http.Jar, Timeout: 15 * time.Second}
	get := func() (int, string, time.Duration) {
		start := time.Now()
		req, _ := http.NewRequest("GET", e.hs.URL+"/api/console/transactions", nil)
		req.Header.Set(ConsoleHeader, "1")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("GET /api/console/transactions: %v after %v", err, time.Since(start).Round(time.Millisecond))
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), time.Since(start)
	}
	if code, body, _ := get(); code != http.StatusOK {
		t.Fatalf("before the freeze: %d %s", code, body)
	}

	proxy.FreezeNew(true)
	for _, pc := range proxy.Conns() {
		pc.Freeze()
	}
	code, body, took := get()
	t.Logf("frozen: %d %s after %v", code, strings.TrimSpace(body), took.Round(time.Millisecond))
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "try again") {
		t.Fatalf("a request while the database does not answer got %d %s; want 503 and to try again", code, body)
	}
	// A console socket opened meanwhile is told to come back, not that
	// its session is invalid.
	// (A replica whose lease went unrenewed meanwhile refuses the
	// upgrade itself, 503, which the console also takes as "reconnect".)
	ws, err := dialConsole(e, admin)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_, _, err = ws.Read(ctx)
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusTryAgainLater {
			t.Fatalf("a console socket opened while the database does not answer ended with %v; want 1013 (try again later)", err)
		}
	} else if !strings.Contains(err.Error(), "503") {
		t.Fatalf("a console socket opened while the database does not answer: %v; want 1013 or a 503", err)
	}
	t.Logf("console socket: %v", err)

	proxy.FreezeNew(false)
	proxy.CutAll()
	deadline := time.Now().Add(wait)
	for {
		code, body, _ := get()
		if code == http.StatusOK {
			break
		}
		if code == http.StatusUnauthorized || time.Now().After(deadline) {
			t.Fatalf("after the database came back: %d %s; want the session still valid", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dialConsole opens a console socket with c's session, reading nothing.
func dialConsole(e *env, c *client) (*websocket.Conn, error) {
	u, err := url.Parse(e.hs.URL)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	for _, ck := range c.http.Jar.Cookies(u) {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	h.Set("Origin", e.hs.URL)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, e.wsURL(), &websocket.DialOptions{HTTPHeader: h})
	return ws, err
}

// authHangingStore is a store whose authentication lookups (a session,
// an API key) stop answering on demand, like a disk that hangs.
type authHangingStore struct {
	store.Store
	hang atomic.Bool
}

func (h *authHangingStore) SessionUser(ctx context.Context, hash string, now time.Time) (store.User, error) {
	if h.hang.Load() {
		<-ctx.Done()
		return store.User{}, fmt.Errorf("store: session user: %w", ctx.Err())
	}
	return h.Store.SessionUser(ctx, hash, now)
}

func (h *authHangingStore) APIKeyByHash(ctx context.Context, hash string) (store.APIKey, error) {
	if h.hang.Load() {
		<-ctx.Done()
		return store.APIKey{}, fmt.Errorf("store: api key: %w", ctx.Err())
	}
	return h.Store.APIKeyByHash(ctx, hash)
}

// TestStoreNotAnsweringAuthIsNoRefusal: while the store does not answer
// the lookups that authenticate a request or a socket, nobody is told
// that their session or key is invalid (the console showed its login page,
// a host was refused as having an invalid API key): the console's request
// gets 503 "try again", its socket and a host's are closed with 1013 (try
// again later) and reconnect, a host API call gets 503; once the store
// answers, the same session and key work.
func TestStoreNotAnsweringAuthIsNoRefusal(t *testing.T) {
	t.Cleanup(func(d time.Duration) func() { return func() { storeAnswerTimeout = d } }(storeAnswerTimeout))
	storeAnswerTimeout = 300 * time.Millisecond
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	hs := &authHangingStore{Store: st}
	e := newEnv(t, Options{Store: hs})
	admin := e.admin()
	key := admin.key(store.EnvProduction)

	hs.hang.Store(true)
	if code := admin.try("GET", "/api/console/transactions", nil, nil); code != http.StatusServiceUnavailable {
		t.Fatalf("console request while the store does not answer: %d; want 503", code)
	}
	ws, err := dialConsole(e, admin)
	if err != nil {
		t.Fatal(err)
	}
	expectClose(t, ws, websocket.StatusTryAgainLater, "console socket")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	hws, _, err := websocket.Dial(ctx, e.wsURL(), &websocket.DialOptions{HTTPHeader: http.Header{"X-Api-Key": {key}, "X-Instance-Id": {"i1"}}})
	if err != nil {
		t.Fatal(err)
	}
	expectClose(t, hws, websocket.StatusTryAgainLater, "host socket")
	if code := notifyWithKey(t, e, key); code != http.StatusServiceUnavailable {
		t.Fatalf("host API call while the store does not answer: %d; want 503", code)
	}

	hs.hang.Store(false)
	if code := admin.try("GET", "/api/console/transactions", nil, nil); code != http.StatusOK {
		t.Fatalf("console request once the store answers: %d; want 200 (the session kept)", code)
	}
	e.host(key, "", action("a")) // the key works
}

// expectClose reads ws until it ends and wants the close code want.
func expectClose(t *testing.T, ws *websocket.Conn, want websocket.StatusCode, what string) {
	t.Helper()
	defer ws.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		_, _, err := ws.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != want {
			t.Fatalf("%s ended with %v; want close %d", what, err, want)
		}
		return
	}
}

// TestReplicaRejoinsPastFrozenConnections: the path of a replica's open
// connections to PostgreSQL died (they carry nothing, for good) while new
// connections work, as after a NAT or a failover forgot the old ones. The
// replica's lease went unrenewed meanwhile; it must be renewed on a new
// connection as soon as one works. It took 36 s: each renewal waited 20 s
// on a dead connection, and the dead connections held the whole pool (4)
// until their statements timed out.
func TestReplicaRejoinsPastFrozenConnections(t *testing.T) {
	dbURL, proxy := databaseThroughProxy(t)
	e := newEnv(t, replicaOpts(dbURL))
	ready := func() int {
		resp, err := http.Get(e.hs.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := ready(); code != http.StatusOK {
		t.Fatalf("/readyz before: %d", code)
	}
	proxy.FreezeNew(true)
	for _, pc := range proxy.Conns() {
		pc.Freeze()
	}
	// Unready once a lease went by without a renewal.
	deadline := time.Now().Add(wait)
	for ready() == http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("/readyz still 200 with every connection to the database frozen")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // every beat meanwhile waits on a frozen connection
	// New connections work again; the frozen ones stay frozen.
	proxy.FreezeNew(false)
	back := time.Now()
	for ready() != http.StatusOK {
		if time.Since(back) > 8*time.Second {
			t.Fatalf("/readyz still not 200 %v after new connections to the database worked again (the dead connections hold the pool until their statements time out)", time.Since(back).Round(time.Millisecond))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("ready again %v after new connections worked", time.Since(back).Round(time.Millisecond))
}

// databaseThroughProxy makes a new PostgreSQL database and returns its URL
// through a fault proxy (TCP to the test server's Unix socket), closed at
// the test's end.
func databaseThroughProxy(t *testing.T) (string, *faultproxy.Proxy) {
	t.Helper()
	u, err := url.Parse(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := faultproxy.New("unix:" + u.Query().Get("host") + "/.s.PGSQL.5432")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	q := u.Query()
	q.Del("host")
	u.RawQuery, u.Host = q.Encode(), proxy.Addr()
	return u.String(), proxy
}
