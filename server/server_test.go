package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	wsa "github.com/interval-go/sdk/internal/isocket"
	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

func TestHostAuth(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()

	// No key: the socket is closed with 1008 and a reason.
	ctx := context.Background()
	ws, _, err := websocket.Dial(ctx, e.wsURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = ws.Read(ctx)
	if code, reason := closeStatus(err); code != websocket.StatusPolicyViolation || !strings.Contains(reason, "Missing API key") {
		t.Fatalf("no key: close %d %q", code, reason)
	}
	ws.CloseNow()

	// Wrong key.
	_, err = dialHost(t, e, "dev_"+strings.Repeat("x", 48), "")
	if !errors.Is(err, wsa.ErrUnauthorized) || !strings.Contains(err.Error(), "Invalid API key") {
		t.Fatalf("wrong key: %v", err)
	}

	// Development and live keys.
	dev := e.host(admin.key("development"), "", action("dev_only"))
	var ret protocol.InitializeHostReturns
	if err := dev.call(protocol.MethodInitializeHost, protocol.InitializeHostInputs{Actions: []protocol.ActionDefinition{action("dev_only"), action("bad slug")},
		SDKName: "@interval/sdk", SDKVersion: "2.0.0"}, &ret); err != nil {
		t.Fatal(err)
	}
	if ret.Type != "success" || ret.Environment != "development" || len(ret.InvalidSlugs) != 1 || ret.InvalidSlugs[0] != "bad slug" ||
		ret.Organization == nil || ret.Organization.Slug == "" || ret.DashboardURL != e.s.URL()+"/" {
		t.Fatalf("development INITIALIZE_HOST: %+v", ret)
	}
	live := e.host(admin.key("production"), "", action("live_one"))
	_ = live
	var lret protocol.InitializeHostReturns
	live.call(protocol.MethodInitializeHost, protocol.InitializeHostInputs{Actions: []protocol.ActionDefinition{action("live_one")},
		SDKName: "@interval/sdk", SDKVersion: "2.0.0"}, &lret)
	if lret.Environment != "production" {
		t.Fatalf("live environment %q", lret.Environment)
	}

	// Missing SDK name: the typed error.
	var bad protocol.InitializeHostReturns
	dev.call(protocol.MethodInitializeHost, protocol.InitializeHostInputs{}, &bad)
	if bad.Type != "error" {
		t.Fatalf("init without sdkName: %+v", bad)
	}
	dev.init(action("dev_only"))

	// Development actions are private to their developer.
	other := e.newUser(admin, "dev2@example.com", store.RoleDeveloper)
	routes := func(c *client, env string) map[string]bool {
		var out struct{ Actions []actionJSON }
		c.do("GET", "/api/console/routes?env="+env, nil, http.StatusOK, &out)
		m := map[string]bool{}
		for _, a := range out.Actions {
			m[a.Slug] = a.Online
		}
		return m
	}
	if r := routes(admin, "development"); !r["dev_only"] || r["live_one"] {
		t.Fatalf("admin development routes: %v", r)
	}
	if r := routes(other, "development"); len(r) != 0 {
		t.Fatalf("other developer sees %v", r)
	}
	if r := routes(other, "production"); !r["live_one"] || len(r) != 1 {
		t.Fatalf("production routes: %v", r)
	}
	if code := other.try("POST", "/api/console/transactions", map[string]any{"slug": "dev_only", "env": "development"}, nil); code != http.StatusNotFound {
		t.Fatalf("running another developer's action: HTTP %d", code)
	}

	// A revoked key disconnects its hosts and is refused afterwards.
	var keys struct{ Keys []map[string]any }
	admin.do("GET", "/api/console/keys", nil, http.StatusOK, &keys)
	k2 := admin.key("development")
	h2 := e.host(k2, "", action("x"))
	admin.do("GET", "/api/console/keys", nil, http.StatusOK, &keys)
	id := keys.Keys[0]["id"].(string) // newest first
	admin.do("DELETE", "/api/console/keys/"+id, nil, http.StatusNoContent, nil)
	<-h2.conn.Done()
	if _, err := dialHost(t, e, k2, ""); !errors.Is(err, wsa.ErrUnauthorized) {
		t.Fatalf("revoked key: %v", err)
	}
}

// The console socket accepts the console's own origin only: the public
// URL's scheme, host and port (a page at https://HOST:PORT is another
// origin than the console at http://HOST:PORT), or the origin the request
// was made to, with the scheme a trusted proxy reports.
func TestBrowserOriginChecked(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	// A foreign page, and a client sending no Origin at all, are refused
	// even with a valid session cookie.
	hostPort := strings.TrimPrefix(e.hs.URL, "http://")
	_, port, _ := net.SplitHostPort(hostPort)
	for _, origin := range []string{"http://evil.example.com", "", "null", "http://" + hostPort + ".evil.example.com",
		// The console's host and port over another scheme, or the same
		// host on another port, is another origin.
		"https://" + hostPort, "ws://" + hostPort, "http://127.0.0.1", "http://127.0.0.1:1" + port, "http://user@" + hostPort} {
		p, err := admin.dialBrowser(origin)
		if err != nil {
			t.Fatal(err)
		}
		refused(t, p, origin)
		if code, reason := closeStatus(p.conn.Err()); code != websocket.StatusPolicyViolation || reason != "Invalid origin" {
			t.Fatalf("Origin %q: close %d %q", origin, code, reason)
		}
	}
	// The console's own origin is accepted, with the default port spelt
	// out or not.
	var ok bool
	if err := admin.browser().call(protocol.MethodInitializeClient, nil, &ok); err != nil || !ok {
		t.Fatalf("own origin: %v %v", err, ok)
	}
	u, _ := url.Parse(e.hs.URL)
	if !sameOrigin(&url.URL{Scheme: "https", Host: "example.com"}, &url.URL{Scheme: "HTTPS", Host: "EXAMPLE.com:443"}) ||
		sameOrigin(&url.URL{Scheme: "https", Host: "example.com"}, &url.URL{Scheme: "http", Host: "example.com:443"}) || !sameOrigin(u, u) {
		t.Fatal("sameOrigin")
	}
}

// refused waits for the server to close p, and fails the test when it
// keeps p open.
func refused(t *testing.T, p *peer, what string) {
	t.Helper()
	select {
	case <-p.conn.Done():
	case <-time.After(wait):
		p.close()
		t.Fatalf("%s: socket accepted", what)
	}
}

// Behind a TLS-terminating proxy the server trusts (Options.TrustedProxies),
// the console's origin is https (X-Forwarded-Proto); the same header from a
// client that is not a trusted proxy changes nothing.
func TestBrowserOriginBehindProxy(t *testing.T) {
	for _, c := range []struct {
		proxies []string
		ok      bool
	}{{[]string{"127.0.0.0/8"}, true}, {[]string{"10.0.0.1"}, false}, {nil, false}} {
		e := newEnv(t, Options{TrustedProxies: c.proxies})
		admin := e.admin()
		u, _ := url.Parse(e.hs.URL)
		h := http.Header{}
		for _, ck := range admin.http.Jar.Cookies(u) {
			h.Add("Cookie", ck.Name+"="+ck.Value)
		}
		h.Set("Origin", "https://"+u.Host)
		h.Set("X-Forwarded-Proto", "https")
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		ws, _, err := websocket.Dial(ctx, e.wsURL(), &websocket.DialOptions{HTTPHeader: h})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		p, err := newPeer(t, ws, nil)
		if err != nil {
			t.Fatal(err)
		}
		p.answer = func(call) any { return true }
		var ok bool
		err = p.call(protocol.MethodInitializeClient, nil, &ok)
		if c.ok && (err != nil || !ok) {
			t.Fatalf("proxies %v: https origin with X-Forwarded-Proto https: %v %v", c.proxies, err, ok)
		}
		if !c.ok {
			refused(t, p, "https with X-Forwarded-Proto")
			if code, reason := closeStatus(p.conn.Err()); code != websocket.StatusPolicyViolation || reason != "Invalid origin" {
				t.Fatalf("proxies %v: close %d %q", c.proxies, code, reason)
			}
		}
		p.close()
	}
}

func TestTransactionEndToEnd(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	h := e.host(admin.key("development"), "", action("hello"))
	b := admin.browser()

	if code := admin.try("POST", "/api/console/transactions", map[string]any{"slug": "nope", "env": "development"}, nil); code != http.StatusNotFound {
		t.Fatalf("unknown slug: HTTP %d", code)
	}
	id := admin.createTx("hello", "development")
	if d := admin.tx(id); d.Status != store.StatusPending {
		t.Fatalf("status %s", d.Status)
	}
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	st := h.expect(protocol.MethodStartTransaction).start(t)
	if st.TransactionID != id || st.Action.Slug != "hello" || st.ActionName != "hello" || st.Environment != "development" ||
		st.User.Email != admin.email || st.User.Role != "admin" || st.User.Teams == nil ||
		st.DisplayResolvesImmediately == nil || !*st.DisplayResolvesImmediately ||
		st.Action.URL != e.s.URL()+"/actions/hello" || string(st.Params) != `{"n":1}` {
		t.Fatalf("START_TRANSACTION: %+v", st)
	}

	idx := 0
	h.must(protocol.MethodSendLog, protocol.SendLogInputs{TransactionID: id, Data: "starting", Index: &idx, Timestamp: 1700000000000})
	var lg protocol.LogInputs
	b.next(protocol.MethodLog).decode(t, &lg)
	if lg.Data == nil || *lg.Data != "starting" || lg.Index != 0 {
		t.Fatalf("LOG %+v", lg)
	}
	call1 := ioCall("r1", "g1", "INPUT_TEXT")
	var ok protocol.SendIOCallReturns
	if err := h.call(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: call1}, &ok); err != nil || !ok.OK {
		t.Fatalf("SEND_IO_CALL: %v %+v", err, ok)
	}
	var rd protocol.RenderInputs
	b.next(protocol.MethodRender).decode(t, &rd)
	if rd.ToRender != call1 {
		t.Fatalf("RENDER %q", rd.ToRender)
	}
	if d := admin.tx(id); d.Status != store.StatusAwaitingInput {
		t.Fatalf("status %s", d.Status)
	}
	// A second browser connecting usurps the first and gets the replay.
	b2 := admin.browser()
	b2.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	b.next(protocol.MethodClientUsurped)
	b2.next(protocol.MethodLog)
	b2.next(protocol.MethodRender)

	resp := ioResponse(id, "r1", "g1", "RETURN", "Alice")
	b2.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id, IOResponse: resp})
	var ior protocol.IOResponseInputs
	h.next(protocol.MethodIOResponse).decode(t, &ior)
	if ior.Value != resp || ior.TransactionID != id {
		t.Fatalf("IO_RESPONSE %+v", ior)
	}
	complete(t, h, id, "Hello, Alice")
	var done protocol.TransactionCompletedInputs
	b2.next(protocol.MethodTransactionCompleted).decode(t, &done)
	if done.ResultStatus != "SUCCESS" || !strings.Contains(done.Result, "Hello, Alice") {
		t.Fatalf("TRANSACTION_COMPLETED %+v", done)
	}
	d := admin.tx(id)
	if d.Status != store.StatusCompleted || d.ResultStatus != "SUCCESS" || d.Result == nil || !strings.Contains(*d.Result, "Hello, Alice") ||
		len(d.Logs) != 1 || d.Logs[0].Data != "starting" || d.CompletedAt == nil || d.DurationMs == nil {
		t.Fatalf("detail %+v", d)
	}
	// Acknowledged means committed: another connection to the file (as
	// after a kill -9) sees the result while the server still runs.
	other, err := store.Open(context.Background(), e.dir)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := other.Transaction(context.Background(), id)
	other.Close()
	if err != nil || rec.Status != store.StatusCompleted || !strings.Contains(rec.Result, "Hello, Alice") {
		t.Fatalf("stored transaction %+v %v", rec, err)
	}
	// Leaving a completed transaction closes it on the host.
	b2.must(protocol.MethodLeaveTransaction, protocol.TransactionRef{TransactionID: id})
	var ct protocol.CloseTransactionInputs
	h.next(protocol.MethodCloseTransaction).decode(t, &ct)
	if ct.TransactionID != id {
		t.Fatalf("CLOSE_TRANSACTION %+v", ct)
	}
	// A late re-render (a table's state after the operator left) is
	// accepted and dropped, as by Interval's server.
	if err := h.call(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("r9", "g9", "DISPLAY_TABLE")}, &ok); err != nil || !ok.OK {
		t.Fatalf("late SEND_IO_CALL: %v %+v", err, ok)
	}
	if s := admin.tx(id).Status; s != store.StatusCompleted {
		t.Fatalf("status after a late call %s", s)
	}
	var list struct{ Transactions []txSummary }
	admin.do("GET", "/api/console/transactions?slug=hello", nil, http.StatusOK, &list)
	if len(list.Transactions) != 1 || list.Transactions[0].ID != id {
		t.Fatalf("list %+v", list)
	}

	// Cancel through the API: CANCELED IO_RESPONSE, then CLOSE_TRANSACTION.
	id2 := admin.createTx("hello", "development")
	b2.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id2})
	h.next(protocol.MethodStartTransaction)
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id2, IOCall: ioCall("r2", "g2", "INPUT_TEXT")})
	admin.do("POST", "/api/console/transactions/"+id2+"/cancel", nil, http.StatusNoContent, nil)
	h.next(protocol.MethodIOResponse).decode(t, &ior)
	cr, err := protocol.DecodeIOResponse(ior.Value)
	if err != nil || cr.Kind != "CANCELED" || cr.ID != "r2" || cr.InputGroupKey != "g2" {
		t.Fatalf("cancel IO_RESPONSE %q %v", ior.Value, err)
	}
	h.next(protocol.MethodCloseTransaction)
	b2.next(protocol.MethodTransactionCompleted).decode(t, &done)
	if done.ResultStatus != "CANCELED" || admin.tx(id2).Status != store.StatusCanceled {
		t.Fatalf("after cancel: %+v", done)
	}
	if code := admin.try("POST", "/api/console/transactions/"+id2+"/cancel", nil, nil); code != http.StatusConflict {
		t.Fatalf("second cancel: HTTP %d", code)
	}
	// A late completion does not overwrite CANCELED.
	complete(t, h, id2, "late")
	if s := admin.tx(id2).Status; s != store.StatusCanceled {
		t.Fatalf("status %s", s)
	}
}

