package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interval-go/sdk/internal/protocol"
)

func hostAPI(t *testing.T, e *env, key, path string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", e.hs.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestHostHTTPAPIAndQueue(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	live := admin.key("production")
	if code, out := hostAPI(t, e, "", "/api/actions/enqueue", map[string]any{"slug": "a"}); code != http.StatusUnauthorized || out["type"] != "error" {
		t.Fatalf("no key: %d %v", code, out)
	}
	if code, out := hostAPI(t, e, "live_nope", "/api/actions/enqueue", map[string]any{"slug": "a"}); code != http.StatusForbidden || out["type"] != "error" {
		t.Fatalf("bad key: %d %v", code, out)
	}
	code, out := hostAPI(t, e, live, "/api/actions/enqueue", map[string]any{"slug": "queued", "assignee": admin.email, "params": map[string]any{"id": 7}})
	if code != http.StatusOK || out["type"] != "success" || out["id"] == "" {
		t.Fatalf("enqueue: %d %v", code, out)
	}
	qid := out["id"].(string)
	var q struct{ Queued []map[string]any }
	admin.do("GET", "/api/console/queue", nil, http.StatusOK, &q)
	if len(q.Queued) != 1 || q.Queued[0]["id"] != qid || q.Queued[0]["slug"] != "queued" {
		t.Fatalf("queue %+v", q)
	}
	// Running the queued action merges its params and dequeues it.
	h := e.host(live, "", action("queued"))
	var created struct{ ID string }
	admin.do("POST", "/api/console/transactions", map[string]any{"slug": "queued", "env": "production", "params": map[string]any{"x": "y"}, "queuedActionId": qid}, http.StatusCreated, &created)
	b := admin.browser()
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: created.ID})
	st := h.expect(protocol.MethodStartTransaction).start(t)
	var params map[string]any
	json.Unmarshal(st.Params, &params)
	if params["id"] != float64(7) || params["x"] != "y" {
		t.Fatalf("params %s", st.Params)
	}
	if code, out := hostAPI(t, e, live, "/api/actions/dequeue", map[string]any{"id": qid}); code != http.StatusNotFound || out["type"] != "error" {
		t.Fatalf("dequeue of a run action: %d %v", code, out)
	}
	code, out = hostAPI(t, e, live, "/api/actions/enqueue", map[string]any{"slug": "queued"})
	if code != http.StatusOK {
		t.Fatal(out)
	}
	if code, out := hostAPI(t, e, live, "/api/actions/dequeue", map[string]any{"id": out["id"]}); code != http.StatusOK || out["type"] != "success" {
		t.Fatalf("dequeue: %d %v", code, out)
	}

	// Notify reaches the browser of the transaction.
	if code, out := hostAPI(t, e, live, "/api/notify", map[string]any{"message": "hi", "transactionId": created.ID,
		"deliveryInstructions": []any{}, "createdAt": "2024-01-01T00:00:00.000Z"}); code != http.StatusOK || out["type"] != "success" {
		t.Fatalf("notify: %d %v", code, out)
	}
	var n protocol.ClientNotifyInputs
	b.next(protocol.MethodClientNotify).decode(t, &n)
	if n.Message != "hi" || n.TransactionID != created.ID {
		t.Fatalf("NOTIFY %+v", n)
	}
	// Declarations of serverless hosts: httphosts_test.go has the rest.
	if code, out := hostAPI(t, e, live, "/api/hosts/declare", map[string]any{"httpHostId": uuid.NewString(), "actions": []any{map[string]any{"slug": "bad slug"}},
		"sdkName": "@interval/sdk", "sdkVersion": "2.0.0"}); code != http.StatusNotFound || out["type"] != "error" {
		t.Fatalf("declare for an unregistered host: %d %v", code, out)
	}
	if code, _ := hostAPI(t, e, admin.key("development"), "/api/hosts/declare", map[string]any{"httpHostId": "x", "actions": []any{},
		"sdkName": "x", "sdkVersion": "1"}); code != http.StatusForbidden {
		t.Fatalf("declare with a development key: %d", code)
	}
}

