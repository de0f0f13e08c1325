package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	wsa "github.com/interval-go/sdk/internal/isocket"
	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/internal/rpc"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/router"
	"github.com/interval-go/sdk/server/store/pgtest"
)

// wait bounds every wait of these tests; reaching it is a failure, not a
// timing assertion.
const wait = 30 * time.Second

// raceBuild is set (race_test.go) when the tests run with -race: the server
// binary is then built with -race too, which also reuses the test build's
// cache.
var raceBuild bool

var built struct {
	once sync.Once
	path string
	err  error
}

// serverBinary builds this command into a temporary directory, once per
// test binary.
func serverBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "interval-server-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "interval-server")
		args := []string{"build", "-o", built.path}
		if raceBuild {
			args = append(args, "-race")
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			built.err = err
			return
		}
		out, err := exec.Command(goBin, append(args, ".")...).CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// removeBinary deletes the binary serverBinary built (from TestMain).
func removeBinary() {
	if built.path != "" {
		os.RemoveAll(filepath.Dir(built.path))
	}
}

// TestKill9LosesNothingAcknowledged: `kill -9` of the server loses nothing
// it acknowledged. A real server process gets keys and users from the CLI,
// then users, a team, a key, a finished transaction with logs (run by a Go
// host), a transaction waiting for input and a queued action through its
// HTTP APIs; it is killed with SIGKILL and restarted on the same store, and
// everything is there: sessions, users, keys that still authenticate,
// history with results and logs, the queued action, and the waiting
// transaction, which its host then finishes. Once on the default SQLite
// file, once on PostgreSQL.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	bin := serverBinary(t)
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		kill9(t, bin, "", "")
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		db := pgtest.NewDatabase(t)
		kill9(t, bin, db, pgtest.Shared(t).Password)
	})
}