func TestCSRFHeaderRequired(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	req, _ := http.NewRequest("POST", e.hs.URL+"/api/console/teams", strings.NewReader(`{"slug":"x","name":"X"}`))
	resp, err := admin.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("without header: HTTP %d", resp.StatusCode)
	}
	admin.do("POST", "/api/console/teams", map[string]string{"slug": "x", "name": "X"}, http.StatusCreated, nil)
	resp, _ = http.Get(e.hs.URL + "/api/console/users")
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("logged out: HTTP %d", resp.StatusCode)
	}
}

// runOnce drives one transaction through the browser and returns the id.
func runOnce(t *testing.T, c *client, b *peer, slug, env string) string {
	t.Helper()
	id := c.createTx(slug, env)
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	var done protocol.TransactionCompletedInputs
	for done.TransactionID != id {
		b.next(protocol.MethodTransactionCompleted).decode(t, &done)
	}
	b.must(protocol.MethodLeaveTransaction, protocol.TransactionRef{TransactionID: id})
	return id
}

// autoComplete makes host h complete every transaction it is given and
// records their ids.
func autoComplete(t *testing.T, h *peer, started chan<- string) {
	h.answer = func(c call) any {
		if c.method == protocol.MethodStartTransaction {
			st := c.start(t)
			started <- st.TransactionID
			go h.call(protocol.MethodMarkTransactionComplete, protocol.MarkTransactionCompleteInputs{
				TransactionID: st.TransactionID, ResultStatus: "SUCCESS", Result: successResult(st.TransactionID)}, nil)
		}
		return nil
	}
}