func TestPages(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	key := admin.key("development")
	pageHost := func() *peer {
		h, err := dialHost(t, e, key, "page-host")
		if err != nil {
			t.Fatal(err)
		}
		var ret protocol.InitializeHostReturns
		h.call(protocol.MethodInitializeHost, protocol.InitializeHostInputs{Actions: []protocol.ActionDefinition{{GroupSlug: "billing", Slug: "refund"}},
			Groups: []protocol.PageDefinition{{Slug: "billing", Name: "Billing", HasHandler: true}}, SDKName: "@interval/sdk", SDKVersion: "2.0.0"}, &ret)
		return h
	}
	h := pageHost()
	var routes struct {
		Actions []actionJSON
		Pages   []pageJSON
	}
	admin.do("GET", "/api/console/routes?env=development", nil, http.StatusOK, &routes)
	if len(routes.Actions) != 1 || routes.Actions[0].Slug != "billing/refund" || routes.Actions[0].Name != "Refund" ||
		len(routes.Pages) != 1 || !routes.Pages[0].HasHandler {
		t.Fatalf("routes %+v", routes)
	}
	b := admin.browser()
	var r protocol.OpenPageReturns
	if err := b.call(protocol.MethodRequestPage, protocol.RequestPageInputs{PageKey: "pk1", PageSlug: "billing", OrganizationEnvironmentID: "development"}, &r); err != nil || r.Type != "SUCCESS" || r.PageKey != "pk1" {
		t.Fatalf("REQUEST_PAGE: %v %+v", err, r)
	}
	var op protocol.OpenPageInputs
	h.next(protocol.MethodOpenPage).decode(t, &op)
	if op.PageKey != "pk1" || op.Page.Slug != "billing" || op.User.Email != admin.email {
		t.Fatalf("OPEN_PAGE %+v", op)
	}
	layout := `{"kind":"BASIC","title":"Billing","children":{"id":"a","inputGroupKey":"b","toRender":[],"kind":"RENDER"}}`
	h.must(protocol.MethodSendPage, protocol.SendPageInputs{PageKey: "pk1", Page: &layout})
	var rp protocol.RenderPageInputs
	b.next(protocol.MethodRenderPage).decode(t, &rp)
	if rp.Page == nil || *rp.Page != layout || rp.HostInstanceID == "" {
		t.Fatalf("RENDER_PAGE %+v", rp)
	}
	b.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: "pk1", IOResponse: ioResponse("pk1", "a", "b", "SET_STATE", map[string]any{"offset": 0})})
	h.next(protocol.MethodIOResponse)
	// A response smuggled through the page for another transaction is refused.
	var smuggled bool
	if err := b.call(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: "pk1", IOResponse: ioResponse("someone-elses-tx", "a", "b", "RETURN", 1)}, &smuggled); err != nil || smuggled {
		t.Fatalf("smuggled response: %v %v", err, smuggled)
	}

	// The host drops and comes back: the page carries on.
	h.close()
	b.next(protocol.MethodHostClosedUnexpectedly)
	var ok bool
	if err := b.call(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: "pk1", IOResponse: ioResponse("pk1", "a", "b", "SET_STATE", nil)}, &ok); err != nil || ok {
		t.Fatalf("answer while the host is away: %v %v", err, ok)
	}
	h = pageHost()
	h.must(protocol.MethodSendPage, protocol.SendPageInputs{PageKey: "pk1", Page: &layout})
	b.expect(protocol.MethodHostReconnected)
	b.expect(protocol.MethodRenderPage)
	b.must(protocol.MethodLeavePage, protocol.PageKeyRef{PageKey: "pk1"})
	h.next(protocol.MethodClosePage)
	if err := b.call(protocol.MethodRequestPage, protocol.RequestPageInputs{PageKey: "pk2", PageSlug: "nope", OrganizationEnvironmentID: "development"}, &r); err != nil || r.Type != "ERROR" {
		t.Fatalf("unknown page: %v %+v", err, r)
	}
}

