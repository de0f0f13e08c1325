package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/interval-go/sdk/adapters/httphost"
	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/router"
	"github.com/interval-go/sdk/server/store"
)

// answer is one answer a test serverless host gave: the id kind of the
// body ("requestId" or "httpHostId") and the status.
type answer struct {
	kind   string
	id     string
	status int
	body   string
}

// recordingHost serves h on loopback HTTP and records every answer.
type recordingHost struct {
	t       testing.TB
	hs      *httptest.Server
	answers chan answer
}

type statusWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func newRecordingHost(t testing.TB, h http.Handler) *recordingHost {
	rh := &recordingHost{t: t, answers: make(chan answer, 100)}
	rh.hs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		var body httphost.Body
		json.Unmarshal(b, &body)
		kind, id := "httpHostId", body.HTTPHostID
		if body.RequestID != "" {
			kind, id = "requestId", body.RequestID
		}
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		rh.answers <- answer{kind, id, sw.status, sw.body.String()}
	}))
	t.Cleanup(rh.hs.Close)
	return rh
}

// next returns the next answer of kind, skipping others.
func (rh *recordingHost) next(kind string) answer {
	rh.t.Helper()
	tm := time.NewTimer(wait)
	defer tm.Stop()
	for {
		select {
		case a := <-rh.answers:
			if a.kind == kind {
				return a
			}
		case <-tm.C:
			rh.t.Fatalf("no answer to a %s", kind)
		}
	}
}

// goServerless runs routes as a serverless host of e with key.
func goServerless(t *testing.T, e *env, key string, r *router.Mux) (*recordingHost, *interval.Client) {
	t.Helper()
	c, err := interval.New(interval.Options{Endpoint: e.wsURL(), APIKey: key, Routes: r, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	h := httphost.New(c)
	h.Logger = testLogger(t)
	h.Request.CompleteDelay = 100 * time.Millisecond
	rh := newRecordingHost(t, h)
	t.Cleanup(func() { c.Close() }) // before rh.hs.Close: ends requests in flight
	return rh, c
}

// registerHTTPHost registers url through the console API.
func (c *client) registerHTTPHost(url string) httpHostJSON {
	c.t.Helper()
	var out struct {
		HTTPHost httpHostJSON
		Warning  string
	}
	c.do("POST", "/api/console/http-hosts", map[string]string{"url": url}, http.StatusCreated, &out)
	return out.HTTPHost
}

// runText runs slug in production through the browser socket, answers its
// text input with value and returns the result data.
func runText(t *testing.T, admin *client, slug, value string) (txID string, data map[string]any) {
	t.Helper()
	txID = admin.createTx(slug, "production")
	b := admin.browser()
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: txID})
	var rd protocol.RenderInputs
	b.next(protocol.MethodRender).decode(t, &rd)
	render, err := protocol.DecodeIORender(rd.ToRender)
	if err != nil || len(render.ToRender) != 1 || render.ToRender[0].MethodName != "INPUT_TEXT" {
		t.Fatalf("render: %v %+v", err, render.ToRender)
	}
	v, _ := json.Marshal(value)
	resp, _ := json.Marshal(protocol.IOResponse{ID: render.ID, TransactionID: txID, InputGroupKey: render.InputGroupKey,
		Values: []json.RawMessage{v}, Kind: protocol.KindReturn, Choice: "Continue"})
	b.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: txID, IOResponse: string(resp)})
	var done protocol.TransactionCompletedInputs
	b.next(protocol.MethodTransactionCompleted).decode(t, &done)
	var result protocol.ActionResult
	if err := json.Unmarshal([]byte(done.Result), &result); err != nil || done.ResultStatus != "SUCCESS" {
		t.Fatalf("completed: %+v %v", done, err)
	}
	json.Unmarshal(result.Data, &data)
	b.must(protocol.MethodLeaveTransaction, protocol.TransactionRef{TransactionID: txID})
	return txID, data
}