func TestTwoHostsShareSlug(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	key := admin.key("production")
	a := e.host(key, "host-a", action("work"))
	bh := e.host(key, "host-b", action("work"))
	startedA, startedB := make(chan string, 100), make(chan string, 100)
	autoComplete(t, a, startedA)
	autoComplete(t, bh, startedB)
	br := admin.browser()
	const n = 10
	ids := map[string]bool{}
	for i := 0; i < n; i++ {
		ids[runOnce(t, admin, br, "work", "production")] = true
	}
	seen := map[string]int{}
	countA, countB := len(startedA), len(startedB)
	for i := 0; i < countA; i++ {
		seen[<-startedA]++
	}
	for i := 0; i < countB; i++ {
		seen[<-startedB]++
	}
	if countA+countB != n || countA == 0 || countB == 0 {
		t.Fatalf("host a ran %d, host b ran %d, want %d in all, both some", countA, countB, n)
	}
	for id := range ids {
		if seen[id] != 1 {
			t.Fatalf("transaction %s started %d times", id, seen[id])
		}
	}
}

func TestHostShutdownOutOfRotation(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	key := admin.key("production")
	a := e.host(key, "host-a", action("work"))
	bh := e.host(key, "host-b", action("work"))
	startedA, startedB := make(chan string, 100), make(chan string, 100)
	autoComplete(t, a, startedA)
	autoComplete(t, bh, startedB)
	var res protocol.TypedResult
	if err := a.call(protocol.MethodBeginHostShutdown, struct{}{}, &res); err != nil || res.Type != "success" {
		t.Fatalf("BEGIN_HOST_SHUTDOWN: %v %+v", err, res)
	}
	var routes struct{ Hosts []hostJSON }
	admin.do("GET", "/api/console/routes?env=production", nil, http.StatusOK, &routes)
	statuses := map[string]string{}
	for _, h := range routes.Hosts {
		statuses[h.ID] = h.Status
	}
	if statuses["host-a"] != "SHUTTING_DOWN" || statuses["host-b"] != "ONLINE" {
		t.Fatalf("host statuses %v", statuses)
	}
	br := admin.browser()
	for i := 0; i < 4; i++ {
		runOnce(t, admin, br, "work", "production")
	}
	if len(startedA) != 0 || len(startedB) != 4 {
		t.Fatalf("shutting-down host ran %d, other ran %d", len(startedA), len(startedB))
	}
	bh.call(protocol.MethodBeginHostShutdown, struct{}{}, &res)
	if code := admin.try("POST", "/api/console/transactions", map[string]any{"slug": "work", "env": "production"}, nil); code != http.StatusConflict {
		t.Fatalf("no online host: HTTP %d", code)
	}

	// A host that closes after BEGIN_HOST_SHUTDOWN with a run unfinished
	// is not waited for.
	c := e.host(key, "host-c", action("slow"))
	id := admin.startRun(br, c, "slow", "production")
	c.call(protocol.MethodBeginHostShutdown, struct{}{}, &res)
	c.close()
	var done protocol.TransactionCompletedInputs
	br.next(protocol.MethodTransactionCompleted).decode(t, &done)
	if done.TransactionID != id || done.ResultStatus != "FAILURE" || !strings.Contains(done.Result, "shut down") {
		t.Fatalf("TRANSACTION_COMPLETED %+v", done)
	}
}