func TestUploads(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "../../report.csv")
	fw.Write([]byte("a,b\n1,2\n"))
	mw.Close()
	req, _ := http.NewRequest("POST", e.hs.URL+"/api/console/uploads", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set(ConsoleHeader, "1")
	resp, err := admin.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Name, Type, URL string
		Size            int64
	}
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || out.Name != "report.csv" || out.Size != 8 || !strings.HasPrefix(out.URL, e.s.URL()+"/uploads/") {
		t.Fatalf("upload: %d %+v", resp.StatusCode, out)
	}
	resp, err = http.Get(out.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != "a,b\n1,2\n" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("download %q %v", got, resp.Header)
	}
}

func TestPasswordLoginAndLogout(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	var me struct{ User userJSON }
	admin.do("GET", "/api/auth/me", nil, http.StatusOK, &me)
	if me.User.HasPassword || me.User.Role != "admin" {
		t.Fatalf("me %+v", me.User)
	}
	if code := admin.try("POST", "/api/auth/password", map[string]string{"password": "short"}, nil); code != http.StatusBadRequest {
		t.Fatalf("short password: HTTP %d", code)
	}
	admin.do("POST", "/api/auth/password", map[string]string{"password": "correct horse"}, http.StatusNoContent, nil)
	admin.do("POST", "/api/auth/logout", nil, http.StatusNoContent, nil)
	if code := admin.try("GET", "/api/auth/me", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("after logout: HTTP %d", code)
	}
	if code := admin.try("POST", "/api/auth/login", map[string]string{"email": "admin@localhost", "password": "wrong one"}, nil); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: HTTP %d", code)
	}
	admin.do("POST", "/api/auth/login", map[string]string{"email": "ADMIN@localhost", "password": "correct horse"}, http.StatusOK, &me)
	admin.do("GET", "/api/auth/me", nil, http.StatusOK, &me)
	if !me.User.HasPassword {
		t.Fatal("hasPassword false after setting it")
	}
	// A login link works once.
	_, link, _ := e.s.EnsureAdmin(t.Context())
	e.login(link)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?link=invalid" || len(resp.Cookies()) != 0 {
		t.Fatalf("reused login link: HTTP %d to %q, cookies %v", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
	}
	// Members cannot administer.
	m := e.newUser(admin, "m@example.com", "member")
	if code := m.try("GET", "/api/console/users", nil, nil); code != http.StatusForbidden {
		t.Fatalf("member lists users: HTTP %d", code)
	}
	if code := m.try("POST", "/api/console/keys", map[string]string{"env": "development"}, nil); code != http.StatusForbidden {
		t.Fatalf("member creates a key: HTTP %d", code)
	}
	if code := admin.try("POST", "/api/console/users", map[string]any{"email": "m@example.com", "role": "member"}, nil); code != http.StatusConflict {
		t.Fatalf("duplicate user: HTTP %d", code)
	}
}

func TestBrowserDropKeepsTransactionThenCancels(t *testing.T) {
	e := newEnv(t, Options{HostDropGrace: 300 * time.Millisecond})
	admin := e.admin()
	h := e.host(admin.key("development"), "", action("slow"))
	b := admin.browser()
	id := admin.startRun(b, h, "slow", "development")
	c := ioCall("r1", "g1", "INPUT_TEXT")
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: c})
	b.next(protocol.MethodRender)
	b.close()
	// The operator comes back (a page reload): the form is replayed.
	b2 := admin.browser()
	b2.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	var rd protocol.RenderInputs
	b2.next(protocol.MethodRender).decode(t, &rd)
	if rd.ToRender != c {
		t.Fatalf("replayed %q", rd.ToRender)
	}
	// Gone for good: after the grace period the run is canceled on the host.
	b2.close()
	var ior protocol.IOResponseInputs
	h.next(protocol.MethodIOResponse).decode(t, &ior)
	if r, err := protocol.DecodeIOResponse(ior.Value); err != nil || r.Kind != "CANCELED" {
		t.Fatalf("IO_RESPONSE %q", ior.Value)
	}
	h.next(protocol.MethodCloseTransaction)
	if s := admin.tx(id).Status; s != "CANCELED" {
		t.Fatalf("status %s", s)
	}
}