// openPage opens slug in production and returns the first layout.
func openPage(t *testing.T, admin *client, slug, key string) (*peer, string) {
	t.Helper()
	b := admin.browser()
	var page protocol.OpenPageReturns
	if err := b.call(protocol.MethodRequestPage, protocol.RequestPageInputs{PageKey: key, PageSlug: slug,
		ActionMode: "console", OrganizationEnvironmentID: "production"}, &page); err != nil || page.Type != "SUCCESS" {
		t.Fatalf("REQUEST_PAGE: %+v %v", page, err)
	}
	var rp protocol.RenderPageInputs
	b.next(protocol.MethodRenderPage).decode(t, &rp)
	if rp.Page == nil {
		t.Fatal("RENDER_PAGE without a page")
	}
	return b, *rp.Page
}

// TestServerlessGoHost registers this module's Go host, served by
// adapters/httphost over loopback HTTP, as a serverless host: the check
// declares its routes, an action with an input runs to completion on a
// fresh connection, and a page opens and closes on another.
func TestServerlessGoHost(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	r := router.New()
	r.Action("greet", func(ctx context.Context, tx *interval.Tx) (any, error) {
		name, err := tx.IO.Input.Text("Your name").Run(ctx)
		if err != nil {
			return nil, err
		}
		return map[string]any{"name": name, "user": tx.User.Email, "org": tx.Organization.Name, "env": tx.Environment}, nil
	})
	r.Page("dash", func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
		return &interval.Layout{Title: "Serverless dashboard", Children: []interval.Component{p.Display.Markdown("Hello from a **function**")}}, nil
	})
	rh, _ := goServerless(t, e, admin.key("production"), r)

	hh := admin.registerHTTPHost(rh.hs.URL)
	if hh.Status != "ONLINE" || hh.Actions != 1 || hh.Pages != 1 || hh.SDKName != interval.WireSDKName || hh.LastError != "" ||
		hh.Implementation != interval.SDKName+" "+interval.Version {
		t.Fatalf("registered host: %+v", hh)
	}
	if a := rh.next("httpHostId"); a.status != http.StatusOK || a.id != hh.ID {
		t.Fatalf("check answer: %+v", a)
	}
	actions, pages := admin.routesListing("production")
	if !actions["greet"] || !pages["dash"] {
		t.Fatalf("routes: %v %v", actions, pages)
	}
	if dev, _ := admin.routesListing("development"); len(dev) != 0 {
		t.Fatalf("serverless routes in development: %v", dev)
	}

	txID, data := runText(t, admin, "greet", "Ada")
	if data["name"] != "Ada" || data["user"] != admin.email || data["org"] != DefaultOrgName || data["env"] != "production" {
		t.Fatalf("result data %v", data)
	}
	if a := rh.next("requestId"); a.status != http.StatusOK {
		t.Fatalf("run answer: %+v", a)
	}
	if d := admin.tx(txID); d.Status != "COMPLETED" {
		t.Fatalf("history status %q", d.Status)
	}

	key := "6b0e9c8e-4f41-4a8e-9f1e-2c3d4e5f6a7b"
	b, page := openPage(t, admin, "dash", key)
	if !strings.Contains(page, "Serverless dashboard") || !strings.Contains(page, "Hello from a **function**") {
		t.Fatalf("page %s", page)
	}
	b.must(protocol.MethodLeavePage, protocol.PageKeyRef{PageKey: key})
	if a := rh.next("requestId"); a.status != http.StatusOK {
		t.Fatalf("page answer: %+v", a)
	}

	// The request sockets are gone and never listed; the HTTP host is.
	var out struct{ Hosts []hostJSON }
	admin.do("GET", "/api/console/routes?env=production", nil, http.StatusOK, &out)
	if len(out.Hosts) != 1 || out.Hosts[0].Kind != "http" || out.Hosts[0].URL != rh.hs.URL || out.Hosts[0].Status != "ONLINE" {
		t.Fatalf("hosts: %+v", out.Hosts)
	}
}

