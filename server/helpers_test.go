package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"

	"github.com/interval-go/sdk/internal/faultproxy"
	wsa "github.com/interval-go/sdk/internal/isocket"
	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/internal/rpc"
	"github.com/interval-go/sdk/server/store/pgtest"
)

func TestMain(m *testing.M) {
	bcryptCost = bcrypt.MinCost
	code := m.Run()
	pgtest.StopShared() // before looking for leaks: it owns a process waiter
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// wait bounds every wait of a test; reaching it is a failure, not a
// timing assertion.
const wait = 20 * time.Second

type env struct {
	t    testing.TB
	dir  string
	opts Options
	s    *Server
	hs   *httptest.Server
}

func newEnv(t testing.TB, opts Options) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), opts: opts}
	e.start()
	t.Cleanup(e.stop)
	return e
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func (e *env) start() {
	e.t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	opts := e.opts
	opts.DataDir = e.dir
	opts.PublicURL = "http://" + l.Addr().String()
	if opts.Logger == nil {
		opts.Logger = testLogger(e.t)
	}
	s, err := New(context.Background(), opts)
	if err != nil {
		l.Close()
		e.t.Fatal(err)
	}
	e.s = s
	e.hs = &httptest.Server{Listener: l, Config: &http.Server{Handler: s}}
	e.hs.Start()
}

func (e *env) stop() {
	if e.s == nil {
		return
	}
	e.hs.Close()
	if err := e.s.Close(); err != nil {
		e.t.Errorf("Close: %v", err)
	}
	e.s = nil
}

// faultProxy puts a fault proxy in front of e's server (its address as
// it listens now), closed at the test's end.
func (e *env) faultProxy() *faultproxy.Proxy {
	e.t.Helper()
	p, err := faultproxy.New(e.hs.Listener.Addr().String())
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { p.Close() })
	return p
}

func (e *env) wsURL() string { return "ws" + strings.TrimPrefix(e.hs.URL, "http") + "/websocket" }

// --- console client ---

type client struct {
	t     testing.TB
	e     *env
	http  *http.Client
	email string
}

// login returns a console client logged in through a one-time link.
func (e *env) login(link string) *client {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{t: e.t, e: e, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	resp, err := c.http.Get(link)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("login link: HTTP %d", resp.StatusCode)
	}
	var me struct{ User userJSON }
	c.do("GET", "/api/auth/me", nil, http.StatusOK, &me)
	c.email = me.User.Email
	return c
}

func (e *env) admin() *client {
	_, link, err := e.s.EnsureAdmin(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return e.login(link)
}

// newUser creates a user through the admin API and logs it in.
func (e *env) newUser(admin *client, email, role string, teams ...string) *client {
	var out struct {
		User      userJSON
		LoginLink string
	}
	if teams == nil {
		teams = []string{}
	}
	admin.do("POST", "/api/console/users", map[string]any{"email": email, "role": role, "teams": teams}, http.StatusCreated, &out)
	return e.login(out.LoginLink)
}

func (c *client) do(method, path string, body any, want int, out any) {
	c.t.Helper()
	if code := c.try(method, path, body, out); code != want {
		c.t.Fatalf("%s %s: HTTP %d, want %d", method, path, code, want)
	}
}

func (c *client) try(method, path string, body any, out any) int {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.e.hs.URL+path, rd)
	req.Header.Set(ConsoleHeader, "1")
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
	if resp.StatusCode >= 300 {
		c.t.Logf("%s %s: HTTP %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	return resp.StatusCode
}

func (c *client) key(env string) string {
	var out struct{ ID, Key string }
	c.do("POST", "/api/console/keys", map[string]string{"env": env, "label": "test"}, http.StatusCreated, &out)
	return out.Key
}

// startRun creates a transaction of slug as c, opens it in browser b and
// checks that host h is asked to start it next; it returns the id.
func (c *client) startRun(b, h *peer, slug, env string) string {
	c.t.Helper()
	id := c.createTx(slug, env)
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	h.expect(protocol.MethodStartTransaction)
	return id
}

func (c *client) createTx(slug, env string) string {
	c.t.Helper()
	var out struct{ ID, Slug string }
	c.do("POST", "/api/console/transactions", map[string]any{"slug": slug, "env": env, "params": map[string]any{"n": 1}}, http.StatusCreated, &out)
	return out.ID
}

type txDetail struct {
	txSummary
	Params json.RawMessage
	Result *string
	Logs   []struct {
		Index     int
		Timestamp int64
		Data      string
	}
}

func (c *client) tx(id string) txDetail {
	c.t.Helper()
	var d txDetail
	c.do("GET", "/api/console/transactions/"+id, nil, http.StatusOK, &d)
	return d
}

// --- peers (test hosts and browsers) ---

type call struct {
	method string
	data   json.RawMessage
}

// peer is a test host or browser: an ISocket connection with a DuplexRPC
// peer that records every call it receives.
type peer struct {
	t     testing.TB
	conn  *wsa.Conn
	rpc   *rpc.Peer
	calls chan call
	// answer computes the answer to a call (nil for void).
	answer func(c call) any
}

func newPeer(t testing.TB, ws *websocket.Conn, dial func(cfg wsa.Config) (*wsa.Conn, error)) (*peer, error) {
	p := &peer{t: t, calls: make(chan call, 1000)}
	cfg := wsa.Config{DisablePing: true}
	p.rpc = rpc.NewPeer(func(ctx context.Context, data string) error { return p.conn.Send(ctx, data) },
		func(method string, data json.RawMessage) (any, error) {
			c := call{method, append(json.RawMessage(nil), data...)}
			p.calls <- c
			if p.answer != nil {
				return p.answer(c), nil
			}
			return nil, nil
		}, nil, nil)
	msgs := make(chan string, 1000)
	cfg.OnMessage = func(d string) { msgs <- d }
	var err error
	if dial != nil {
		p.conn, err = dial(cfg)
	} else {
		p.conn = wsa.NewConn(ws, cfg)
	}
	if err != nil {
		p.rpc.Close()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case d := <-msgs:
				p.rpc.Receive(d)
			case <-p.conn.Done():
				return
			}
		}
	}()
	t.Cleanup(func() {
		p.close()
		// A test that stopped reading calls may have left the reader
		// blocked on a full p.calls: drain it so the reader can end.
		for {
			select {
			case <-done:
				return
			case <-p.calls:
			}
		}
	})
	return p, nil
}

