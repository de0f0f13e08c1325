package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/router"
)

// nodeScript is host.js of a testdata folder running under Node.
type nodeScript struct {
	cmd     *exec.Cmd
	lines   chan string
	stopped bool
}

// startNode runs testdata/<dir>/host.js with ENDPOINT and API_KEY for e;
// the test's cleanup stops it.
func startNode(t *testing.T, e *env, dir, key string) *nodeScript {
	t.Helper()
	return startNodeScript(t, dir, "host.js", e.wsURL(), key)
}

// startNodeScript runs testdata/<dir>/<script> under Node with ENDPOINT and
// API_KEY; the test's cleanup stops it.
func startNodeScript(t *testing.T, dir, script, endpoint, key string) *nodeScript {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required for the interop test: install Node.js (scripts/test does)")
	}
	abs, _ := filepath.Abs(filepath.Join("testdata", dir))
	if _, err := os.Stat(filepath.Join(abs, "node_modules", "@interval", "sdk")); err != nil {
		t.Fatalf("run `npm ci` in server/testdata/%s first (scripts/test does)", dir)
	}
	cmd := exec.Command(node, script)
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "ENDPOINT="+endpoint, "API_KEY="+key)
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &nodeScript{cmd: cmd, lines: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() { p.stop() })
	return p
}

// waitFor waits for a line starting with prefix and returns the rest of it.
func (p *nodeScript) waitFor(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				p.stop()
				t.Fatalf("node %s exited before printing %s", p.cmd.Dir, prefix)
			}
			if rest, found := strings.CutPrefix(l, prefix); found {
				return strings.TrimSpace(rest)
			}
		case <-timeout:
			p.cmd.Process.Kill()
			p.stop()
			t.Fatalf("node %s did not print %s", p.cmd.Dir, prefix)
		}
	}
}

// stop sends SIGINT (the SDK's safelyClose), waits for the process (killing
// it after a while) and returns the last line it printed.
func (p *nodeScript) stop() string {
	if p.stopped {
		return ""
	}
	p.stopped = true
	p.cmd.Process.Signal(syscall.SIGINT)
	var last string
	for l := range p.lines {
		last = l
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(wait):
		p.cmd.Process.Kill()
		<-done
	}
	return last
}

// startNodeHost runs the official @interval/sdk 2.0.0 as a host
// (testdata/nodehost) against e with key, and returns a stop function that
// sends SIGINT (safelyClose) and waits for the process.
func startNodeHost(t *testing.T, e *env, key string) (stop func() string) {
	t.Helper()
	p := startNode(t, e, "nodehost", key)
	p.waitFor(t, "LISTENING")
	return p.stop
}

// routesListing returns the slugs of actions the client sees in env.
func (c *client) routesListing(env string) (actions map[string]bool, pages map[string]bool) {
	var out struct {
		Actions []struct {
			Slug   string
			Online bool
		}
		Pages []struct {
			Slug   string
			Online bool
		}
	}
	c.do("GET", "/api/console/routes?env="+env, nil, http.StatusOK, &out)
	actions, pages = map[string]bool{}, map[string]bool{}
	for _, a := range out.Actions {
		actions[a.Slug] = a.Online
	}
	for _, p := range out.Pages {
		pages[p.Slug] = p.Online
	}
	return actions, pages
}