func TestConsoleServed(t *testing.T) {
	e := newEnv(t, Options{})
	for _, path := range []string{"/", "/actions/hello", "/history", "/settings/keys"} {
		resp, err := http.Get(e.hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "<html") {
			t.Fatalf("GET %s: HTTP %d", path, resp.StatusCode)
		}
	}
	resp, err := http.Get(e.hs.URL + "/assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /assets/app.js: HTTP %d", resp.StatusCode)
	}
	resp, _ = http.Get(e.hs.URL + "/api/console/nope")
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown API path: HTTP %d", resp.StatusCode)
	}
}

func TestRedirectKeptUntilDelivered(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	h := e.host(admin.key("development"), "", action("go"))
	b := admin.browser()
	id := admin.startRun(b, h, "go", "development")
	b.must(protocol.MethodLeaveTransaction, protocol.TransactionRef{TransactionID: id})
	// Canceled by the leave: a late redirect is dropped, the status kept.
	h.must(protocol.MethodSendRedirect, protocol.SendRedirectInputs{TransactionID: id, Redirect: protocol.Redirect{URL: "https://example.com"}})
	if d := admin.tx(id); d.Status != "CANCELED" || d.ResultStatus != "CANCELED" {
		t.Fatalf("after a late redirect: %+v", d.txSummary)
	}
	// Another instance cannot touch it.
	other := e.host(admin.key("development"), "", action("elsewhere"))
	var ok bool
	if err := other.call(protocol.MethodSendRedirect, protocol.SendRedirectInputs{TransactionID: id, Redirect: protocol.Redirect{URL: "https://example.com"}}, &ok); err != nil || ok {
		t.Fatalf("redirect by another instance: %v %v", err, ok)
	}

	id = admin.createTx("go", "development")
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	h.next(protocol.MethodStartTransaction)
	b.close()
	h.must(protocol.MethodSendRedirect, protocol.SendRedirectInputs{TransactionID: id, Redirect: protocol.Redirect{Route: "other", Params: map[string]any{"a": "1"}}})
	b2 := admin.browser()
	b2.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	var r protocol.RedirectInputs
	b2.next(protocol.MethodRedirect).decode(t, &r)
	if r.Route != "other" || r.TransactionID != id {
		t.Fatalf("REDIRECT %+v", r)
	}
	complete(t, h, id, nil)
	var done protocol.TransactionCompletedInputs
	b2.next(protocol.MethodTransactionCompleted).decode(t, &done)
	if done.ResultStatus != "REDIRECTED" {
		t.Fatalf("result status %s", done.ResultStatus)
	}
}

func TestHelpersAfterClose(t *testing.T) {
	e := newEnv(t, Options{})
	s := e.s
	e.stop()
	if _, _, err := s.EnsureAdmin(t.Context()); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("EnsureAdmin after Close: %v", err)
	}
	if _, err := s.CreateAPIKey(t.Context(), "admin@localhost", "development"); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("CreateAPIKey after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestConfirmIdentityNeedsPassword(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	admin.do("POST", "/api/auth/password", map[string]string{"password": "correct horse"}, http.StatusNoContent, nil)
	h := e.host(admin.key("development"), "", action("danger"))
	b := admin.browser()
	id := admin.startRun(b, h, "danger", "development")
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("r1", "g1", "CONFIRM_IDENTITY")})
	b.next(protocol.MethodRender)
	var ok bool
	if err := b.call(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id, IOResponse: ioResponse(id, "r1", "g1", "RETURN", true)}, &ok); err != nil || ok {
		t.Fatalf("identity confirmed without a password: %v %v", err, ok)
	}
	admin.do("POST", "/api/auth/login", map[string]string{"email": admin.email, "password": "correct horse"}, http.StatusOK, nil)
	b.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id, IOResponse: ioResponse(id, "r1", "g1", "RETURN", true)})
	var ior protocol.IOResponseInputs
	h.next(protocol.MethodIOResponse).decode(t, &ior)
	if !strings.Contains(ior.Value, "[true]") {
		t.Fatalf("IO_RESPONSE %s", ior.Value)
	}
	// Declining needs no password.
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("r2", "g2", "CONFIRM_IDENTITY")})
	b.next(protocol.MethodRender)
	e.s.hub.mu.Lock()
	delete(e.s.hub.passwordAt, admin.userID(t, e))
	e.s.hub.mu.Unlock()
	b.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id, IOResponse: ioResponse(id, "r2", "g2", "RETURN", false)})
	h.next(protocol.MethodIOResponse)
}