func (p *peer) close() {
	p.conn.Close()
	p.rpc.Close()
}

// callUntilClosed calls method on p where the server is to close the socket
// instead of answering true (the answer may never come: the call runs
// aside). It returns whether the call was answered true, and the socket's
// close status; a socket still open after wait fails the test.
func (p *peer) callUntilClosed(method string, in any) (answered bool, code websocket.StatusCode) {
	p.t.Helper()
	done := make(chan bool, 1)
	go func() {
		var ok bool
		err := p.call(method, in, &ok)
		done <- err == nil && ok
	}()
	select {
	case <-p.conn.Done():
	case <-time.After(wait):
		p.close()
		p.t.Fatalf("%s: the socket was not closed (answered true: %v)", method, <-done)
	}
	code, _ = closeStatus(p.conn.Err())
	p.close() // ends the call aside, if it still waits
	return <-done, code
}

func dialHost(t testing.TB, e *env, key, instanceID string) (*peer, error) {
	if instanceID == "" {
		instanceID = uuid.NewString()
	}
	p, err := newPeer(t, nil, func(cfg wsa.Config) (*wsa.Conn, error) {
		return wsa.Dial(context.Background(), wsa.DialOptions{Endpoint: e.wsURL(), APIKey: key, InstanceID: instanceID}, cfg)
	})
	if err != nil {
		return nil, err
	}
	p.answer = func(c call) any {
		if c.method == protocol.MethodOpenPage {
			var in protocol.OpenPageInputs
			json.Unmarshal(c.data, &in)
			return protocol.OpenPageReturns{Type: "SUCCESS", PageKey: in.PageKey}
		}
		return nil
	}
	return p, nil
}

func action(slug string) protocol.ActionDefinition { return protocol.ActionDefinition{Slug: slug} }

// host dials and initializes a host serving actions.
func (e *env) host(key, instanceID string, actions ...protocol.ActionDefinition) *peer {
	e.t.Helper()
	p, err := dialHost(e.t, e, key, instanceID)
	if err != nil {
		e.t.Fatalf("dial host: %v", err)
	}
	ret := p.init(actions...)
	if ret.Type != "success" {
		e.t.Fatalf("INITIALIZE_HOST: %+v", ret)
	}
	return p
}

func (p *peer) init(actions ...protocol.ActionDefinition) protocol.InitializeHostReturns {
	p.t.Helper()
	return p.initAs(nil, actions...)
}

// goSDK is the implementation a Go SDK host names in INITIALIZE_HOST.
var goSDK = &protocol.Implementation{Name: protocol.GoSDKName, Version: "test"}

// initAs initializes the host naming impl as its implementation (nil: none,
// as the official Node SDK sends).
func (p *peer) initAs(impl *protocol.Implementation, actions ...protocol.ActionDefinition) protocol.InitializeHostReturns {
	p.t.Helper()
	var ret protocol.InitializeHostReturns
	if err := p.call(protocol.MethodInitializeHost, protocol.InitializeHostInputs{Actions: actions, Groups: []protocol.PageDefinition{},
		SDKName: "@interval/sdk", SDKVersion: "2.0.0", Implementation: impl, Timestamp: time.Now().UnixMilli()}, &ret); err != nil {
		p.t.Fatalf("INITIALIZE_HOST: %v", err)
	}
	return ret
}