func TestTeamAccessRefusedByServer(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	admin.do("POST", "/api/console/teams", map[string]string{"slug": "support", "name": "Support"}, http.StatusCreated, nil)
	h := e.host(admin.key("production"), "", protocol.ActionDefinition{Slug: "refund", Access: &protocol.Access{Teams: []string{"support"}}},
		action("open"))
	outsider := e.newUser(admin, "out@example.com", store.RoleMember)
	insider := e.newUser(admin, "in@example.com", store.RoleMember, "support")

	var routes struct{ Actions []actionJSON }
	outsider.do("GET", "/api/console/routes?env=production", nil, http.StatusOK, &routes)
	if len(routes.Actions) != 1 || routes.Actions[0].Slug != "open" {
		t.Fatalf("outsider routes %+v", routes.Actions)
	}
	if code := outsider.try("POST", "/api/console/transactions", map[string]any{"slug": "refund", "env": "production"}, nil); code != http.StatusForbidden {
		t.Fatalf("outsider: HTTP %d", code)
	}
	id := insider.createTx("refund", "production")
	bi := insider.browser()
	bi.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	// The host's first START_TRANSACTION is the insider's: the refused run
	// never reached it.
	st := h.expect(protocol.MethodStartTransaction).start(t)
	if st.TransactionID != id || st.User.Email != "in@example.com" || len(st.User.Teams) != 1 || st.User.Teams[0] != "support" || st.User.Role != "member" {
		t.Fatalf("START_TRANSACTION %+v", st)
	}
	// Someone else's transaction cannot be joined.
	bo := outsider.browser()
	var ok bool
	if err := bo.call(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id}, &ok); err != nil || ok {
		t.Fatalf("outsider joined: %v %v", err, ok)
	}
	if code := outsider.try("GET", "/api/console/transactions/"+id, nil, nil); code != http.StatusNotFound {
		t.Fatalf("outsider reads detail: HTTP %d", code)
	}
}

