package server

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

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
	if code, out := hostAPI(t, e, live, "/api/hosts/declare", map[string]any{"httpHostId": uuid.NewString(), "actions": []any{map[string]any{"slug": "bad slug"}},
		"sdkName": "@interval/sdk", "sdkVersion": "2.0.0"}); code != http.StatusOK || out["type"] != "success" {
		t.Fatalf("declare: %d %v", code, out)
	}
	if code, _ := hostAPI(t, e, admin.key("development"), "/api/hosts/declare", map[string]any{"httpHostId": "x", "actions": []any{},
		"sdkName": "x", "sdkVersion": "1"}); code != http.StatusBadRequest {
		t.Fatalf("declare with a development key: %d", code)
	}
}

func TestPages(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	h, err := dialHost(t, e, admin.key("development"), "")
	if err != nil {
		t.Fatal(err)
	}
	var ret protocol.InitializeHostReturns
	h.call(protocol.MethodInitializeHost, protocol.InitializeHostInputs{Actions: []protocol.ActionDefinition{{GroupSlug: "billing", Slug: "refund"}},
		Groups: []protocol.PageDefinition{{Slug: "billing", Name: "Billing", HasHandler: true}}, SDKName: "@interval/sdk", SDKVersion: "2.0.0"}, &ret)
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
	if string(got) != "a,b\n1,2\n" {
		t.Fatalf("download %q", got)
	}
}