func (c *client) userID(t testing.TB, e *env) string {
	u, err := e.s.store.UserByEmail(t.Context(), c.email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// A stale answer (another inputGroupKey) or one with extra values does not
// get a CONFIRM_IDENTITY past the password check: declining a stale group
// must not clear the pending check before the real "true" arrives.
func TestConfirmIdentityNotBypassedByStaleAnswers(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	h := e.host(admin.key("development"), "", action("danger"))
	b := admin.browser()
	id := admin.startRun(b, h, "danger", "development")
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("r1", "g1", "CONFIRM_IDENTITY")})
	b.next(protocol.MethodRender)
	// "false" for another group: refused, not taken (it answers no form
	// shown)...
	var ok bool
	if err := b.call(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id, IOResponse: ioResponse(id, "r0", "stale", "RETURN", false)}, &ok); err != nil || ok {
		t.Fatalf("a stale answer was taken: %v %v", err, ok)
	}
	// ...and the pending check still holds for the current one.
	for _, resp := range []string{
		ioResponse(id, "r1", "g1", "RETURN", true),
		ioResponse(id, "r1", "", "RETURN", true),
		ioResponse(id, "r1", "g1", "RETURN", true, false),
		ioResponse(id, "r1", "g1", "RETURN", "yes"),
	} {
		if err := b.call(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id, IOResponse: resp}, &ok); err != nil || ok {
			t.Fatalf("%s accepted without a password: %v %v", resp, err, ok)
		}
	}
	if st := admin.tx(id).Status; st != "AWAITING_INPUT" {
		t.Fatalf("status %s after refused answers", st)
	}
}

// A host's javascript: URLs never reach a browser: the server drops them
// from an IO call's props (the console and its CSP are the next walls)
// and refuses a redirect to one, with a log line; a safe redirect after
// it is delivered.
func TestScriptURLsNeverReachBrowser(t *testing.T) {
	var logs logBuf
	e := newEnv(t, Options{Logger: logs.logger()})
	admin := e.admin()
	h := e.host(admin.key("development"), "", action("go"))
	b := admin.browser()
	id := admin.startRun(b, h, "go", "development")
	call := `{"id":"r1","inputGroupKey":"g1","kind":"RENDER","toRender":[{"methodName":"DISPLAY_LINK","label":"Open","props":{"href":" javascript:alert(document.cookie)"}},` +
		`{"methodName":"DISPLAY_IMAGE","label":"Img","props":{"url":"JavaScript:alert(1)"}}]}`
	var ok protocol.SendIOCallReturns
	if err := h.call(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: call}, &ok); err != nil || !ok.OK {
		t.Fatalf("SEND_IO_CALL: %v %+v", err, ok)
	}
	var rd protocol.RenderInputs
	b.next(protocol.MethodRender).decode(t, &rd)
	if strings.Contains(strings.ToLower(rd.ToRender), "javascript") || !strings.Contains(rd.ToRender, `"label":"Open"`) {
		t.Fatalf("render %s", rd.ToRender)
	}
	var sent bool
	if err := h.call(protocol.MethodSendRedirect, protocol.SendRedirectInputs{TransactionID: id, Redirect: protocol.Redirect{URL: "java\tscript:alert(1)"}}, &sent); err != nil || sent {
		t.Fatalf("redirect to javascript: %v %v", err, sent)
	}
	waitLogged(t, &logs, `msg="refusing SEND_REDIRECT: a URL that runs script or holds a document"`)
	h.must(protocol.MethodSendRedirect, protocol.SendRedirectInputs{TransactionID: id, Redirect: protocol.Redirect{URL: "https://example.com/done"}})
	var r protocol.RedirectInputs
	b.next(protocol.MethodRedirect).decode(t, &r)
	if r.URL != "https://example.com/done" {
		t.Fatalf("REDIRECT %+v", r)
	}
}

