package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

type auditPage struct {
	Events []auditJSON
	Next   int64
}

func (c *client) audit(query string) auditPage {
	c.t.Helper()
	var p auditPage
	c.do("GET", "/api/console/audit?"+query, nil, http.StatusOK, &p)
	return p
}

// find returns the events of action, newest first.
func (p auditPage) find(action string) []auditJSON {
	var out []auditJSON
	for _, e := range p.Events {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func detail(t *testing.T, e auditJSON) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Detail, &m); err != nil {
		t.Fatalf("%s detail %s: %v", e.Action, e.Detail, err)
	}
	return m
}

func passwordLogin(t *testing.T, e *env, email, password string) int {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	req, _ := http.NewRequest("POST", e.hs.URL+"/api/auth/login", bytes.NewReader(b))
	req.Header.Set(ConsoleHeader, "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Who did what is in the audit trail, read through the console API:
// logins and failures, keys created and revoked, users created, their
// role and teams changed, users deleted, runs started (params clipped)
// and canceled (by the API and by the console socket).
func TestAuditTrail(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	if _, err := e.s.CreateUser(t.Context(), "dev@example.com", store.RoleDeveloper, "correct horse", nil); err != nil {
		t.Fatal(err)
	}
	if code := passwordLogin(t, e, "dev@example.com", "wrong"); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: HTTP %d", code)
	}
	if code := passwordLogin(t, e, "nobody@example.com", "x"); code != http.StatusUnauthorized {
		t.Fatalf("unknown user: HTTP %d", code)
	}
	if code := passwordLogin(t, e, "dev@example.com", "correct horse"); code != http.StatusOK {
		t.Fatalf("right password: HTTP %d", code)
	}

	var key struct{ ID, Key string }
	admin.do("POST", "/api/console/keys", map[string]string{"env": store.EnvProduction, "label": "deploy"}, http.StatusCreated, &key)
	admin.do("DELETE", "/api/console/keys/"+key.ID, nil, http.StatusNoContent, nil)

	var created struct {
		User      userJSON
		LoginLink string
	}
	admin.do("POST", "/api/console/users", map[string]any{"email": "op@example.com", "role": store.RoleMember, "teams": []string{}}, http.StatusCreated, &created)
	admin.do("POST", "/api/console/teams", map[string]string{"slug": "support"}, http.StatusCreated, nil)
	admin.do("PATCH", "/api/console/users/"+created.User.ID, map[string]any{"role": store.RoleDeveloper, "teams": []string{"support"}}, http.StatusOK, nil)

	h := e.host(admin.key(store.EnvDevelopment), "", action("refund"))
	b := admin.browser()
	big := strings.Repeat("x", 10_000)
	var run struct{ ID string }
	admin.do("POST", "/api/console/transactions", map[string]any{"slug": "refund", "env": store.EnvDevelopment,
		"params": map[string]any{"amount": 12, "note": big}}, http.StatusCreated, &run)
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: run.ID})
	h.expect(protocol.MethodStartTransaction)
	admin.do("POST", "/api/console/transactions/"+run.ID+"/cancel", nil, http.StatusNoContent, nil)
	// The operator's cancel button goes through the console socket.
	id2 := admin.createTx("refund", store.EnvDevelopment)
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id2})
	h.next(protocol.MethodStartTransaction)
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id2, IOCall: ioCall("r1", "g1", "INPUT_TEXT")})
	b.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id2,
		IOResponse: ioResponse(id2, "r1", "g1", protocol.KindCanceled)})
	admin.do("DELETE", "/api/console/users/"+created.User.ID, nil, http.StatusNoContent, nil)

	all := admin.audit("limit=500")
	for i := 1; i < len(all.Events); i++ {
		if all.Events[i].Seq >= all.Events[i-1].Seq {
			t.Fatal("not newest first")
		}
	}
	fails := all.find(auditLoginFailed)
	if len(fails) != 2 || fails[0].ActorEmail != "nobody@example.com" || fails[0].ActorID != "" ||
		fails[1].ActorEmail != "dev@example.com" || fails[1].ActorID == "" || detail(t, fails[1])["reason"] != "password" {
		t.Fatalf("login.failed: %+v", fails)
	}
	if fails[0].Remote != "127.0.0.1" {
		t.Errorf("remote %q", fails[0].Remote)
	}
	logins := all.find(auditLogin)
	methods := map[string]string{}
	for _, l := range logins {
		methods[l.ActorEmail] = detail(t, l)["method"].(string)
	}
	if methods["dev@example.com"] != "password" || methods[admin.email] != "link" {
		t.Fatalf("logins: %v", methods)
	}
	kc, kr := all.find(auditKeyCreated), all.find(auditKeyRevoked)
	if len(kc) < 1 || kc[len(kc)-1].Target != key.ID || detail(t, kc[len(kc)-1])["label"] != "deploy" || kc[len(kc)-1].ActorEmail != admin.email {
		t.Fatalf("key.created: %+v", kc)
	}
	if len(kr) != 1 || kr[0].Target != key.ID || detail(t, kr[0])["env"] != store.EnvProduction {
		t.Fatalf("key.revoked: %+v", kr)
	}
	if strings.Contains(string(mustJSON(all)), key.Key) {
		t.Fatal("the key's secret is in the audit trail")
	}
	if uc := all.find(auditUserCreated); len(uc) != 1 || uc[0].Target != created.User.ID || detail(t, uc[0])["email"] != "op@example.com" {
		t.Fatalf("user.created: %+v", uc)
	}
	if rc := all.find(auditUserRole); len(rc) != 1 || detail(t, rc[0])["from"] != store.RoleMember || detail(t, rc[0])["to"] != store.RoleDeveloper {
		t.Fatalf("user.role_changed: %+v", rc)
	}
	if tc := all.find(auditUserTeams); len(tc) != 1 || string(mustJSON(detail(t, tc[0])["to"])) != `["support"]` {
		t.Fatalf("user.teams_changed: %+v", tc)
	}
	if ud := all.find(auditUserDeleted); len(ud) != 1 || ud[0].Target != created.User.ID || detail(t, ud[0])["email"] != "op@example.com" {
		t.Fatalf("user.deleted: %+v", ud)
	}
	starts := all.find(auditRunStarted)
	if len(starts) != 2 || starts[1].Target != run.ID {
		t.Fatalf("run.started: %+v", starts)
	}
	params := detail(t, starts[1])["params"].(map[string]any)
	note, _ := params["note"].(string)
	if params["amount"] != float64(12) || len(note) > auditParamValue+40 || !strings.HasSuffix(note, "(10002 bytes)") {
		t.Fatalf("run.started params not clipped: amount %v, note of %d bytes %q…", params["amount"], len(note), protocol.Clip(note, 40))
	}
	cancels := all.find(auditRunCanceled)
	if len(cancels) != 2 || cancels[0].Target != id2 || cancels[1].Target != run.ID || cancels[0].ActorEmail != admin.email {
		t.Fatalf("run.canceled: %+v", cancels)
	}

	// Filters.
	if p := admin.audit("action=key."); len(p.Events) != len(kc)+len(kr) {
		t.Fatalf("action=key.: %d events", len(p.Events))
	}
	if p := admin.audit("actor=DEV@example.com"); len(p.Events) != 2 {
		t.Fatalf("actor filter: %+v", p.Events)
	}
	if p := admin.audit("target=" + url.QueryEscape(run.ID)); len(p.Events) != 2 {
		t.Fatalf("target filter: %+v", p.Events)
	}
	first := admin.audit("limit=3")
	if len(first.Events) != 3 || first.Next != first.Events[2].Seq {
		t.Fatalf("page: %+v", first)
	}
	if next := admin.audit("limit=3&before=" + strconv.FormatInt(first.Next, 10)); next.Events[0].Seq >= first.Next {
		t.Fatal("before did not page")
	}
	if code := admin.try("GET", "/api/console/audit?since=yesterday", nil, nil); code != http.StatusBadRequest {
		t.Fatalf("bad since: HTTP %d", code)
	}
	future := admin.audit("since=2999-01-01T00:00:00Z")
	if len(future.Events) != 0 {
		t.Fatalf("since in the future: %d events", len(future.Events))
	}

	// Admins only.
	dev := e.newUser(admin, "dev2@example.com", store.RoleDeveloper)
	if code := dev.try("GET", "/api/console/audit", nil, nil); code != http.StatusForbidden {
		t.Fatalf("developer reads the audit trail: HTTP %d", code)
	}
	if code := dev.try("GET", "/api/console/audit/export", nil, nil); code != http.StatusForbidden {
		t.Fatalf("developer exports the audit trail: HTTP %d", code)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// The export is every selected event as JSON lines, past any page size,
// and is itself audited.
func TestAuditExportJSONLines(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	for i := 0; i < auditExportPage+5; i++ {
		e.s.audit(t.Context(), nil, store.User{ID: "u", Email: "bot@example.com"}, auditKeyCreated, strconv.Itoa(i), map[string]any{"i": i})
	}
	e.s.audit(t.Context(), nil, store.User{Email: "x@example.com"}, auditLoginFailed, "", nil)

	resp, err := admin.http.Get(e.hs.URL + "/api/console/audit/export?action=key.created")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-ndjson") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), `.jsonl"`) {
		t.Fatalf("export: HTTP %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
	}
	sc := bufio.NewScanner(resp.Body)
	n, last := 0, int64(1<<62)
	for sc.Scan() {
		var ev auditJSON
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %d %q: %v", n+1, sc.Text(), err)
		}
		if ev.Action != auditKeyCreated || ev.Seq >= last || ev.ActorEmail != "bot@example.com" {
			t.Fatalf("line %d: %+v", n+1, ev)
		}
		last = ev.Seq
		n++
	}
	if err := sc.Err(); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if n != auditExportPage+5 {
		t.Fatalf("%d lines, want %d", n, auditExportPage+5)
	}
	ex := admin.audit("action=" + auditAuditExport).Events
	if len(ex) != 1 || ex[0].ActorEmail != admin.email || detail(t, ex[0])["filter"] != "action=key.created" {
		t.Fatalf("audit.exported: %+v", ex)
	}
}

// Starting a run takes one commit: the run and the audit event of its
// start are written together (before, the event took a commit of its own
// after the run's, and the operator waited for both).
func TestRunStartAuditedInTheSameCommit(t *testing.T) {
	e := newEnv(t, Options{MetricsToken: metricsToken})
	admin := e.admin()
	e.host(admin.key(store.EnvDevelopment), "", action("job"))
	batches := func() int {
		return e.scrape(t).count("interval_server_store_write_duration_seconds", "operation", "write_batch")
	}
	before := batches()
	id := admin.createTx("job", store.EnvDevelopment)
	if n := batches() - before; n != 1 {
		t.Fatalf("creating a run took %d commits, want 1", n)
	}
	if starts := admin.audit("action=" + auditRunStarted).find(auditRunStarted); len(starts) != 1 || starts[0].Target != id || starts[0].ActorEmail != admin.email {
		t.Fatalf("run.started: %+v", starts)
	}
}