func (p *peer) call(method string, in, out any) error {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return p.rpc.Call(ctx, method, in, out)
}

// must calls method and fails the test unless the answer is true.
func (p *peer) must(method string, in any) {
	p.t.Helper()
	var ok bool
	if err := p.call(method, in, &ok); err != nil || !ok {
		p.t.Fatalf("%s: %v (answer %v)", method, err, ok)
	}
}

// next returns the next call of method received, skipping others.
func (p *peer) next(method string) call {
	p.t.Helper()
	tm := time.NewTimer(wait)
	defer tm.Stop()
	for {
		select {
		case c := <-p.calls:
			if c.method == method {
				return c
			}
		case <-tm.C:
			p.t.Fatalf("no %s received", method)
		}
	}
}

// expect returns the next call, which must be of method.
func (p *peer) expect(method string) call {
	p.t.Helper()
	select {
	case c := <-p.calls:
		if c.method != method {
			p.t.Fatalf("got %s %s, want %s", c.method, c.data, method)
		}
		return c
	case <-time.After(wait):
		p.t.Fatalf("no %s received", method)
	}
	return call{}
}

func (c call) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(c.data, v); err != nil {
		t.Fatalf("%s: %v", c.method, err)
	}
}

func (c call) start(t testing.TB) protocol.StartTransactionInputs {
	var in protocol.StartTransactionInputs
	c.decode(t, &in)
	return in
}

// notifyWithKey calls the host API's /api/notify with key and returns the
// HTTP status.
func notifyWithKey(t testing.TB, e *env, key string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", e.hs.URL+"/api/notify", strings.NewReader(`{"message":"hi"}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// browser opens the console socket of a logged-in client.
func (c *client) browser() *peer {
	c.t.Helper()
	p, err := c.dialBrowser(c.e.hs.URL)
	if err != nil {
		c.t.Fatalf("browser socket: %v", err)
	}
	p.answer = func(call) any { return true }
	var ok bool
	if err := p.call(protocol.MethodInitializeClient, nil, &ok); err != nil || !ok {
		c.t.Fatalf("INITIALIZE_CLIENT: %v %v", err, ok)
	}
	return p
}

func (c *client) dialBrowser(origin string) (*peer, error) {
	u, _ := url.Parse(c.e.hs.URL)
	h := http.Header{}
	for _, ck := range c.http.Jar.Cookies(u) {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	h.Set("Origin", origin)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, c.e.wsURL(), &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		return nil, err
	}
	return newPeer(c.t, ws, nil)
}

func ioCall(id, group string, methods ...string) string {
	r := protocol.IORender{ID: id, InputGroupKey: group, Kind: protocol.KindRender}
	for _, m := range methods {
		r.ToRender = append(r.ToRender, protocol.ComponentRender{MethodName: m, Label: m, Props: json.RawMessage(`{}`)})
	}
	b, _ := json.Marshal(r)
	return string(b)
}

func ioResponse(txID, id, group, kind string, values ...any) string {
	if values == nil {
		values = []any{}
	}
	b, _ := json.Marshal(map[string]any{"id": id, "transactionId": txID, "inputGroupKey": group, "kind": kind, "values": values})
	return string(b)
}

func successResult(data any) string {
	d, _ := json.Marshal(data)
	b, _ := json.Marshal(protocol.ActionResult{SchemaVersion: 1, Status: "SUCCESS", Data: d})
	return string(b)
}

func complete(t testing.TB, h *peer, txID string, data any) {
	t.Helper()
	h.must(protocol.MethodMarkTransactionComplete, protocol.MarkTransactionCompleteInputs{
		TransactionID: txID, ResultStatus: "SUCCESS", Result: successResult(data)})
}

// answerAndComplete has the operator on br answer the text input (c1, g1)
// that h rendered for run id with "Ada", h take the answer and complete
// the run, and br see it completed.
func answerAndComplete(t testing.TB, br, h *peer, id string) {
	t.Helper()
	br.next(protocol.MethodRender)
	br.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id,
		IOResponse: ioResponse(id, "c1", "g1", protocol.KindReturn, "Ada")})
	h.next(protocol.MethodIOResponse)
	complete(t, h, id, "done")
	br.next(protocol.MethodTransactionCompleted)
}

func closeStatus(err error) (websocket.StatusCode, string) {
	var ce websocket.CloseError
	for e := err; e != nil; {
		if ok := asClose(e, &ce); ok {
			return ce.Code, ce.Reason
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			break
		}
		e = u.Unwrap()
	}
	return -1, fmt.Sprint(err)
}

func asClose(err error, ce *websocket.CloseError) bool {
	c, ok := err.(websocket.CloseError)
	if ok {
		*ce = c
	}
	return ok
}
