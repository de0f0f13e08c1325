package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/console/internal/testhost"
)

func hello() testhost.Action {
	return testhost.Action{Slug: "hello", Name: "Hello, world", Handler: func(ctx context.Context, t *testhost.Tx) (any, error) {
		a, err := t.IO([]*testhost.Comp{{Method: "INPUT_TEXT", Label: "Your name"}}, testhost.CallOptions{})
		if err != nil {
			return nil, err
		}
		var name string
		_ = json.Unmarshal(a.Values[0], &name)
		t.Log("greeting " + name)
		return "Hello, " + name + "!", nil
	}}
}

// TestBrowserValidation gets the browser's required-field messages, then a
// field message and a form message from the host, and fixes them.
func TestBrowserValidation(t *testing.T) {
	t.Parallel()
	responses := make(chan string, 16)
	act := testhost.Action{Slug: "join_team", Name: "Join a team", Handler: func(ctx context.Context, t *testhost.Tx) (any, error) {
		email := &testhost.Comp{Method: "INPUT_EMAIL", Label: "Work email"}
		team := &testhost.Comp{Method: "INPUT_TEXT", Label: "Team", Validate: func(v json.RawMessage) string {
			responses <- string(v)
			if strings.Contains(string(v), " ") {
				return "Team slugs have no spaces."
			}
			return ""
		}}
		a, err := t.IO([]*testhost.Comp{email, team}, testhost.CallOptions{Validate: func(a testhost.Answer) string {
			if !strings.HasSuffix(strings.Trim(string(a.Values[0]), `"`), "@acme.com") {
				return "Use your acme.com email address."
			}
			return ""
		}})
		if err != nil {
			return nil, err
		}
		return map[string]any{"email": strings.Trim(string(a.Values[0]), `"`), "team": strings.Trim(string(a.Values[1]), `"`)}, nil
	}}
	e := newEnv(t, []testhost.Action{act}, nil)
	e.login()
	e.navigate("/actions/join_team")
	e.waitText("h1", "Join a team")

	// Empty required fields are caught in the browser.
	e.clickButton("Continue")
	e.waitText(field("Work email", ".field-error"), "This field is required.")
	e.waitText(field("Team", ".field-error"), "This field is required.")
	if len(responses) != 0 {
		t.Errorf("the browser sent an incomplete form to the host")
	}

	// The host rejects a field.
	e.typeInto(field("Work email", "input"), "ada@gmail.com")
	e.typeInto(field("Team", "input"), "core team")
	e.clickButton("Continue")
	e.waitText(field("Team", ".field-error"), "Team slugs have no spaces.")

	// Then the whole form.
	e.replaceInto(field("Team", "input"), "core")
	e.clickButton("Continue")
	e.waitText(".form-error", "Use your acme.com email address.")
	e.waitNoText(field("Team", ".field-error"), "no spaces")
	if got := eval[string](e, fmt.Sprintf(`document.querySelector(%s).value`, js(field("Work email", "input")))); got != "ada@gmail.com" {
		t.Errorf("email after the host's message = %q, want the typed value kept", got)
	}
	e.shot("validation")

	e.replaceInto(field("Work email", "input"), "ada@acme.com")
	e.clickButton("Continue")
	e.waitText("[data-testid=result]", "Completed")
	e.waitText("[data-testid=result]", "ada@acme.com")
}