// Actions and pages declared without a name are named from their slug by
// the rule the SDK's router and Interval's server use (sentence case):
// "refundUser" is "Refund user" (it was "Refund User"), "APIKeys" is "Api
// keys" (it was "APIKeys").
func TestRoutesNamedFromSlugs(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	h, err := dialHost(t, e, admin.key("development"), "naming-host")
	if err != nil {
		t.Fatal(err)
	}
	var ret protocol.InitializeHostReturns
	h.call(protocol.MethodInitializeHost, protocol.InitializeHostInputs{
		Actions: []protocol.ActionDefinition{{GroupSlug: "APIKeys", Slug: "refundUser"}, {Slug: "SCREAMING_SNAKE"}},
		Groups:  []protocol.PageDefinition{{Slug: "APIKeys", HasHandler: true}}, SDKName: "@interval/sdk", SDKVersion: "2.0.0"}, &ret)
	var routes struct {
		Actions []actionJSON
		Pages   []pageJSON
	}
	admin.do("GET", "/api/console/routes?env=development", nil, http.StatusOK, &routes)
	names := map[string]string{}
	for _, a := range routes.Actions {
		names[a.Slug] = a.Name
	}
	for _, p := range routes.Pages {
		names[p.Slug] = p.Name
	}
	want := map[string]string{"APIKeys/refundUser": "Refund user", "SCREAMING_SNAKE": "Screaming snake", "APIKeys": "Api keys"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("names %v, want %v", names, want)
	}
}

// TestStaleAnswerRefused: an answer to a form other than the current one
// (one that moved on, or one this server has not seen since it took the
// run over) is refused, not forwarded: acknowledged, it would be an answer
// the operator saw taken and was then asked again for, when the host sends
// its current call. (It was acknowledged and forwarded, and the host
// dropped it as stale.)
func TestStaleAnswerRefused(t *testing.T) {
	_, _, h, b, id := waitingOn(t, newEnv(t, Options{})) // the form c1, group g1
	var ok bool
	if err := b.call(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id, IOResponse: ioResponse(id, "c0", "g0", "RETURN", "Ada")}, &ok); err != nil || ok {
		t.Fatalf("an answer to an earlier form was taken: %v %v", err, ok)
	}
	b.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id, IOResponse: ioResponse(id, "c1", "g1", "RETURN", "Ada")})
	if c := h.next(protocol.MethodIOResponse); !strings.Contains(string(c.data), `\"g1\"`) {
		t.Fatalf("the host got %s, want the answer to g1 only", c.data)
	}
}

// TestAnsweredFormNotShownAgain: a console that opens a run after its
// operator's answer was taken, while the host has not sent its next call
// yet (it computes), is not shown the answered form again, which the
// operator would take for a question not answered; it gets the host's next
// call. (The last form was replayed to every console that connected.)
func TestAnsweredFormNotShownAgain(t *testing.T) {
	admin, _, h, b, id := waitingOn(t, newEnv(t, Options{})) // the form c1, group g1
	b.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id, IOResponse: ioResponse(id, "c1", "g1", "RETURN", "Ada")})
	h.next(protocol.MethodIOResponse)
	b.close() // a reload
	b2 := admin.browser()
	b2.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("c2", "g2", "INPUT_TEXT")})
	var r protocol.RenderInputs
	b2.next(protocol.MethodRender).decode(t, &r)
	if got, err := protocol.DecodeIORender(r.ToRender); err != nil || got.ID != "c2" {
		t.Fatalf("the console was shown the form %q (%v), want the next one, c2", got.ID, err)
	}
}