func TestHostDropAndReturn(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	key := admin.key("development")
	inst := uuid.NewString()
	h := e.host(key, inst, action("long"))
	b := admin.browser()
	id := admin.startRun(b, h, "long", "development")
	c1 := ioCall("r1", "g1", "INPUT_TEXT")
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: c1})
	b.next(protocol.MethodRender)

	// Another key cannot take the connected instance id over.
	if _, err := dialHost(t, e, admin.key("development"), inst); !errors.Is(err, wsa.ErrUnauthorized) {
		t.Fatalf("instance id taken over by another key: %v", err)
	}
	idx := 0
	h.must(protocol.MethodSendLog, protocol.SendLogInputs{TransactionID: id, Data: "still here", Index: &idx})

	h.close()
	b.next(protocol.MethodHostClosedUnexpectedly)
	if s := admin.tx(id).Status; s != store.StatusHostDropped {
		t.Fatalf("status %s", s)
	}
	var routes struct{ Hosts []hostJSON }
	admin.do("GET", "/api/console/routes?env=development", nil, http.StatusOK, &routes)
	if len(routes.Hosts) != 1 || routes.Hosts[0].Status != "RECONNECTING" {
		t.Fatalf("hosts %+v", routes.Hosts)
	}
	// A browser connecting meanwhile gets the last form, then the news.
	b3 := admin.browser()
	b3.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	b.next(protocol.MethodClientUsurped)
	b3.next(protocol.MethodRender)
	b3.expect(protocol.MethodHostClosedUnexpectedly)
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	b3.next(protocol.MethodClientUsurped)
	b.expect(protocol.MethodLog)
	b.expect(protocol.MethodRender)
	b.expect(protocol.MethodHostClosedUnexpectedly)
	// Another instance cannot take the transaction over.
	intruder := e.host(key, "", action("long"))
	var r protocol.SendIOCallReturns
	intruder.call(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: c1}, &r)
	if r.OK || r.Message == "" {
		t.Fatalf("intruder SEND_IO_CALL: %+v", r)
	}

	h2 := e.host(key, inst, action("long"))
	c2 := ioCall("r1b", "g1", "INPUT_TEXT")
	h2.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: c2})
	b.expect(protocol.MethodHostReconnected)
	var rd protocol.RenderInputs
	b.expect(protocol.MethodRender).decode(t, &rd)
	if rd.ToRender != c2 {
		t.Fatalf("RENDER after reconnect %q", rd.ToRender)
	}
	b.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id, IOResponse: ioResponse(id, "r1b", "g1", "RETURN", "x")})
	h2.next(protocol.MethodIOResponse)
	complete(t, h2, id, "done")
	b.next(protocol.MethodTransactionCompleted)
	if d := admin.tx(id); d.Status != store.StatusCompleted || d.ResultStatus != "SUCCESS" {
		t.Fatalf("after return: %+v", d)
	}
}