// TestBrowserCancel cancels a transaction waiting for input: the operator
// sees it canceled and the host's IO call ends.
func TestBrowserCancel(t *testing.T) {
	t.Parallel()
	ended := make(chan error, 1)
	act := testhost.Action{Slug: "slow_refund", Name: "Slow refund", Handler: func(ctx context.Context, t *testhost.Tx) (any, error) {
		_, err := t.IO([]*testhost.Comp{{Method: "INPUT_NUMBER", Label: "Amount"}}, testhost.CallOptions{})
		ended <- err
		return nil, err
	}}
	e := newEnv(t, []testhost.Action{act}, nil)
	e.login()
	e.navigate("/actions/slow_refund")
	e.waitText(field("Amount", ".field-label"), "Amount")
	e.do(chromedp.Click(chromedp.CSS("[data-testid=cancel]"), chromedp.NodeVisible))
	e.waitText("[data-testid=result]", "Canceled")
	e.waitJS(`!document.querySelector('.field[data-label="Amount"]')`, "the form to go away")
	e.waitText(".run-head", "New transaction")
	select {
	case err := <-ended:
		if err != testhost.ErrCanceled {
			t.Errorf("host IO call ended with %v, want ErrCanceled", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("the host's IO call did not end after cancel")
	}
}

// TestBrowserPage opens a page: title, description, menu items, metadata
// and a table whose next page comes from the host in a re-sent layout.
func TestBrowserPage(t *testing.T) {
	t.Parallel()
	tbl := &testhost.StaticTable{Rows: testhost.Rows(testhost.Orders(15))}
	pages := []testhost.Page{{Slug: "customers", Name: "Customers", Description: "Accounts.", Handler: func(ctx context.Context, p *testhost.PageCtx) (*testhost.Layout, error) {
		return &testhost.Layout{Title: "Customers", Description: "Every paying account, updated hourly.",
			MenuItems: []protocol.ButtonItem{{Label: "Import", Route: "customers/import", Theme: "secondary"}, {Label: "Add customer", Route: "hello", Theme: "primary"}},
			Children: []*testhost.Comp{
				{Method: "DISPLAY_METADATA", Label: "", Props: map[string]any{"layout": "card", "data": []map[string]any{{"label": "Accounts", "value": 1284}, {"label": "MRR", "value": "$184,200"}, {"label": "Churn", "value": "1.9%"}}}},
				tbl.Comp("DISPLAY_TABLE", "Recent orders", testhost.OrderColumns, map[string]any{"defaultPageSize": 10}),
			}}, nil
	}}}
	actions := []testhost.Action{hello(), {Slug: "import", GroupSlug: "customers", Name: "Import customers", Handler: func(ctx context.Context, t *testhost.Tx) (any, error) { return nil, nil }}}
	e := newEnv(t, actions, pages)
	e.login()
	e.clickButton("Customers") // the sidebar tree
	e.waitText("h1", "Customers")
	e.waitText(".page-desc", "Every paying account, updated hourly.")
	e.waitText(".page-menu", "Import")
	e.waitText(".page-menu", "Add customer")
	e.waitText(".meta-card", "1,284")
	e.waitText("[data-label='Recent orders'] .pager-text", "1 – 10 of 15")
	e.waitText(".section", "Import customers") // the group's actions below the layout
	e.shot("page")

	e.do(chromedp.Click(chromedp.CSS(`[data-label='Recent orders'] button[aria-label="Next page of Recent orders"]`), chromedp.NodeVisible))
	e.waitText("[data-label='Recent orders'] .pager-text", "11 – 15 of 15")
	if n := eval[int](e, `document.querySelectorAll("[data-label='Recent orders'] tbody tr").length`); n != 5 {
		t.Errorf("%d rows on page 2, want 5", n)
	}
	if st := tbl.States(); len(st) == 0 || st[len(st)-1].Offset != 10 || st[len(st)-1].PageSize != 10 {
		t.Errorf("page table states = %+v, want offset 10, pageSize 10", st)
	}

	// A menu item is a link to its route.
	e.clickButton("Add customer")
	e.waitText("h1", "Hello, world")
}

// TestBrowserHistory runs an action twice, cancels a third run and fails a
// fourth, then finds them in the history: filters by outcome (Error
// included), text search, dates, the pager's count, the CSV export, and a
// run's details.
func TestBrowserHistory(t *testing.T) {
	t.Parallel()
	fail := testhost.Action{Slug: "charge", Name: "Charge card", Handler: func(ctx context.Context, tx *testhost.Tx) (any, error) {
		return nil, fmt.Errorf("card declined")
	}}
	e := newEnv(t, []testhost.Action{hello(), fail}, nil)
	e.login()
	e.navigate("/actions/charge")
	e.waitText("[data-testid=result]", "card declined")
	for _, name := range []string{"Ada", "Grace"} {
		e.navigate("/actions/hello")
		e.typeInto(field("Your name", "input"), name)
		e.clickButton("Continue")
		e.waitText("[data-testid=result]", "Hello, "+name+"!")
	}
	e.navigate("/actions/hello")
	e.waitText(field("Your name", ".field-label"), "Your name")
	e.do(chromedp.Click(chromedp.CSS("[data-testid=cancel]"), chromedp.NodeVisible))
	e.waitText("[data-testid=result]", "Canceled")

	e.clickButton("History")
	e.waitText("h1", "History")
	e.waitJS(`document.querySelectorAll('[data-testid=history-table] tbody tr').length === 4`, "four runs")
	txt := e.text("[data-testid=history-table]")
	if strings.Count(txt, "Completed") != 2 || strings.Count(txt, "Canceled") != 1 || strings.Count(txt, "Error") != 1 || !strings.Contains(txt, "Hello, world") || !strings.Contains(txt, opEmail) {
		t.Errorf("history table:\n%s", txt)
	}
	e.waitText("[data-testid=history-pager]", "1 – 4 of 4")
	e.shot("history")
	// On a phone every run's status is on screen, not in a column scrolled away.
	e.do(chromedp.EmulateViewport(390, 844))
	e.waitJS(`[...document.querySelectorAll('[data-testid=history-table] tbody tr')].every(tr => [...tr.querySelectorAll('.badge')].some(b => { const r = b.getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.right <= innerWidth }))`, "each run's status on a phone screen")
	e.do(chromedp.EmulateViewport(1280, 900))

	e.do(chromedp.SetValue(chromedp.CSS(`select[aria-label="Filter by status"]`), "CANCELED"))
	e.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('select[aria-label="Filter by status"]').dispatchEvent(new Event('change', {bubbles: true}))`))
	e.waitJS(`document.querySelectorAll('[data-testid=history-table] tbody tr').length === 1`, "one canceled run")
	e.waitText("[data-testid=history-table]", "Canceled")

	choose := func(label, value string) {
		e.do(chromedp.SetValue(chromedp.CSS(`[aria-label="`+label+`"]`), value))
		e.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('[aria-label="` + label + `"]').dispatchEvent(new Event('change', {bubbles: true}))`))
	}
	choose("Filter by status", "result:FAILURE")
	e.waitJS(`document.querySelectorAll('[data-testid=history-table] tbody tr').length === 1`, "one failed run")
	e.waitText("[data-testid=history-table]", "Charge card")
	if !strings.Contains(eval[string](e, `location.search`), "result=FAILURE") {
		t.Errorf("the address does not keep the filter: %s", eval[string](e, `location.search`))
	}

	// Text search, then a start date after today: nothing.
	choose("Filter by status", "")
	e.typeInto(`[aria-label="Search the history"]`, "charge")
	e.waitJS(`document.querySelectorAll('[data-testid=history-table] tbody tr').length === 1`, "one run found by its action")
	e.replaceInto(`[aria-label="Search the history"]`, kb.Backspace)
	e.waitJS(`document.querySelectorAll('[data-testid=history-table] tbody tr').length === 4`, "every run again")
	choose("Started on or after", time.Now().AddDate(0, 0, 2).Format("2006-01-02"))
	e.waitText(".empty", "Nothing matches these filters.")
	choose("Started on or after", time.Now().AddDate(0, 0, -1).Format("2006-01-02"))
	e.waitJS(`document.querySelectorAll('[data-testid=history-table] tbody tr').length === 4`, "every run since yesterday")

	// The export holds every run the filters select.
	csv, _ := e.download(func() { e.clickButton("Export CSV") })
	if lines := strings.Split(strings.TrimSpace(csv), "\r\n"); len(lines) != 5 || !strings.HasPrefix(lines[0], "id,action,slug") || !strings.Contains(csv, ",FAILURE,") || !strings.Contains(csv, "Hello, world") {
		t.Errorf("export:\n%s", csv)
	}
	choose("Filter by status", "result:SUCCESS")
	e.waitJS(`document.querySelectorAll('[data-testid=history-table] tbody tr').length === 2`, "two completed runs")
	// Newest first: Grace.
	e.do(chromedp.Click(chromedp.CSS(`[data-testid=history-table] tbody tr:first-child a.row-title`), chromedp.NodeVisible))
	e.waitText("[data-testid=result]", "Hello, Grace!")
	e.waitText(".logs", "greeting Grace")
	e.waitText(".tx-meta", "Completed")
	e.shot("transaction")
}