// TestServerlessPageOutlivesSweeps: a page whose serverless host takes a
// while to connect for it (a cold start of 300 ms here) still opens when
// the hub's sweep runs meanwhile (every 10 ms here). The sweep took a page
// with no host for one whose host had dropped long ago, and closed it:
// with the default sweep every 2.5 s, a cold start of a second failed
// "The page was closed." about every other time.
func TestServerlessPageOutlivesSweeps(t *testing.T) {
	e := newEnv(t, Options{HostReturnWait: 40 * time.Millisecond})
	admin := e.admin()
	r := router.New()
	r.Page("dash", func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
		return &interval.Layout{Title: "Cold dashboard"}, nil
	})
	c, err := interval.New(interval.Options{Endpoint: e.wsURL(), APIKey: admin.key("production"), Routes: r, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	h := httphost.New(c)
	h.Logger = testLogger(t)
	h.Request.CompleteDelay = 100 * time.Millisecond
	rh := newRecordingHost(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select { // a cold start
		case <-time.After(300 * time.Millisecond):
		case <-req.Context().Done():
			return
		}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(func() { c.Close() })
	if hh := admin.registerHTTPHost(rh.hs.URL); hh.Status != "ONLINE" || hh.Pages != 1 {
		t.Fatalf("registered host: %+v", hh)
	}
	for i, key := range []string{"0c8f5a2e-1d3b-4c5a-9e7f-8a9b0c1d2e3f", "1d9a6b3f-2e4c-4d6b-8f80-9b0c1d2e3f40"} {
		b, page := openPage(t, admin, "dash", key)
		if !strings.Contains(page, "Cold dashboard") {
			t.Fatalf("page %d: %s", i, page)
		}
		b.must(protocol.MethodLeavePage, protocol.PageKeyRef{PageKey: key})
	}
}

// rawServerless is a serverless host written on the wire protocol: it
// declares slugs when checked and hands each requestId to the test, which
// answers it with status (0: keep the request open until the test ends).
type rawServerless struct {
	*recordingHost
	mu       sync.Mutex
	declare  func(httpHostID string) int // status of a check
	status   int
	requests chan string
	release  chan struct{}
	once     sync.Once
	final    int // status of the requests held open, once released
}

func newRawServerless(t *testing.T, e *env, key string, slugs ...string) *rawServerless {
	rs := &rawServerless{requests: make(chan string, 10), release: make(chan struct{}), status: http.StatusOK}
	var actions []protocol.ActionDefinition
	for _, s := range slugs {
		actions = append(actions, protocol.ActionDefinition{Slug: s})
	}
	rs.declare = func(id string) int {
		body, _ := json.Marshal(protocol.DeclareHostInputs{HTTPHostID: id, Actions: actions, SDKName: "@interval/sdk", SDKVersion: "2.0.0"})
		req, _ := http.NewRequest("POST", e.hs.URL+"/api/hosts/declare", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return http.StatusInternalServerError
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}
	rs.recordingHost = newRecordingHost(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body httphost.Body
		json.NewDecoder(r.Body).Decode(&body)
		if body.HTTPHostID != "" {
			w.WriteHeader(rs.declare(body.HTTPHostID))
			return
		}
		rs.requests <- body.RequestID
		rs.mu.Lock()
		status := rs.status
		rs.mu.Unlock()
		if status == 0 {
			select {
			case <-rs.release:
			case <-r.Context().Done():
			}
			rs.mu.Lock()
			status = rs.final
			rs.mu.Unlock()
			if status == 0 { // the server gave up on the request
				status = http.StatusOK
			}
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(func() { rs.finish(http.StatusOK) }) // runs before the server closes
	return rs
}

// finish answers the requests held open with status.
func (rs *rawServerless) finish(status int) {
	rs.once.Do(func() {
		rs.mu.Lock()
		rs.final = status
		rs.mu.Unlock()
		close(rs.release)
	})
}

func (rs *rawServerless) answerWith(status int) {
	rs.mu.Lock()
	rs.status = status
	rs.mu.Unlock()
}

func (rs *rawServerless) nextRequest(t *testing.T) string {
	t.Helper()
	select {
	case id := <-rs.requests:
		return id
	case <-time.After(wait):
		t.Fatal("no run request")
	}
	return ""
}

// failure returns the failure message of a completed transaction.
func failure(t *testing.T, done protocol.TransactionCompletedInputs) string {
	t.Helper()
	var result protocol.ActionResult
	var data protocol.ErrorData
	if err := json.Unmarshal([]byte(done.Result), &result); err != nil || json.Unmarshal(result.Data, &data) != nil || done.ResultStatus != "FAILURE" {
		t.Fatalf("not a failure: %+v %v", done, err)
	}
	return data.Message
}

// startServerlessTx creates a production transaction of slug and connects
// a browser, which first sees the loading state of a starting serverless
// host.
func startServerlessTx(t *testing.T, admin *client, slug string) (string, *peer) {
	t.Helper()
	txID := admin.createTx(slug, "production")
	b := admin.browser()
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: txID})
	var ls protocol.LoadingStateInputs
	b.next(protocol.MethodLoadingState).decode(t, &ls)
	if !strings.Contains(ls.Label, "serverless") {
		t.Fatalf("loading state %+v", ls)
	}
	return txID, b
}

// TestServerlessBadHosts: an unreachable URL, a host answering non-2xx, a
// host that answers without declaring, and a host that never dials in
// (short timeout) each get a clear status or failure, and nothing hangs.
func TestServerlessBadHosts(t *testing.T) {
	e := newEnv(t, Options{HTTPHostTimeout: 300 * time.Millisecond})
	admin := e.admin()
	key := admin.key("production")

	// Nothing listens there.
	dead := httptest.NewServer(http.NotFoundHandler())
	// A path of its own: a later test server may get the freed port, and
	// its URL must not collide with this registration.
	deadURL := dead.URL + "/nothing-listens"
	dead.Close()
	hh := admin.registerHTTPHost(deadURL)
	if hh.Status != httpHostUnreachable || !strings.Contains(hh.LastError, "unreachable") {
		t.Fatalf("unreachable host: %+v", hh)
	}
	if code := admin.try("POST", "/api/console/http-hosts", map[string]string{"url": deadURL}, nil); code != http.StatusConflict {
		t.Fatalf("duplicate URL: HTTP %d", code)
	}
	for _, bad := range []string{"", "ftp://x", "/relative", "http://user:pw@x/", strings.Repeat("x", 3000)} {
		if code := admin.try("POST", "/api/console/http-hosts", map[string]string{"url": bad}, nil); code != http.StatusBadRequest {
			t.Fatalf("url %.20q: HTTP %d", bad, code)
		}
	}

	// Non-2xx answer to the check.
	rs := newRawServerless(t, e, key, "flaky")
	rs.declare = func(string) int { return http.StatusServiceUnavailable }
	hh = admin.registerHTTPHost(rs.hs.URL)
	if hh.Status != httpHostUnreachable || !strings.Contains(hh.LastError, "503") {
		t.Fatalf("503 host: %+v", hh)
	}
	// 2xx without declaring anything.
	silent := newRecordingHost(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	hh = admin.registerHTTPHost(silent.hs.URL)
	if hh.Status != httpHostUnreachable || !strings.Contains(hh.LastError, "without declaring") {
		t.Fatalf("silent host: %+v", hh)
	}

	// A host that declares, then never dials in for a run.
	lazy := newRawServerless(t, e, key, "lazy")
	hh = admin.registerHTTPHost(lazy.hs.URL)
	if hh.Status != "ONLINE" || hh.Actions != 1 {
		t.Fatalf("lazy host: %+v", hh)
	}
	lazy.answerWith(0) // keeps the request open
	txID, b := startServerlessTx(t, admin, "lazy")
	lazy.nextRequest(t)
	var done protocol.TransactionCompletedInputs
	b.next(protocol.MethodTransactionCompleted).decode(t, &done)
	if msg := failure(t, done); !strings.Contains(msg, "did not connect within 300ms") {
		t.Fatalf("failure %q", msg)
	}
	if d := admin.tx(txID); d.Status != "COMPLETED" || d.ResultStatus != "FAILURE" {
		t.Fatalf("history %+v", d.txSummary)
	}

	// Same host answering 2xx at once without dialing in: still bounded.
	lazy.answerWith(http.StatusOK)
	_, b = startServerlessTx(t, admin, "lazy")
	lazy.nextRequest(t)
	b.next(protocol.MethodTransactionCompleted).decode(t, &done)
	if msg := failure(t, done); !strings.Contains(msg, "answered but did not connect") {
		t.Fatalf("failure %q", msg)
	}

	// A run request answered 500: the run fails at once with the answer,
	// and the host is UNREACHABLE until its next check.
	lazy.answerWith(http.StatusInternalServerError)
	_, b = startServerlessTx(t, admin, "lazy")
	lazy.nextRequest(t)
	b.next(protocol.MethodTransactionCompleted).decode(t, &done)
	if msg := failure(t, done); !strings.Contains(msg, "HTTP 500") {
		t.Fatalf("failure %q", msg)
	}
	var list struct{ HTTPHosts []httpHostJSON }
	admin.do("GET", "/api/console/http-hosts", nil, http.StatusOK, &list)
	for _, h := range list.HTTPHosts {
		if h.URL == lazy.hs.URL && h.Status != httpHostUnreachable {
			t.Fatalf("host after a failed run: %+v", h)
		}
	}
	if code := admin.try("POST", "/api/console/transactions", map[string]any{"slug": "lazy", "env": "production"}, nil); code != http.StatusConflict {
		t.Fatalf("run on an unreachable host: HTTP %d", code)
	}
	// Check now: ONLINE again.
	var checked struct{ HTTPHost httpHostJSON }
	for _, h := range list.HTTPHosts {
		if h.URL == lazy.hs.URL {
			admin.do("POST", "/api/console/http-hosts/"+h.ID+"/check", nil, http.StatusOK, &checked)
		}
	}
	if checked.HTTPHost.Status != "ONLINE" {
		t.Fatalf("after check: %+v", checked.HTTPHost)
	}
	// Removed: its action is gone.
	admin.do("DELETE", "/api/console/http-hosts/"+checked.HTTPHost.ID, nil, http.StatusNoContent, nil)
	if a, _ := admin.routesListing("production"); a["lazy"] {
		t.Fatalf("removed host's action still listed: %v", a)
	}
	if code := admin.try("DELETE", "/api/console/http-hosts/"+checked.HTTPHost.ID, nil, nil); code != http.StatusNotFound {
		t.Fatalf("second delete: HTTP %d", code)
	}
}

// TestServerlessRequestIDs: INITIALIZE_HOST with a wrong, reused, expired
// or other-environment requestId is refused with "Invalid action request";
// the declare API refuses development keys, unknown hosts and bad bodies.
func TestServerlessRequestIDs(t *testing.T) {
	e := newEnv(t, Options{HTTPHostTimeout: 5 * time.Second})
	admin := e.admin()
	live, dev := admin.key("production"), admin.key("development")
	rs := newRawServerless(t, e, live, "work")
	hh := admin.registerHTTPHost(rs.hs.URL)
	if hh.Status != "ONLINE" {
		t.Fatalf("host: %+v", hh)
	}
	initWith := func(key, requestID string) protocol.InitializeHostReturns {
		t.Helper()
		p, err := dialHost(t, e, key, "")
		if err != nil {
			t.Fatal(err)
		}
		var ret protocol.InitializeHostReturns
		if err := p.call(protocol.MethodInitializeHost, protocol.InitializeHostInputs{Actions: []protocol.ActionDefinition{action("work")},
			SDKName: "@interval/sdk", SDKVersion: "2.0.0", RequestID: requestID}, &ret); err != nil {
			t.Fatal(err)
		}
		return ret
	}
	if ret := initWith(live, "no-such-request"); ret.Type != "error" || ret.Message != "Invalid action request" {
		t.Fatalf("unknown request id: %+v", ret)
	}

	rs.answerWith(0)
	txID, b := startServerlessTx(t, admin, "work")
	reqID := rs.nextRequest(t)
	if ret := initWith(dev, reqID); ret.Type != "error" || ret.Message != "Invalid action request" {
		t.Fatalf("development key: %+v", ret)
	}
	// The right key: the transaction starts on that socket.
	p, err := dialHost(t, e, live, "")
	if err != nil {
		t.Fatal(err)
	}
	var ret protocol.InitializeHostReturns
	if err := p.call(protocol.MethodInitializeHost, protocol.InitializeHostInputs{Actions: []protocol.ActionDefinition{action("work")},
		SDKName: "@interval/sdk", SDKVersion: "2.0.0", RequestID: reqID}, &ret); err != nil || ret.Type != "success" {
		t.Fatalf("INITIALIZE_HOST: %+v %v", ret, err)
	}
	start := p.next(protocol.MethodStartTransaction).start(t)
	if start.TransactionID != txID || start.Action.Slug != "work" {
		t.Fatalf("START_TRANSACTION %+v", start)
	}
	if ret := initWith(live, reqID); ret.Type != "error" || ret.Message != "Invalid action request" {
		t.Fatalf("reused request id: %+v", ret)
	}
	complete(t, p, txID, "done")
	var done protocol.TransactionCompletedInputs
	b.next(protocol.MethodTransactionCompleted).decode(t, &done)
	if done.ResultStatus != "SUCCESS" {
		t.Fatalf("completed %+v", done)
	}

	// Expired: a request created more than a minute ago.
	hb := e.s.hub
	hb.mu.Lock()
	old := &httpRequest{id: "old-request", hh: hb.httpHosts[hh.ID], env: "production", createdAt: time.Now().Add(-2 * time.Minute),
		ready: make(chan struct{}), sockEnded: make(chan struct{})}
	hb.requests[old.id] = old
	hb.mu.Unlock()
	if ret := initWith(live, old.id); ret.Type != "error" || ret.Message != "Invalid action request" {
		t.Fatalf("expired request id: %+v", ret)
	}
	hb.mu.Lock()
	delete(hb.requests, old.id)
	hb.mu.Unlock()

	// The declare API.
	declare := func(key string, body any) (int, protocol.TypedResult) {
		var rd io.Reader
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			j, _ := json.Marshal(b)
			rd = bytes.NewReader(j)
		}
		req, _ := http.NewRequest("POST", e.hs.URL+"/api/hosts/declare", rd)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out protocol.TypedResult
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	valid := protocol.DeclareHostInputs{HTTPHostID: hh.ID, Actions: []protocol.ActionDefinition{action("work")}, SDKName: "x", SDKVersion: "1"}
	if code, out := declare(dev, valid); code != http.StatusForbidden || !strings.Contains(out.Message, "live") {
		t.Fatalf("development key: %d %+v", code, out)
	}
	unknown := valid
	unknown.HTTPHostID = "nope"
	if code, _ := declare(live, unknown); code != http.StatusNotFound {
		t.Fatalf("unknown host: %d", code)
	}
	if code, _ := declare(live, `{"httpHostId":`); code != http.StatusBadRequest {
		t.Fatalf("bad body: %d", code)
	}
	if code, _ := declare("live_nope", valid); code != http.StatusForbidden {
		t.Fatalf("bad key: %d", code)
	}
	if code, out := declare(live, valid); code != http.StatusOK || out.Type != "success" {
		t.Fatalf("valid: %d %+v", code, out)
	}
}

// TestServerlessHostClosesEarly: a serverless host whose connection drops
// mid-action fails the transaction at once (it is not resumed), and the
// server's request ends.
func TestServerlessHostClosesEarly(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	live := admin.key("production")
	rs := newRawServerless(t, e, live, "work")
	admin.registerHTTPHost(rs.hs.URL)
	rs.answerWith(0)
	txID, b := startServerlessTx(t, admin, "work")
	reqID := rs.nextRequest(t)
	p, err := dialHost(t, e, live, "")
	if err != nil {
		t.Fatal(err)
	}
	var ret protocol.InitializeHostReturns
	if err := p.call(protocol.MethodInitializeHost, protocol.InitializeHostInputs{Actions: []protocol.ActionDefinition{action("work")},
		SDKName: "@interval/sdk", SDKVersion: "2.0.0", RequestID: reqID}, &ret); err != nil || ret.Type != "success" {
		t.Fatalf("INITIALIZE_HOST: %+v %v", ret, err)
	}
	p.next(protocol.MethodStartTransaction)
	p.close()
	rs.finish(http.StatusBadGateway)
	var done protocol.TransactionCompletedInputs
	b.next(protocol.MethodTransactionCompleted).decode(t, &done)
	if msg := failure(t, done); !strings.Contains(msg, "closed its connection") || !strings.Contains(msg, "HTTP 502") {
		t.Fatalf("failure %q", msg)
	}
	if d := admin.tx(txID); d.Status != "COMPLETED" {
		t.Fatalf("history %+v", d.txSummary)
	}
}

// TestServerlessGoHostErrors: the Go serverless host answers 500 for an
// action it does not serve and for a request id the server refuses.
func TestServerlessGoHostErrors(t *testing.T) {
	e := newEnv(t, Options{HTTPHostTimeout: 5 * time.Second})
	admin := e.admin()
	live := admin.key("production")
	r := router.New()
	r.Action("gone_soon", func(ctx context.Context, tx *interval.Tx) (any, error) { return "ok", nil })
	rh, c := goServerless(t, e, live, r)
	admin.registerHTTPHost(rh.hs.URL)
	rh.next("httpHostId")

	// A request id the server does not know: 500 with the reason.
	post := func(body string) answer {
		t.Helper()
		resp, err := http.Post(rh.hs.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return rh.next(map[bool]string{true: "requestId", false: "httpHostId"}[strings.Contains(body, "requestId")])
	}
	if a := post(`{"requestId":"nope"}`); a.status != http.StatusInternalServerError || !strings.Contains(a.body, "Invalid action request") {
		t.Fatalf("unknown request id: %+v", a)
	}
	if a := post(`{"httpHostId":"nope"}`); a.status != http.StatusInternalServerError || !strings.Contains(a.body, "Host not found") {
		t.Fatalf("unknown host id: %+v", a)
	}

	// The host drops the action after declaring it: the server starts it,
	// the host refuses, and the transaction fails instead of hanging.
	r.Remove("gone_soon")
	txID, b := startServerlessTx(t, admin, "gone_soon")
	if a := rh.next("requestId"); a.status != http.StatusInternalServerError || !strings.Contains(a.body, "gone_soon") {
		t.Fatalf("refused run: %+v", a)
	}
	var done protocol.TransactionCompletedInputs
	b.next(protocol.MethodTransactionCompleted).decode(t, &done)
	if msg := failure(t, done); !strings.Contains(msg, "closed its connection") || !strings.Contains(msg, `action "gone_soon" not started`) {
		t.Fatalf("failure %q", msg)
	}
	if d := admin.tx(txID); d.ResultStatus != "FAILURE" {
		t.Fatalf("history %+v", d.txSummary)
	}
	if err := c.ServeRequest(context.Background(), "", nil); !errors.Is(err, interval.ErrMissingID) {
		t.Fatalf("empty id: %v", err)
	}
}

// TestServerlessRunFailsOnRestart: a serverless host's request connection
// never comes back, so a run it was serving when the server crashed fails
// at once on the next start (not after HostDropGrace) with a clear message,
// and history keeps it. (A graceful Close already fails it when the
// request's socket closes; the crash is simulated by starting a second
// server on a copy of the data dir taken while the first one runs, which is
// what a kill -9 leaves: every write is committed before it is
// acknowledged.)
func TestServerlessRunFailsOnRestart(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	r := router.New()
	r.Action("greet", func(ctx context.Context, tx *interval.Tx) (any, error) {
		return tx.IO.Input.Text("Your name").Run(ctx)
	})
	rh, _ := goServerless(t, e, admin.key("production"), r)
	admin.registerHTTPHost(rh.hs.URL)
	rh.next("httpHostId")

	txID := admin.createTx("greet", "production")
	b := admin.browser()
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: txID})
	b.next(protocol.MethodRender) // the serverless host waits on the operator

	crashed := t.TempDir()
	for _, name := range []string{store.FileName, store.FileName + "-wal", store.FileName + "-shm"} {
		data, err := os.ReadFile(filepath.Join(e.dir, name))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if err == nil {
			if err := os.WriteFile(filepath.Join(crashed, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	s2, err := New(context.Background(), Options{DataDir: crashed, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	rec, err := s2.store.Transaction(context.Background(), txID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != store.StatusCompleted || rec.ResultStatus != protocol.StatusFailure || !strings.Contains(rec.Result, "ServerRestarted") {
		t.Fatalf("after the crash: status %q, result %q %q", rec.Status, rec.ResultStatus, rec.Result)
	}
}