func TestHostDropGraceExpires(t *testing.T) {
	e := newEnv(t, Options{HostDropGrace: 100 * 1e6})
	admin := e.admin()
	h := e.host(admin.key("development"), "", action("long"))
	b := admin.browser()
	id := admin.startRun(b, h, "long", "development")
	h.close()
	b.next(protocol.MethodHostClosedUnexpectedly)
	var done protocol.TransactionCompletedInputs
	b.next(protocol.MethodTransactionCompleted).decode(t, &done)
	if done.ResultStatus != "FAILURE" || !strings.Contains(done.Result, "did not come back") {
		t.Fatalf("TRANSACTION_COMPLETED %+v", done)
	}
	if d := admin.tx(id); d.Status != store.StatusCompleted || d.ResultStatus != "FAILURE" {
		t.Fatalf("detail %+v", d)
	}
}

func TestRestartKeepsHistory(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	adminEmail := admin.email
	key := admin.key("development")
	inst := uuid.NewString()
	h := e.host(key, inst, action("a"))
	b := admin.browser()
	done := admin.startRun(b, h, "a", "development")
	idx := 0
	h.must(protocol.MethodSendLog, protocol.SendLogInputs{TransactionID: done, Data: "kept", Index: &idx})
	complete(t, h, done, 42)
	b.next(protocol.MethodTransactionCompleted)
	open := admin.createTx("a", "development")
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: open})
	h.next(protocol.MethodStartTransaction)
	c1 := ioCall("r1", "g1", "INPUT_TEXT")
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: open, IOCall: c1})
	busy := admin.createTx("a", "development") // computing, nothing sent yet
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: busy})
	h.next(protocol.MethodStartTransaction)

	// Shutdown closes host sockets with 1012.
	e.hs.Close()
	if err := e.s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-h.conn.Done()
	if code, _ := closeStatus(h.conn.Err()); code != 1012 {
		t.Fatalf("host close %v", h.conn.Err())
	}
	e.s = nil
	e.start()
	if e.s.FirstRunLoginLink() != "" {
		t.Fatal("restart created a new admin")
	}
	_, link, err := e.s.EnsureAdmin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	admin = e.login(link)
	if admin.email != adminEmail {
		t.Fatalf("admin %s", admin.email)
	}
	d := admin.tx(done)
	if d.Status != store.StatusCompleted || d.Result == nil || !strings.Contains(*d.Result, "42") || len(d.Logs) != 1 || d.Logs[0].Data != "kept" {
		t.Fatalf("completed transaction after restart: %+v", d)
	}
	if s := admin.tx(open).Status; s != store.StatusHostDropped {
		t.Fatalf("open transaction after restart: %s", s)
	}
	// The key still works, and the same host instance carries on.
	h2 := e.host(key, inst, action("a"))
	b2 := admin.browser()
	b2.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: open})
	h2.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: open, IOCall: c1})
	b2.next(protocol.MethodHostReconnected)
	b2.next(protocol.MethodRender)
	complete(t, h2, open, "ok")
	b2.next(protocol.MethodTransactionCompleted)
	if s := admin.tx(open).Status; s != store.StatusCompleted {
		t.Fatalf("status %s", s)
	}
	// The store does not tell whether a recovered run was computing: the
	// host's INITIALIZE_HOST did not continue it; acting for it does.
	if s := admin.tx(busy).Status; s != store.StatusHostDropped {
		t.Fatalf("recovered computing run after INITIALIZE_HOST: %s", s)
	}
	h2.must(protocol.MethodSendLog, protocol.SendLogInputs{TransactionID: busy, Data: "still computing"})
	if s := admin.tx(busy).Status; s != store.StatusRunning {
		t.Fatalf("recovered computing run after a log: %s", s)
	}
	complete(t, h2, busy, "ok")
	if s := admin.tx(busy).Status; s != store.StatusCompleted {
		t.Fatalf("recovered computing run after its result: %s", s)
	}
}

// TestOneServerPerStore: a second server on a data dir another one serves
// from refuses to start with store.ErrInUse (it would take the first one's
// running transactions for its own); administration beside it works, and
// once the first has shut down a new one starts.
func TestOneServerPerStore(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	first, err := New(ctx, Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(ctx, Options{DataDir: dir}); !errors.Is(err, store.ErrInUse) {
		t.Fatalf("second server on the same data dir: %v, want store.ErrInUse", err)
	}
	admin, err := New(ctx, Options{DataDir: dir, AdminOnly: true})
	if err != nil {
		t.Fatalf("administration beside a serving server: %v", err)
	}
	if _, err := admin.CreateAPIKey(ctx, "admin@localhost", "development"); err != nil {
		t.Fatal(err)
	}
	admin.Close()
	if err := first.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := New(ctx, Options{DataDir: dir})
	if err != nil {
		t.Fatalf("starting after the first shut down: %v", err)
	}
	again.Close()
}