func kill9(t *testing.T, bin, databaseURL, secret string) {
	ctx := context.Background()
	dataDir := t.TempDir()
	common := []string{"--data-dir", dataDir}
	if databaseURL != "" {
		common = append(common, "--database-url", databaseURL)
	}
	var outputs []string // everything the processes printed, checked for the password
	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append(args, common...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		outputs = append(outputs, string(out), stderr.String())
		if err != nil {
			t.Fatalf("interval-server %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
		}
		return string(out)
	}
	out := cli("key", "create", "--env", "development")
	devKey := lastLine(out)
	adminLink := lineWith(t, out, "/login/link?token=")
	liveKey := lastLine(cli("key", "create", "--env", "production"))
	bobLink := lastLine(cli("user", "create", "--email", "bob@example.com", "--role", "developer", "--teams", "support"))

	srv := startServer(t, bin, "127.0.0.1:0", common)
	admin := login(t, srv.url, adminLink)
	bob := login(t, srv.url, bobLink)

	// Through the console API.
	var carol struct{ User struct{ ID string } }
	admin.do(t, "POST", "/api/console/users", map[string]any{"email": "carol@example.com", "role": "member",
		"firstName": "Carol", "teams": []string{"support", "billing"}}, http.StatusCreated, &carol)
	admin.do(t, "POST", "/api/console/teams", map[string]any{"slug": "ops", "name": "Operations"}, http.StatusCreated, nil)
	var apiKey struct{ ID, Key string }
	admin.do(t, "POST", "/api/console/keys", map[string]any{"env": "development", "label": "from the API"}, http.StatusCreated, &apiKey)

	// A Go host serving two actions.
	r := router.New()
	r.Action("durable", func(ctx context.Context, tx *interval.Tx) (any, error) {
		for _, l := range []string{"first line", "second line"} {
			if err := tx.Log(ctx, l); err != nil {
				return nil, err
			}
		}
		return map[string]any{"answer": 42, "user": tx.User.Email}, nil
	})
	r.Action("waits", func(ctx context.Context, tx *interval.Tx) (any, error) {
		name, err := tx.IO.Input.Text("Name").Run(ctx)
		if err != nil {
			return nil, err
		}
		if err := tx.Log(ctx, "got "+name); err != nil {
			return nil, err
		}
		return "hello " + name, nil
	})
	srv.listen(t, devKey, r)
	admin.waitOnline(t, "durable")

	// A finished transaction: its completion reached the browser.
	b := admin.browser(t, srv.url)
	var created struct{ ID string }
	admin.do(t, "POST", "/api/console/transactions", map[string]any{"slug": "durable", "env": "development",
		"params": map[string]any{"n": 1}}, http.StatusCreated, &created)
	doneID := created.ID
	b.must(t, protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: doneID})
	var completed protocol.TransactionCompletedInputs
	b.next(t, protocol.MethodTransactionCompleted).decode(t, &completed)
	if completed.TransactionID != doneID || completed.ResultStatus != "SUCCESS" {
		t.Fatalf("TRANSACTION_COMPLETED %+v", completed)
	}
	// A transaction waiting for the operator: its render reached the
	// browser.
	admin.do(t, "POST", "/api/console/transactions", map[string]any{"slug": "waits", "env": "development"}, http.StatusCreated, &created)
	openID := created.ID
	b.must(t, protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: openID})
	b.next(t, protocol.MethodRender)
	// A queued action, through the host HTTP API.
	code, enq := hostAPI(t, srv.url, liveKey, "/api/actions/enqueue", map[string]any{"slug": "durable",
		"assignee": "bob@example.com", "params": map[string]any{"id": 7}})
	if code != http.StatusOK || enq["type"] != "success" {
		t.Fatalf("enqueue: %d %v", code, enq)
	}
	queuedID, _ := enq["id"].(string)

	// kill -9, then the same store again on the same address.
	outputs = append(outputs, srv.kill(t))
	b.close()
	srv = startServer(t, bin, srv.addr, common)
	if admin.base != srv.url {
		t.Fatalf("restarted on %s, not %s", srv.url, admin.base)
	}

	// Sessions survived: no new login.
	var me struct{ User struct{ Email, Role string } }
	admin.do(t, "GET", "/api/auth/me", nil, http.StatusOK, &me)
	if me.User.Email != "admin@localhost" || me.User.Role != "admin" {
		t.Fatalf("me %+v", me)
	}
	var users struct {
		Users []struct {
			ID, Email, Role, FirstName string
			Teams                      []string
		}
	}
	admin.do(t, "GET", "/api/console/users", nil, http.StatusOK, &users)
	got := map[string]string{}
	for _, u := range users.Users {
		got[u.Email] = fmt.Sprint(u.Role, " ", u.FirstName, " ", u.Teams)
	}
	want := map[string]string{"admin@localhost": "admin Admin []", "bob@example.com": "developer  [support]",
		"carol@example.com": "member Carol [billing support]"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("users after kill -9:\n got %v\nwant %v", got, want)
	}
	var teams struct{ Teams []struct{ Slug, Name string } }
	admin.do(t, "GET", "/api/console/teams", nil, http.StatusOK, &teams)
	if !slices.ContainsFunc(teams.Teams, func(tm struct{ Slug, Name string }) bool { return tm.Slug == "ops" && tm.Name == "Operations" }) {
		t.Fatalf("team ops lost: %+v", teams)
	}
	var keys struct {
		Keys []struct {
			ID, Env, Label string
			RevokedAt      *time.Time
		}
	}
	admin.do(t, "GET", "/api/console/keys", nil, http.StatusOK, &keys)
	if len(keys.Keys) != 3 || !slices.ContainsFunc(keys.Keys, func(k struct {
		ID, Env, Label string
		RevokedAt      *time.Time
	}) bool {
		return k.ID == apiKey.ID && k.Label == "from the API" && k.RevokedAt == nil
	}) {
		t.Fatalf("keys after kill -9: %+v", keys)
	}

	// Keys still authenticate: the host reconnects by itself with the CLI's
	// development key, the API's key connects, the live key is accepted.
	admin.waitOnline(t, "durable")
	conn, err := wsa.Dial(ctx, wsa.DialOptions{Endpoint: srv.wsURL(), APIKey: apiKey.Key}, wsa.Config{DisablePing: true})
	if err != nil {
		t.Fatalf("key created through the API: %v", err)
	}
	conn.Close()
	if code, out := hostAPI(t, srv.url, liveKey, "/api/notify", map[string]any{"message": "hi", "transactionId": "none",
		"deliveryInstructions": []any{}}); code != http.StatusNotFound {
		t.Fatalf("live key: HTTP %d %v, want 404 (authenticated, no such transaction)", code, out)
	}

	// History: the finished transaction with its result and logs.
	d := admin.tx(t, doneID)
	if d.Status != "COMPLETED" || d.ResultStatus != "SUCCESS" || d.Result == nil || !strings.Contains(*d.Result, `"answer":42`) ||
		string(d.Params) != `{"n":1}` {
		t.Fatalf("finished transaction after kill -9: %+v result %v", d, d.Result)
	}
	if len(d.Logs) != 2 || d.Logs[0].Data != "first line" || d.Logs[1].Data != "second line" || d.Logs[1].Index != 1 {
		t.Fatalf("logs after kill -9: %+v", d.Logs)
	}
	var list struct{ Transactions []struct{ ID, Status string } }
	admin.do(t, "GET", "/api/console/transactions?slug=&limit=50", nil, http.StatusOK, &list)
	if len(list.Transactions) != 2 || list.Transactions[0].ID != openID || list.Transactions[1].ID != doneID {
		t.Fatalf("history after kill -9: %+v", list)
	}
	// The queued action, for its assignee.
	var queue struct{ Queued []map[string]any }
	bob.do(t, "GET", "/api/console/queue", nil, http.StatusOK, &queue)
	if len(queue.Queued) != 1 || queue.Queued[0]["id"] != queuedID || fmt.Sprint(queue.Queued[0]["params"]) != "map[id:7]" {
		t.Fatalf("queue after kill -9: %+v", queue)
	}

	// The transaction that was waiting carries on: its host came back and
	// re-sent the input; the operator answers and it completes.
	if s := admin.tx(t, openID).Status; s == "COMPLETED" || s == "CANCELED" {
		t.Fatalf("waiting transaction after kill -9: %s", s)
	}
	b = admin.connectRun(t, srv.url, openID)
	var rd protocol.RenderInputs
	b.next(t, protocol.MethodRender).decode(t, &rd)
	render, err := protocol.DecodeIORender(rd.ToRender)
	if err != nil || len(render.ToRender) != 1 || render.ToRender[0].Label != "Name" {
		t.Fatalf("render after kill -9: %v %s", err, rd.ToRender)
	}
	value, _ := json.Marshal("Ada")
	resp, _ := json.Marshal(protocol.IOResponse{ID: render.ID, TransactionID: openID, InputGroupKey: render.InputGroupKey,
		Kind: protocol.KindReturn, Values: []json.RawMessage{value}, Choice: "Continue"})
	b.must(t, protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: openID, IOResponse: string(resp)})
	b.next(t, protocol.MethodTransactionCompleted).decode(t, &completed)
	if completed.TransactionID != openID || completed.ResultStatus != "SUCCESS" {
		t.Fatalf("waiting transaction completed %+v", completed)
	}
	d = admin.tx(t, openID)
	if d.Status != "COMPLETED" || d.Result == nil || !strings.Contains(*d.Result, "hello Ada") || len(d.Logs) != 1 || d.Logs[0].Data != "got Ada" {
		t.Fatalf("waiting transaction after completion: %+v %v", d, d.Logs)
	}
	b.close()

	outputs = append(outputs, srv.stop(t))
	if srv.firstRun() {
		t.Fatal("the restarted server created a new admin")
	}
	if secret != "" {
		for _, o := range outputs {
			if strings.Contains(o, secret) {
				t.Fatalf("the database password was printed:\n%s", o)
			}
		}
	}
}