func waitOnline(t *testing.T, c *client, slug string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if a, _ := c.routesListing("development"); a[slug] {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("action %s never listed online", slug)
}

// runGreet drives the greet action of either host through the operator API
// and browser socket: text input, a table (then searched with SET_STATE
// after completion, as the append UI allows), result.
func runGreet(t *testing.T, admin *client, slug string) {
	t.Helper()
	txID := admin.createTx(slug, "development")
	b := admin.browser()
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: txID})

	var rd protocol.RenderInputs
	b.next(protocol.MethodRender).decode(t, &rd)
	first, err := protocol.DecodeIORender(rd.ToRender)
	if err != nil || len(first.ToRender) != 1 || first.ToRender[0].MethodName != "INPUT_TEXT" || first.ToRender[0].Label != "Your name" {
		t.Fatalf("first render: %v %+v", err, first.ToRender)
	}
	respond := func(r protocol.IORender, kind string, values ...any) {
		t.Helper()
		raw := make([]json.RawMessage, len(values))
		for i, v := range values {
			raw[i], _ = json.Marshal(v)
		}
		resp := protocol.IOResponse{ID: r.ID, TransactionID: txID, InputGroupKey: r.InputGroupKey, Values: raw, Kind: kind}
		if kind == protocol.KindReturn {
			resp.Choice = "Continue"
		}
		s, _ := json.Marshal(resp)
		b.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: txID, IOResponse: string(s)})
	}
	// Too short first: the host re-renders with a validation message.
	respond(first, protocol.KindReturn, "A")
	b.next(protocol.MethodRender).decode(t, &rd)
	again, _ := protocol.DecodeIORender(rd.ToRender)
	if again.ToRender[0].ValidationErrorMessage == "" || again.InputGroupKey != first.InputGroupKey {
		t.Fatalf("no validation re-render: %s %s", again.ToRender[0].MethodName, again.ToRender[0].ValidationErrorMessage)
	}
	respond(again, protocol.KindReturn, "Ada")

	b.next(protocol.MethodRender).decode(t, &rd)
	table, _ := protocol.DecodeIORender(rd.ToRender)
	if table.ToRender[0].MethodName != "DISPLAY_TABLE" || !table.ToRender[0].IsStateful {
		t.Fatalf("table render: %+v", table.ToRender)
	}
	var props struct {
		Data         []struct{ Key string }
		TotalRecords int
	}
	json.Unmarshal(table.ToRender[0].Props, &props)
	if props.TotalRecords != 30 || len(props.Data) != 30 {
		t.Fatalf("table: %d rows of %d", len(props.Data), props.TotalRecords)
	}

	var done protocol.TransactionCompletedInputs
	b.next(protocol.MethodTransactionCompleted).decode(t, &done)
	var result protocol.ActionResult
	if err := json.Unmarshal([]byte(done.Result), &result); err != nil || done.ResultStatus != "SUCCESS" {
		t.Fatalf("completed: %+v %v", done, err)
	}
	var data map[string]any
	json.Unmarshal(result.Data, &data)
	if data["name"] != "Ada" || data["user"] != admin.email || data["count"] != float64(30) {
		t.Fatalf("result data %v", data)
	}

	// Search the table after completion: the host filters and re-renders.
	respond(table, protocol.KindSetState, map[string]any{"queryTerm": "grace", "offset": 0, "pageSize": 10})
	b.next(protocol.MethodRender).decode(t, &rd)
	searched, _ := protocol.DecodeIORender(rd.ToRender)
	json.Unmarshal(searched.ToRender[0].Props, &props)
	if props.TotalRecords != 6 {
		t.Fatalf("search 'grace': %d records, want 6", props.TotalRecords)
	}

	d := admin.tx(txID)
	if d.Status != "COMPLETED" {
		t.Fatalf("history status %q", d.Status)
	}
	b.must(protocol.MethodLeaveTransaction, protocol.TransactionRef{TransactionID: txID})
}

// TestInteropNodeSDKHost connects the official Node SDK 2.0.0 as a host with
// a development key: its action and page are listed, a transaction with a
// validated input and a table runs to completion through the operator API,
// the page renders, and safelyClose works.
func TestInteropNodeSDKHost(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	stop := startNodeHost(t, e, admin.key("development"))
	waitOnline(t, admin, "node_greet")
	if _, pages := admin.routesListing("development"); !pages["node_dashboard"] {
		t.Fatalf("page node_dashboard not listed: %v", pages)
	}
	runGreet(t, admin, "node_greet")

	b := admin.browser()
	var page protocol.OpenPageReturns
	key := "8c1d1c9e-6a53-4f77-9a35-1f2a3b4c5d6e"
	if err := b.call(protocol.MethodRequestPage, protocol.RequestPageInputs{PageKey: key, PageSlug: "node_dashboard",
		ActionMode: "console", OrganizationEnvironmentID: "development"}, &page); err != nil || page.Type != "SUCCESS" {
		t.Fatalf("REQUEST_PAGE: %+v %v", page, err)
	}
	var rp protocol.RenderPageInputs
	b.next(protocol.MethodRenderPage).decode(t, &rp)
	if rp.Page == nil || !strings.Contains(*rp.Page, `"title":"Node dashboard"`) || !strings.Contains(*rp.Page, "Hello from **Node**") {
		t.Fatalf("RENDER_PAGE: %v", rp.Page)
	}
	b.must(protocol.MethodLeavePage, protocol.PageKeyRef{PageKey: key})

	if last := stop(); last != "CLOSED" {
		t.Fatalf("safelyClose: last output %q", last)
	}
}

// TestInteropGoHost is the same flow with this module's Go host.
func TestInteropGoHost(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	type user struct {
		ID    int    `interval:"ID"`
		Name  string `interval:"Name"`
		Email string `interval:"Email"`
	}
	var users []user
	for i := range 30 {
		users = append(users, user{i + 1, []string{"Ada", "Grace", "Linus", "Margaret", "Ken"}[i%5] + " " + itoa(i+1), "user" + itoa(i+1) + "@example.com"})
	}
	r := router.New()
	r.Action("go_greet", func(ctx context.Context, tx *interval.Tx) (any, error) {
		name, err := tx.IO.Input.Text("Your name").MinLength(2).Run(ctx)
		if err != nil {
			return nil, err
		}
		if err := interval.DisplayTable(tx.IO, "Users", users).Run(ctx); err != nil {
			return nil, err
		}
		return map[string]any{"name": name, "user": tx.User.Email, "count": len(users)}, nil
	})
	c, err := interval.New(interval.Options{Endpoint: e.wsURL(), APIKey: admin.key("development"), Routes: r,
		Logger: slog.New(slog.DiscardHandler), RetryInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	listened := make(chan error, 1)
	go func() { listened <- c.Listen(context.Background()) }()
	waitOnline(t, admin, "go_greet")
	runGreet(t, admin, "go_greet")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-listened; !errors.Is(err, interval.ErrClosed) {
		t.Fatalf("Listen: %v", err)
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