// TestBrowserQueue runs an action a host queued for the operator.
func TestBrowserQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []testhost.Action{hello()}, nil)
	body := `{"slug":"hello","assignee":"` + opEmail + `","params":{"customer":"cus_42"}}`
	req, _ := http.NewRequest("POST", e.url+"/api/actions/enqueue", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("enqueue: %s", resp.Status)
	}
	http.DefaultClient.CloseIdleConnections()

	e.login()
	e.clickButton("Queue")
	e.waitText(".queue", "Hello, world")
	e.waitText(".queue .params", "cus_42")
	e.shot("queue")
	e.clickButton("Run")
	e.waitText("h1", "Hello, world")
	e.waitText(".params", "cus_42")
	e.typeInto(field("Your name", "input"), "Ada")
	e.clickButton("Continue")
	e.waitText("[data-testid=result]", "Hello, Ada!")
	e.clickButton("Queue")
	e.waitText(".empty", "Nothing queued")
}

// TestBrowserAppendUIAndLeaving keeps a display call on screen above the
// next call (append UI), warns before leaving a running transaction
// (warnOnClose) and cancels it when the operator leaves.
func TestBrowserAppendUIAndLeaving(t *testing.T) {
	t.Parallel()
	ended := make(chan error, 1)
	act := testhost.Action{Slug: "two_steps", Name: "Two steps", Handler: func(ctx context.Context, t *testhost.Tx) (any, error) {
		if _, err := t.IO([]*testhost.Comp{{Method: "DISPLAY_MARKDOWN", Label: "**Step one** is done."}}, testhost.CallOptions{}); err != nil {
			return nil, err
		}
		_, err := t.IO([]*testhost.Comp{{Method: "INPUT_TEXT", Label: "Step two"}}, testhost.CallOptions{})
		ended <- err
		return nil, err
	}}
	e := newEnv(t, []testhost.Action{act, hello()}, nil)
	e.login()
	e.navigate("/actions/two_steps")
	e.waitText(field("Step two", ".field-label"), "Step two")
	e.waitText(".run-step:first-child .prose strong", "Step one")
	if eval[int](e, `document.querySelectorAll(".run-step").length`) != 2 {
		t.Errorf("want the display above the form:\n%s", e.pageText())
	}

	// Leaving asks first; staying keeps the transaction.
	e.do(chromedp.Evaluate[chromedp.Void](`window.confirm = () => false`))
	e.clickButton("Hello, world")
	e.waitText("h1", "Two steps")
	e.do(chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`))
	e.clickButton("Hello, world")
	e.waitText("h1", "Hello, world")
	e.waitText(field("Your name", ".field-label"), "Your name")
	select {
	case err := <-ended:
		if err != testhost.ErrCanceled {
			t.Errorf("host IO call ended with %v, want ErrCanceled", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("leaving did not cancel the transaction")
	}

	// Unloading the page (here: typing another address and confirming the
	// browser's leave prompt) cancels the run at once too, rather than
	// leaving it "Awaiting input" until the server gives up on the browser.
	e.acceptDialogs()
	e.navigate("/actions/two_steps")
	e.waitText(field("Step two", ".field-label"), "Step two")
	e.typeInto(field("Step two", "input"), "half done")
	e.navigate("/history")
	select {
	case err := <-ended:
		if err != testhost.ErrCanceled {
			t.Errorf("host IO call ended with %v, want ErrCanceled", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("unloading the page did not cancel the transaction")
	}
	e.navigate("/history")
	e.waitText("table", "Two steps")
	e.waitNoText("table", "Awaiting input")
}

// TestBrowserSocketReconnect closes the browser's socket mid-transaction:
// the console reconnects, re-attaches and the run goes on.
func TestBrowserSocketReconnect(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []testhost.Action{hello()}, nil)
	e.login()
	e.navigate("/actions/hello")
	e.waitText(field("Your name", ".field-label"), "Your name")
	e.do(chromedp.Evaluate[chromedp.Void](`window.__intervalSocket.ws.close()`))
	e.waitJS(`window.__intervalSocket.status !== "open"`, "the socket to close")
	e.waitJS(`window.__intervalSocket.status === "open"`, "the socket to reopen")
	e.waitText(field("Your name", ".field-label"), "Your name")
	e.typeInto(field("Your name", "input"), "Grace")
	e.clickButton("Continue")
	e.waitText("[data-testid=result]", "Hello, Grace!")
}

// slowHello is an action that asks a name, hands it to got once answered,
// and computes until release gets a value (or is closed) before it greets.
func slowHello() (act testhost.Action, got chan string, release chan struct{}) {
	got, release = make(chan string, 1), make(chan struct{})
	act = testhost.Action{Slug: "slow_hello", Name: "Slow hello", Handler: func(ctx context.Context, t *testhost.Tx) (any, error) {
		a, err := t.IO([]*testhost.Comp{{Method: "INPUT_TEXT", Label: "Your name"}}, testhost.CallOptions{})
		if err != nil {
			return nil, err
		}
		var name string
		_ = json.Unmarshal(a.Values[0], &name)
		got <- name
		select { // computing
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return "Hello, " + name + "!", nil
	}}
	return act, got, release
}

// graceTyped starts a server with slowHello's action, opens it as the
// operator and types the name "Grace", not sent yet. The action is released
// as the test ends.
func graceTyped(t *testing.T) (e *env, got chan string, release chan struct{}) {
	t.Helper()
	act, got, release := slowHello()
	e = newEnv(t, []testhost.Action{act}, nil)
	t.Cleanup(func() { close(release) })
	e.login()
	e.navigate("/actions/slow_hello")
	e.waitText(field("Your name", ".field-label"), "Your name")
	e.typeInto(field("Your name", "input"), "Grace")
	return e, got, release
}

// staysSent checks, for a second, that the form on screen stays as sent
// (busy): anything the server says after a reconnection comes within a few
// round trips. It fails with what otherwise.
func (e *env) staysSent(what string) {
	e.t.Helper()
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if !eval[bool](e, `!!document.querySelector('form[aria-busy=true]')`) {
			e.t.Fatalf("%s\n%s", what, e.pageText())
		}
	}
}

// TestBrowserSocketReconnectAfterAnswer closes the browser's socket after
// the operator's answer was taken, while the host still computes: the
// console reconnects and keeps the form as sent (busy), not asking for it
// again, and shows the result when the host ends. (The server showed the
// answered form again on the new socket, and the console took it for a
// question: the form was usable again.)
func TestBrowserSocketReconnectAfterAnswer(t *testing.T) {
	t.Parallel()
	e, got, release := graceTyped(t)
	e.clickButton("Continue")
	select {
	case <-got:
	case <-time.After(waitLimit):
		t.Fatal("the host never got the answer")
	}
	e.waitJS(`window.__intervalSocket.calls.size === 0`, "the answer's acknowledgement")
	e.do(chromedp.Evaluate[chromedp.Void](`window.__intervalSocket.ws.close()`))
	e.waitJS(`window.__intervalSocket.status !== "open"`, "the socket to close")
	e.waitJS(`window.__intervalSocket.status === "open"`, "the socket to reopen")
	e.staysSent("the answered form was offered again after the socket reconnected")
	release <- struct{}{}
	e.waitText("[data-testid=result]", "Hello, Grace!")
}

// TestBrowserHostResendsFormWhileAnswering: the host drops and comes back,
// sending again the form on screen, while the operator's answer to it is on
// its way (held in the page here). The form stays as sent, and the answer,
// once it arrives, completes the run. (The console took the form sent again
// for a new question: it reset it and made it usable while the answer was
// still on its way.)
func TestBrowserHostResendsFormWhileAnswering(t *testing.T) {
	t.Parallel()
	e, got, release := graceTyped(t)
	e.do(chromedp.Evaluate[chromedp.Void](`(() => { const ws = window.__intervalSocket.ws, send = ws.send.bind(ws)
		window.__held = []
		window.__release = () => { for (const d of window.__held) send(d); window.__held = [] }
		ws.send = d => { if (d.includes('RESPOND_TO_IO_CALL')) window.__held.push(d); else send(d) } })()`))
	e.clickButton("Continue")
	e.waitJS(`window.__held.length === 1`, "the answer to be sent")
	e.host.Drop()
	if err := e.host.Reconnect(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.staysSent("the form on screen, sent again by its host, was made usable while its answer was on its way")
	e.do(chromedp.Evaluate[chromedp.Void](`window.__release()`))
	select {
	case name := <-got:
		if name != "Grace" {
			t.Fatalf("the host got %q", name)
		}
	case <-time.After(waitLimit):
		t.Fatal("the host never got the answer")
	}
	release <- struct{}{}
	e.waitText("[data-testid=result]", "Hello, Grace!")
}

// TestBrowserSocketDropsWhileAnswering closes the console's socket as the
// operator answers. Closed right after the answer went out, before the
// server confirmed it, the answer may or may not have been taken: if the
// host has it, the form stays as sent and the run completes with it; if
// not, the server shows the form again on the new socket and the console
// says the answer did not reach the server. Closed just before, the answer
// never left: it is asked again, saying why. (The console said "Your
// answer was not sent" in every case and made the form usable again, even
// when the host had the answer.)
func TestBrowserSocketDropsWhileAnswering(t *testing.T) {
	t.Parallel()
	act, got, release := slowHello()
	e := newEnv(t, []testhost.Action{act}, nil)
	defer close(release)
	e.login()
	answer := func(closeFirst bool) {
		e.t.Helper()
		e.navigate("/actions/slow_hello")
		e.waitText(field("Your name", ".field-label"), "Your name")
		e.typeInto(field("Your name", "input"), "Grace")
		js := `(() => { const ws = window.__intervalSocket.ws, send = ws.send.bind(ws)
			ws.send = d => { send(d); if (d.includes('RESPOND_TO_IO_CALL')) ws.close() }
			document.querySelector('.form-buttons button[type=submit]').click() })()`
		if closeFirst {
			js = `(() => { window.__intervalSocket.ws.close(); document.querySelector('.form-buttons button[type=submit]').click() })()`
		}
		e.do(chromedp.Evaluate[chromedp.Void](js))
		e.waitJS(`window.__intervalSocket.status === "open"`, "the socket to reopen")
	}

	// The answer is asked for again, saying why; submitted again, the run
	// completes.
	askedAgain := func() {
		e.t.Helper()
		e.waitText("[data-testid=respond-error]", "did not reach the server")
		e.clickButton("Continue")
		select {
		case <-got:
		case <-time.After(waitLimit):
			t.Fatal("the host never got the answer submitted again")
		}
		release <- struct{}{}
		e.waitText("[data-testid=result]", "Hello, Grace!")
	}

	// Closed after the answer went out: the server may have taken it
	// (it reads what came before the close), or not.
	answer(false)
	deadline := time.Now().Add(waitLimit)
	for taken := false; !taken; {
		select {
		case <-got:
			taken = true
		case <-time.After(50 * time.Millisecond):
		}
		if taken {
			// The host has it: the form stays as sent.
			e.staysSent("the form was made usable again though the server had the answer")
			release <- struct{}{}
			e.waitText("[data-testid=result]", "Hello, Grace!")
			break
		}
		if eval[bool](e, `!!document.querySelector('[data-testid=respond-error]')`) {
			askedAgain()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("neither the host got the answer nor was it asked again\n%s", e.pageText())
		}
	}

	// Closed before: the answer never left.
	answer(true)
	askedAgain()
}

// TestBrowserResultLinks: web addresses in a result are links (opening in a
// new tab); other strings stay text.
func TestBrowserResultLinks(t *testing.T) {
	t.Parallel()
	act := testhost.Action{Slug: "export", Name: "Export", Handler: func(ctx context.Context, t *testhost.Tx) (any, error) {
		return map[string]any{"file": "https://files.example.com/exports/42.csv", "rows": 42, "note": "see https://example.com for more"}, nil
	}}
	one := testhost.Action{Slug: "export_url", Name: "Export URL", Handler: func(ctx context.Context, t *testhost.Tx) (any, error) {
		return "https://files.example.com/exports/43.csv", nil
	}}
	e := newEnv(t, []testhost.Action{act, one}, nil)
	e.login()
	e.navigate("/actions/export")
	e.waitText("[data-testid=result]", "Completed")
	e.waitJS(`document.querySelector('[data-testid=result] .kv a[href="https://files.example.com/exports/42.csv"][target=_blank]')`, "the file address as a link")
	if n := eval[int](e, `document.querySelectorAll("[data-testid=result] a").length`); n != 1 {
		t.Errorf("%d links in the result, want 1 (a sentence with an address stays text):\n%s", n, e.pageText())
	}
	e.navigate("/actions/export_url")
	e.waitText("[data-testid=result]", "Completed")
	e.waitJS(`document.querySelector('[data-testid=result] .result-value a[href="https://files.example.com/exports/43.csv"]')`, "a single address result as a link")
}

// TestBrowserNotFound: a mistyped console address shows the app's "Not
// found" page, and an unknown action says so without offering to run it
// again.
func TestBrowserNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []testhost.Action{hello()}, nil)
	e.login()
	e.navigate("/nothing/here")
	e.waitText("h1", "Not found")
	e.waitText(".main", "There is nothing at /nothing/here")
	e.waitText(".sidebar", "Hello, world")
	e.navigate("/actions/no_such_action")
	e.waitText(".empty", "Action not found")
	e.waitText(".empty", "There is no action no_such_action in the development environment")
	if eval[bool](e, `[...document.querySelectorAll("button")].some(b => b.innerText.includes("New transaction"))`) {
		t.Errorf("an unknown action offers a new transaction:\n%s", e.pageText())
	}
	e.clickButton("Go to the dashboard")
	e.waitText("h1", "Actions")
}

// TestBrowserTouchNoShortcutHint: on a touch screen the submit button does
// not advertise the Ctrl+Enter shortcut.
func TestBrowserTouchNoShortcutHint(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []testhost.Action{hello()}, nil)
	e.login()
	e.navigate("/actions/hello")
	e.waitText(field("Your name", ".field-label"), "Your name")
	e.waitJS(`getComputedStyle(document.querySelector(".form-buttons .kbd-hint")).display !== "none"`, "the hint with a mouse")
	if _, err := chromedp.Call(e.ctx, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: true, MaxTouchPoints: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(e.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "pointer", Value: "coarse"}, {Name: "hover", Value: "none"}}}); err != nil {
		t.Fatal(err)
	}
	e.waitJS(`matchMedia("(hover: none) and (pointer: coarse)").matches`, "a touch screen")
	e.waitJS(`getComputedStyle(document.querySelector(".form-buttons .kbd-hint")).display === "none"`, "no shortcut hint on a touch screen")
}

// TestBrowserHostRedirectToURL: a host that sends the operator to another
// address mid-run gets no leave prompt in the way, and the run is not
// canceled by the page unloading: it completes.
func TestBrowserHostRedirectToURL(t *testing.T) {
	t.Parallel()
	done := make(chan error, 1)
	act := testhost.Action{Slug: "send_away", Name: "Send away", Handler: func(ctx context.Context, t *testhost.Tx) (any, error) {
		if _, err := t.IO([]*testhost.Comp{{Method: "INPUT_TEXT", Label: "Ticket"}}, testhost.CallOptions{}); err != nil {
			return nil, err
		}
		if err := t.Redirect(protocol.Redirect{URL: "/queue"}); err != nil {
			return nil, err
		}
		select { // some work after the redirect
		case <-time.After(700 * time.Millisecond):
		case <-ctx.Done():
			done <- ctx.Err()
			return nil, ctx.Err()
		}
		done <- nil
		return "sent", nil
	}}
	e := newEnv(t, []testhost.Action{act}, nil)
	var dialogs atomic.Int32
	if err := chromedp.Listen(e.ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			dialogs.Add(1)
			go chromedp.Call(e.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}); err != nil {
		t.Fatal(err)
	}
	e.login()
	e.navigate("/actions/send_away")
	e.typeInto(field("Ticket", "input"), "T-1") // the page has had a user gesture: a leave prompt could show
	e.clickButton("Continue")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the run was canceled by the redirect: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("the action did not finish")
	}
	e.waitText("h1", "Queue") // where the host sent the operator
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d dialogs (leave prompt) on a host redirect, want none", n)
	}
	e.navigate("/history")
	e.waitText("[data-testid=history-table]", "Send away")
	e.waitNoText("[data-testid=history-table]", "Canceled")
}