// --- the server process ---

type serverProc struct {
	cmd    *exec.Cmd
	addr   string
	url    string
	stdout *syncBuf
	stderr *syncBuf
	done   chan struct{} // closed when the process has ended
}

// startServer runs the binary on addr and waits for it to print its URL.
func startServer(t *testing.T, bin, addr string, common []string) *serverProc {
	t.Helper()
	p := &serverProc{stdout: &syncBuf{}, stderr: &syncBuf{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"--addr", addr}, common...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	deadline := time.After(wait)
	for p.url == "" {
		select {
		case <-p.done:
			t.Fatalf("server exited: %v\n%s", p.cmd.ProcessState, p.stderr.String())
		case <-deadline:
			t.Fatalf("server did not print its URL\n%s", p.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if _, rest, ok := strings.Cut(p.stdout.String(), "Interval server: "); ok && strings.Contains(rest, "\n") {
			p.url = strings.Fields(rest)[0]
		}
	}
	u, err := url.Parse(p.url)
	if err != nil {
		t.Fatal(err)
	}
	p.addr = u.Host
	return p
}

func (p *serverProc) wsURL() string { return "ws" + strings.TrimPrefix(p.url, "http") + "/websocket" }

// listen connects a Go host with routes r to the server until the test
// ends (it reconnects across the server's restarts).
func (p *serverProc) listen(t *testing.T, key string, r *router.Mux) {
	t.Helper()
	host, err := interval.New(interval.Options{Endpoint: p.wsURL(), APIKey: key, Routes: r,
		Logger: slog.New(slog.DiscardHandler), RetryInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	listened := make(chan error, 1)
	go func() { listened <- host.Listen(context.Background()) }()
	t.Cleanup(func() {
		host.Close()
		if err := <-listened; !errors.Is(err, interval.ErrClosed) {
			t.Errorf("Listen: %v", err)
		}
	})
}

// firstRun reports whether the server printed a first-start admin link.
func (p *serverProc) firstRun() bool { return strings.Contains(p.stdout.String(), "First start") }

// kill sends SIGKILL and returns what the process printed.
func (p *serverProc) kill(t *testing.T) string {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("server ended with %v, not SIGKILL", p.cmd.ProcessState)
	}
	return p.stdout.String() + p.stderr.String()
}

// stop ends the server with SIGTERM (graceful) and returns what it printed.
func (p *serverProc) stop(t *testing.T) string {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(wait):
		t.Errorf("server did not stop on SIGTERM")
		p.cmd.Process.Kill()
		<-p.done
	}
	if !p.cmd.ProcessState.Success() {
		t.Errorf("server exited with %v\n%s", p.cmd.ProcessState, p.stderr.String())
	}
	return p.stdout.String() + p.stderr.String()
}

// --- console and host API clients ---

type consoleClient struct {
	base string
	http *http.Client
}

// login follows a one-time login link (its path, on base).
func login(t *testing.T, base, link string) *consoleClient {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("login link %q: %v", link, err)
	}
	jar, _ := cookiejar.New(nil)
	c := &consoleClient{base: base, http: &http.Client{Jar: jar, Timeout: wait,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	resp, err := c.http.Get(base + u.RequestURI())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login link: HTTP %d", resp.StatusCode)
	}
	return c
}

// do calls the console API and fails unless it answers want. Requests go
// to the client's base URL, which follows the server across restarts on
// the same address.
func (c *consoleClient) do(t *testing.T, method, path string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("X-Interval-Console", "1")
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: HTTP %d, want %d: %s", method, path, resp.StatusCode, want, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
}

func (c *consoleClient) waitOnline(t *testing.T, slug string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		var out struct {
			Actions []struct {
				Slug   string
				Online bool
			}
		}
		c.do(t, "GET", "/api/console/routes?env=development", nil, http.StatusOK, &out)
		for _, a := range out.Actions {
			if a.Slug == slug && a.Online {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("action %s never online", slug)
}

type txDetail struct {
	Status, ResultStatus string
	Params               json.RawMessage
	Result               *string
	Logs                 []struct {
		Index int
		Data  string
	}
}

func (c *consoleClient) tx(t *testing.T, id string) txDetail {
	t.Helper()
	var d txDetail
	c.do(t, "GET", "/api/console/transactions/"+id, nil, http.StatusOK, &d)
	return d
}

func hostAPI(t *testing.T, base, key, path string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := (&http.Client{Timeout: wait}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// --- a browser: the console socket ---

type call struct {
	method string
	data   json.RawMessage
}

func (c call) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(c.data, v); err != nil {
		t.Fatalf("%s: %v", c.method, err)
	}
}

type browser struct {
	conn  *wsa.Conn
	rpc   *rpc.Peer
	calls chan call
	ended chan struct{}
	once  sync.Once
}

// browser opens the console socket as the logged-in user and initializes
// it; server calls are recorded and answered true.
func (c *consoleClient) browser(t *testing.T, base string) *browser {
	t.Helper()
	u, _ := url.Parse(base)
	h := http.Header{}
	for _, ck := range c.http.Jar.Cookies(u) {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	h.Set("Origin", base)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/websocket", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatalf("browser socket: %v", err)
	}
	b := &browser{calls: make(chan call, 1000), ended: make(chan struct{})}
	msgs := make(chan string, 1000)
	b.rpc = rpc.NewPeer(func(ctx context.Context, data string) error { return b.conn.Send(ctx, data) },
		func(method string, data json.RawMessage) (any, error) {
			b.calls <- call{method, append(json.RawMessage(nil), data...)}
			return true, nil
		}, nil, nil)
	b.conn = wsa.NewConn(ws, wsa.Config{DisablePing: true, OnMessage: func(d string) { msgs <- d }})
	go func() {
		defer close(b.ended)
		for {
			select {
			case d := <-msgs:
				b.rpc.Receive(d)
			case <-b.conn.Done():
				return
			}
		}
	}()
	t.Cleanup(b.close)
	b.must(t, protocol.MethodInitializeClient, nil)
	return b
}

func (b *browser) close() {
	b.once.Do(func() {
		b.conn.Close()
		b.rpc.Close()
		<-b.ended
	})
}

// connectRun opens a console socket and connects it to run id as the
// console does: a socket the server closes instead of answering (1012:
// where the run lives is changing, as on PostgreSQL after a kill -9 until
// the killed server's lease runs out and its runs are taken up) is opened
// again and the run asked for again, until wait.
func (c *consoleClient) connectRun(t *testing.T, base, id string) *browser {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		b := c.browser(t, base)
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		go func() {
			select {
			case <-b.conn.Done():
				cancel()
			case <-ctx.Done():
			}
		}()
		var ok bool
		err := b.rpc.Call(ctx, protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id}, &ok)
		cancel()
		if err == nil && ok {
			return b
		}
		b.close()
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v (answer %v)", protocol.MethodConnectToTransactionAsClient, err, ok)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// must calls method and fails unless the answer is true.
func (b *browser) must(t *testing.T, method string, in any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var ok bool
	if err := b.rpc.Call(ctx, method, in, &ok); err != nil || !ok {
		t.Fatalf("%s: %v (answer %v)", method, err, ok)
	}
}

// next returns the next call of method the server made, skipping others.
func (b *browser) next(t *testing.T, method string) call {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case c := <-b.calls:
			if c.method == method {
				return c
			}
		case <-deadline:
			t.Fatalf("no %s received", method)
		}
	}
}

func lineWith(t *testing.T, out, sub string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, sub) {
			return strings.TrimSpace(l)
		}
	}
	t.Fatalf("no line with %q in:\n%s", sub, out)
	return ""
}
