package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/console/internal/testhost"
)

func kitchen(slugs ...string) ([]testhost.Action, []testhost.Page) {
	all, pages := testhost.KitchenSink()
	var out []testhost.Action
	for _, a := range all {
		for _, s := range slugs {
			if a.Slug == s {
				out = append(out, a)
			}
		}
	}
	return out, pages
}

// TestBrowserEveryInput renders every input method with its props, uploads
// a file to the server and submits with a secondary choice button.
func TestBrowserEveryInput(t *testing.T) {
	t.Parallel()
	actions, _ := kitchen("all_inputs")
	e := newEnv(t, actions, nil)
	e.login()
	e.navigate("/actions/all_inputs")
	e.waitText("h1", "Every input")

	checks := map[string]string{
		`document.querySelector(` + js(field("Display name", "input")) + `).placeholder === "Jane Doe"`:                                                                  "text placeholder",
		`document.querySelector(` + js(field("Display name", ".info")) + `).getAttribute("aria-label").includes("Between 2 and 60")`:                                     "text constraints tip",
		`document.querySelector(` + js(field("Refund amount", ".info")) + `).getAttribute("aria-label") === "Must be a number between 1 and 500 with up to 2 decimals."`: "number constraints tip",
		`document.querySelector(` + js(field("Seats", ".info")) + `).getAttribute("aria-label") === "Must be a whole number of at least 1."`:                             "whole number constraints tip",
		`document.querySelector(` + js(field("Work email", "input")) + `).type === "email"`:                                                                              "email input",
		`document.querySelector(` + js(field("Refund amount", ".input-affix")) + `).innerText.includes("USD")`:                                                           "currency suffix",
		`document.querySelector(` + js(field("Discount (%)", "output")) + `).innerText === "15"`:                                                                         "slider default",
		`document.querySelector(` + js(field("Webhook URL", ".optional")) + `) !== null`:                                                                                 "optional mark",
		`document.querySelector(` + js(field("Subscribed to product updates", "input")) + `).checked`:                                                                    "boolean default",
		`document.querySelector(` + js(field("Announcement", ".rte-body h2")) + `).innerText === "New pricing"`:                                                          "rich text default",
		`document.querySelector(` + js(field("Effective date", "input")) + `).value === "2026-12-01"`:                                                                    "date default",
		`document.querySelector(` + js(field("Window starts at (UTC)", "input")) + `).value === "02:30"`:                                                                 "time default",
		`document.querySelector(` + js(field("Trial ends at", "input")) + `).type === "datetime-local"`:                                                                  "datetime input",
		`document.querySelector(` + js(field("Customer export", ".dropzone")) + `).innerText.includes(".csv")`:                                                           "file drop zone",
		`document.querySelector(` + js(field("Line items", "input[aria-label='sku row 1']")) + `).value === "SKU-001"`:                                                   "spreadsheet default row",
		`document.querySelector(` + js(field("Internal note", "textarea")) + `) !== null`:                                                                                "multiline text",
		`[...document.querySelectorAll(".form-buttons button")].map(b => b.innerText).join("|").startsWith("Save")`:                                                      "choice buttons",
	}
	for expr, what := range checks {
		e.waitJS(expr, what)
	}
	e.shot("inputs")

	e.typeInto(field("Display name", "input"), "Jane")
	e.typeInto(field("Work email", "input"), "jane@acme.com")
	e.typeInto(field("Refund amount", "input"), "12.5")
	file := filepath.Join(t.TempDir(), "customers.csv")
	if err := os.WriteFile(file, []byte("id,name\n1,Ada\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.do(chromedp.SetUploadFiles(chromedp.CSS(field("Customer export", "input[type=file]")), []string{file}, chromedp.NodeReady))
	e.waitText(field("Customer export", ".file-list"), "customers.csv")
	href := eval[string](e, `document.querySelector(`+js(field("Customer export", ".file-list a"))+`).href`)
	if !strings.HasPrefix(href, e.url+"/uploads/") {
		t.Errorf("uploaded file URL = %q, want one served by the server", href)
	}
	e.clickButton("Save as draft")
	e.waitText("[data-testid=result]", "Completed")
	res := e.text("[data-testid=result]")
	for _, want := range []string{"draft", "Jane", "jane@acme.com", "12.5", "customers.csv", "SKU-001", "year: 2026"} {
		if !strings.Contains(res, want) {
			t.Errorf("result lacks %q:\n%s", want, res)
		}
	}
}

// TestBrowserEveryDisplay renders every display method; markdown and HTML
// are rendered and sanitized.
func TestBrowserEveryDisplay(t *testing.T) {
	t.Parallel()
	actions, _ := kitchen("displays", "hello")
	e := newEnv(t, actions, nil)
	e.login()
	e.navigate("/actions/displays")
	e.waitText("[data-testid=result]", "Completed") // displays resolve at once
	checks := map[string]string{
		`document.querySelector(".io-heading-2 h2").innerText === "Account overview"`:                                                                                 "heading",
		`document.querySelectorAll(".io-heading .btn").length === 3`:                                                                                                  "heading menu items",
		`document.querySelector(".io-heading .btn-danger").innerText === "Suspend"`:                                                                                   "danger theme",
		`[...document.querySelectorAll(".prose strong")].some(s => s.innerText === "faster exports")`:                                                                 "markdown bold",
		`document.querySelector(".prose ol li") !== null && document.querySelector(".prose ol ul") !== null`:                                                          "markdown nested lists",
		`document.querySelector(".prose pre code").innerText.includes("curl -X POST")`:                                                                                "markdown code block",
		`document.querySelector(".prose blockquote") !== null`:                                                                                                        "markdown quote",
		`document.querySelector(".prose script") === null && ![...document.querySelectorAll(".prose")].some(p => p.innerHTML.includes("alert("))`:                     "markdown sanitized",
		`document.querySelector(".html-display h3").innerText === "Thanks for your order!"`:                                                                           "html rendered",
		`!document.querySelector(".html-display").innerHTML.includes("onerror") && !document.querySelector(".html-display").innerHTML.includes("javascript:")`:        "html sanitized",
		`document.querySelector(".code-block .code").innerText.includes("invoice.paid")`:                                                                              "code",
		`document.querySelector(".io-image img").src.startsWith("data:image/svg+xml")`:                                                                                "image",
		`document.querySelector('[data-method=DISPLAY_LINK] a').innerText === "Open the docs"`:                                                                        "link",
		`document.querySelector(".meta-card").innerText.includes("Could not load the health score")`:                                                                  "metadata error",
		`document.querySelector(".meta-grid a[href='/actions/hello']") !== null`:                                                                                      "metadata route link",
		`document.querySelector(".obj").innerText.includes("usr_7k2d0")`:                                                                                              "object",
		`document.querySelector(".progress-block").innerText.includes("Completed 3 of 5")`:                                                                            "progress steps",
		`document.querySelector(".plist").innerText.includes("Billing")`:                                                                                              "progress list",
		`document.querySelector("[data-label=Logo] .io-image-missing").innerText.includes("could not be loaded") && !document.querySelector("[data-label=Logo] img")`: "a note for an image that does not load",
		// The line above the result spans the run like the displays above it.
		`Math.abs(document.querySelector("[data-testid=result]").getBoundingClientRect().right - document.querySelector(".io-heading").getBoundingClientRect().right) < 2`: "the result as wide as the displays",
		`!document.querySelector(".html-display img") && document.querySelector(".html-display .img-missing").innerText === "[image could not be loaded]"`:                 "a note for a broken image in HTML",
		// The run is over: its progress displays no longer spin.
		`document.querySelector("[data-label='Waiting for the bank']") && !document.querySelector(".run-body .spinner")`: "no spinner after the run",
		`document.querySelector(".plist .plist-pending")`:                                                                "a dash for the unfinished item",
	}
	for expr, what := range checks {
		e.waitJS(expr, what)
	}
	e.shot("displays")
	e.shotDark("displays")
}

// TestBrowserSelectsAndSearch picks from a rich single select (searching
// its options), a multiple select and a host-side search.
func TestBrowserSelectsAndSearch(t *testing.T) {
	t.Parallel()
	actions, _ := kitchen("selects")
	e := newEnv(t, actions, nil)
	e.login()
	e.navigate("/actions/selects")
	e.waitText(field("New plan", ".select-trigger"), "Team") // default

	e.do(chromedp.Click(chromedp.CSS(field("New plan", ".select-trigger")), chromedp.NodeVisible))
	e.typeInto(field("New plan", ".select-search"), "ent")
	e.waitJS(`document.querySelectorAll(`+js(field("New plan", "li[role=option]"))+`).length === 1`, "filtered options")
	e.do(chromedp.Click(chromedp.CSS(field("New plan", "li[role=option]")), chromedp.NodeVisible))
	e.waitText(field("New plan", ".select-trigger"), "Enterprise")

	e.do(chromedp.Click(`//fieldset//label[.//span[normalize-space(.)="Billing"]]//input`, chromedp.NodeVisible))

	e.typeInto(field("Find a customer", "input[type=search]"), "ava")
	e.waitJS(`document.querySelectorAll(`+js(field("Find a customer", "li[role=option]"))+`).length > 0`, "search results from the host")
	e.shot("search")
	first := e.text(field("Find a customer", "li[role=option] .opt-label"))
	e.do(chromedp.Click(chromedp.CSS(field("Find a customer", "li[role=option]")), chromedp.NodeVisible))
	e.waitText(field("Find a customer", ".chosen"), first)

	e.clickButton("Continue")
	e.waitText("[data-testid=result]", "Completed")
	res := e.text("[data-testid=result]")
	for _, want := range []string{"enterprise", "billing", "read", "ord_"} {
		if !strings.Contains(res, want) {
			t.Errorf("result lacks %q:\n%s", want, res)
		}
	}
}

// TestBrowserProgressLogsAndResult follows loading states with a progress
// bar, streamed logs, and an object result; then an error result and a
// redirect.
func TestBrowserProgressLogsAndResult(t *testing.T) {
	t.Parallel()
	step := make(chan struct{})
	act := testhost.Action{Slug: "import", Name: "Import accounts", Handler: func(ctx context.Context, t *testhost.Tx) (any, error) {
		n := 4
		for i := range n {
			done := i
			t.Loading(protocol.LoadingState{Label: "Importing accounts", Description: "Writing to the database", ItemsInQueue: &n, ItemsCompleted: &done})
			t.Log(fmt.Sprintf("imported account %d", i+1))
			select {
			case <-step:
			case <-ctx.Done():
				return nil, testhost.ErrCanceled
			}
		}
		return map[string]any{"accounts": n, "dryRun": false, "owner": "ops"}, nil
	}}
	actions, _ := kitchen("charge_card", "go_hello", "hello")
	e := newEnv(t, append(actions, act), nil)
	e.login()
	e.navigate("/actions/import")
	for i := range 4 {
		e.waitText("[data-testid=loading-state]", fmt.Sprintf("Completed %d of 4", i))
		e.waitText(".logs", fmt.Sprintf("imported account %d", i+1))
		if i == 2 {
			e.shot("loading")
		}
		step <- struct{}{}
	}
	e.waitText("[data-testid=result]", "Completed")
	res := e.text("[data-testid=result]")
	for _, want := range []string{"accounts", "4", "dryRun", "false", "owner", "ops"} {
		if !strings.Contains(res, want) {
			t.Errorf("result lacks %q:\n%s", want, res)
		}
	}
	e.waitText(".logs .count", "4")

	e.navigate("/actions/charge_card")
	e.waitText("[data-testid=result]", "Error")
	e.waitText("[data-testid=result] .alert-danger", "card declined: insufficient funds")
	e.shot("result-error")

	e.navigate("/actions/go_hello")
	e.waitText("h1", "Hello, world")
	e.waitJS(`location.pathname === "/actions/hello" && location.search === "?from=redirect"`, "the redirect's URL")
	e.waitText(".params", "redirect")
}

// TestBrowserConfirm answers a confirmation and an identity confirmation.
func TestBrowserConfirm(t *testing.T) {
	t.Parallel()
	actions, _ := kitchen("confirm")
	e := newEnvWithPassword(t, actions, nil)
	e.login()
	e.navigate("/actions/confirm")
	e.waitText(".confirm", `Delete workspace "Globex Staging"?`)
	e.shot("confirm")
	e.clickButton("Confirm")
	e.waitText(".modal", "Please confirm your identity")
	e.typeInto("#ci-pw", "not my password")
	e.clickButton("Verify")
	e.waitText(".modal [role=alert]", "not correct")
	e.replaceInto("#ci-pw", opPassword)
	e.clickButton("Verify")
	e.waitText("[data-testid=result]", "Completed")
	e.waitText("[data-testid=result]", "deleted")
	e.waitText("[data-testid=result]", "true")
}

// menuVisibleJS is true when a row menu is open and each of its items is
// on screen and on top (not cut off by the table's scroll box, nor covered
// by the pinned menu cells of other rows).
const menuVisibleJS = `(() => {
	const m = document.querySelector(".menu[role=menu]")
	if (!m) return false
	const items = [...m.querySelectorAll(".menu-item")]
	return items.length > 0 && items.every(it => {
		const r = it.getBoundingClientRect()
		const x = r.left + r.width / 2, y = r.top + r.height / 2
		if (r.width === 0 || x < 0 || y < 0 || x > innerWidth || y > innerHeight) return false
		const el = document.elementFromPoint(x, y)
		return !!el && it.contains(el)
	})
})()`

// TestBrowserRowMenu opens the "…" menu of table rows: on the last row near
// the bottom of the screen and, on a phone, on a row with rows below it
// whose menu cells are pinned to the right. Every item must be visible and
// clickable.
func TestBrowserRowMenu(t *testing.T) {
	t.Parallel()
	actions, _ := kitchen("tables", "hello")
	e := newEnv(t, actions, nil)
	e.login()
	e.navigate("/actions/tables")
	e.waitText("[data-testid=result]", "Completed")
	e.waitText("[data-label='Orders (last 30 days)'] .pager-text", "1 – 20 of 50")
	open := func(row string) {
		e.t.Helper()
		b := fmt.Sprintf(`document.querySelector("[data-label='Orders (last 30 days)'] tbody tr:%s .col-menu button")`, row)
		e.do(chromedp.Evaluate[chromedp.Void](b + `.scrollIntoView({ block: "end" })`))
		e.settle() // the scroll events, which close an open menu, come first
		e.do(chromedp.Evaluate[chromedp.Void](b + `.click()`))
		e.waitJS(`!!document.querySelector(".menu[role=menu]")`, "the row menu")
		e.settle()
		if !eval[bool](e, menuVisibleJS) {
			t.Errorf("the menu of row %s is cut off or covered:\n%s", row, eval[string](e, `JSON.stringify([...document.querySelectorAll(".menu[role=menu] .menu-item")].map(it => { const r = it.getBoundingClientRect(); return [it.innerText, Math.round(r.left), Math.round(r.top), document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)?.className] }))`))
		}
	}
	open("last-child")
	e.shotViewport("table-rowmenu-1280")
	e.do(chromedp.KeyEvent(kb.Escape))
	e.waitJS(`!document.querySelector(".menu[role=menu]")`, "Escape to close the menu")

	e.do(chromedp.EmulateViewport(390, 844))
	open("nth-child(3)")
	e.shotViewport("table-rowmenu-390")
	e.do(chromedp.Click(`//*[@role="menu"]//a[normalize-space(.)="Issue refund"]`, chromedp.NodeVisible))
	e.waitJS(`location.pathname === "/actions/hello"`, "the menu item's route")
}

// TestBrowserConfirmIdentityWithoutPassword: an operator who logged in with
// a one-time link has no password to confirm their identity with; the
// prompt says so and links to the account settings, and once a password is
// set there, it confirms.
func TestBrowserConfirmIdentityWithoutPassword(t *testing.T) {
	t.Parallel()
	actions, _ := kitchen("confirm")
	e := newEnv(t, actions, nil)
	e.login()
	e.navigate("/actions/confirm")
	e.clickButton("Confirm")
	e.waitText(".modal", "Please confirm your identity")
	e.waitText(".modal .ci-no-password", "You have not set a password yet")
	e.waitJS(`document.querySelector('.modal .ci-no-password a[href="/settings/account"][target=_blank]')`, "a link to the account settings")
	e.shotAt("confirm-identity-no-password", []viewport{{1280, 900, "1280"}}, nil)

	// As if set in the other tab.
	ctx, cancel := context.WithTimeout(e.ctx, waitLimit)
	defer cancel()
	st, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`fetch("/api/auth/password", {method: "POST", headers: {"X-Interval-Console": "1", "Content-Type": "application/json"}, body: JSON.stringify({password: %s})}).then(r => r.status)`, js(opPassword)), chromedp.EvalAwaitPromise))
	if err != nil || st >= 300 {
		t.Fatalf("setting the password: HTTP %d, %v", st, err)
	}
	e.typeInto("#ci-pw", opPassword)
	e.clickButton("Verify")
	e.waitText("[data-testid=result]", "Completed")
}

// TestBrowserVideoThatDoesNotLoad: a display.video whose address does not
// load says so, instead of an empty 0:00 player.
func TestBrowserVideoThatDoesNotLoad(t *testing.T) {
	t.Parallel()
	action := testhost.Action{Slug: "video", Name: "Video", Handler: func(ctx context.Context, tx *testhost.Tx) (any, error) {
		_, err := tx.IO([]*testhost.Comp{{Method: "DISPLAY_VIDEO", Label: "Walkthrough", Props: map[string]any{"url": "/assets/no-such-video.mp4"}}}, testhost.CallOptions{})
		return "shown", err
	}}
	e := newEnv(t, []testhost.Action{action}, nil)
	e.login()
	e.navigate("/actions/video")
	e.waitText("[data-method=DISPLAY_VIDEO] .io-video-missing", "The video could not be loaded.")
	if eval[bool](e, `!!document.querySelector("[data-method=DISPLAY_VIDEO] video")`) {
		t.Fatal("an empty player is still shown")
	}
}

// TestBrowserCodeHighlighting: display.code and markdown code blocks are
// highlighted for their language (highlight.js, vendored), the code itself
// unchanged; markdown code blocks get display.code's copy and download
// buttons; a language highlight.js does not know stays plain text.
func TestBrowserCodeHighlighting(t *testing.T) {
	t.Parallel()
	action := testhost.Action{Slug: "code", Name: "Code", Handler: func(ctx context.Context, tx *testhost.Tx) (any, error) {
		_, err := tx.IO([]*testhost.Comp{
			{Method: "DISPLAY_CODE", Label: "Handler", Props: map[string]any{"code": "func main() {\n\tfmt.Println(\"<b>hi</b>\") // greet\n}", "language": "go"}},
			{Method: "DISPLAY_CODE", Label: "Notes", Props: map[string]any{"code": "<i>not markup</i>", "language": "klingon"}},
			{Method: "DISPLAY_MARKDOWN", Label: "Run it:\n\n```sql\nSELECT id FROM users WHERE email = 'a@b.c';\n```\n"},
		}, testhost.CallOptions{})
		return "shown", err
	}}
	e := newEnv(t, []testhost.Action{action}, nil)
	e.login()
	e.navigate("/actions/code")
	e.waitJS(`document.querySelector("[data-label=Handler] code.hljs .hljs-keyword")`, "Go keywords highlighted")
	if got := e.text("[data-label=Handler] pre.code"); !contains(got, `fmt.Println("<b>hi</b>") // greet`) {
		t.Fatalf("the highlighted code reads %q", got)
	}
	if eval[bool](e, `!!document.querySelector("[data-label=Handler] pre b")`) {
		t.Fatal("code was rendered as HTML")
	}
	if eval[bool](e, `!!document.querySelector("[data-label=Notes] .hljs") || document.querySelector("[data-label=Notes] pre").innerText !== "<i>not markup</i>"`) {
		t.Fatal("an unknown language is not plain text")
	}
	e.waitJS(`document.querySelector(".prose pre.md-code code.hljs .hljs-keyword")`, "SQL keywords highlighted in markdown")
	e.waitJS(`document.querySelector(".prose pre.md-code [aria-label='Download code']")`, "a download button on the markdown code block")
	if text, name := e.download(func() { e.do(chromedp.Click(`.prose pre.md-code [aria-label="Download code"]`, chromedp.NodeVisible)) }); name != "code-1.sql" || text != "SELECT id FROM users WHERE email = 'a@b.c';\n" {
		t.Fatalf("markdown code downloaded as %q: %q", name, text)
	}
	e.do(chromedp.Click(`.prose pre.md-code [aria-label="Copy code"]`, chromedp.NodeVisible))
	e.waitText(".toasts", "Copied to clipboard")
	e.shot("code-highlighting")
	e.shotDark("code-highlighting")
}

// TestBrowserTableCSVAndNumbers: a table's number columns are right-aligned
// (rich cells with a number value too) and its CSV download holds every
// filtered row, sorted as on screen, with numbers a spreadsheet can sum and
// text that would run as a formula kept as text.
func TestBrowserTableCSVAndNumbers(t *testing.T) {
	t.Parallel()
	rows := []map[string]any{}
	for i, name := range []string{"Ava, Chen", `Bo "the" Chen`, "=HYPERLINK(\"chen\")", "Dee"} {
		rows = append(rows, map[string]any{"key": fmt.Sprint(i), "data": map[string]any{
			"name": name, "seats": 10 - i, "amount": map[string]any{"label": fmt.Sprintf("$%d,234.50", i+1), "value": float64(i+1)*1000 + 234.5}}})
	}
	action := testhost.Action{Slug: "csv", Name: "CSV", Handler: func(ctx context.Context, tx *testhost.Tx) (any, error) {
		_, err := tx.IO([]*testhost.Comp{{Method: "DISPLAY_TABLE", Label: "Seats by customer", Props: map[string]any{
			"columns": []map[string]any{{"label": "Name", "accessorKey": "name"}, {"label": "Seats", "accessorKey": "seats"}, {"label": "Amount", "accessorKey": "amount"}},
			"data":    rows, "totalRecords": len(rows), "isSortable": true, "isFilterable": true}}}, testhost.CallOptions{})
		return "shown", err
	}}
	e := newEnv(t, []testhost.Action{action}, nil)
	e.login()
	e.navigate("/actions/csv")
	e.waitJS(`document.querySelectorAll(".table tbody tr").length === 4`, "the table")
	if !eval[bool](e, `[...document.querySelectorAll(".table thead th")].map(th => th.classList.contains("num")).join() === "false,true,true" &&
		getComputedStyle(document.querySelector(".table tbody td.num")).textAlign === "right"`) {
		t.Fatal("number columns are not right-aligned")
	}
	// Sort by seats ascending, filter out Dee, then download.
	e.do(chromedp.Click(`//th//button[normalize-space(.)="Seats"]`, chromedp.NodeVisible))
	e.typeInto(`[data-label="Seats by customer"] input[type=search]`, "chen")
	e.waitJS(`document.querySelectorAll(".table tbody tr").length === 3`, "three rows after the filter")
	got, name := e.download(func() { e.do(chromedp.Click(`.table-csv`, chromedp.NodeVisible)) })
	want := "Name,Seats,Amount\r\n\"'=HYPERLINK(\"\"chen\"\")\",8,3234.5\r\n\"Bo \"\"the\"\" Chen\",9,2234.5\r\n\"Ava, Chen\",10,1234.5\r\n"
	if got != want {
		t.Fatalf("CSV:\n%q\nwant\n%q", got, want)
	}
	e.shot("table-csv")
	if name != "Seats-by-customer.csv" {
		t.Fatalf("file name %q", name)
	}
}

// TestBrowserSpreadsheet: a spreadsheet shows its columns in the order the
// host declared them; after the host refuses the rows, only the required
// cells left empty are marked, not the whole sheet.
func TestBrowserSpreadsheet(t *testing.T) {
	t.Parallel()
	action := testhost.Action{Slug: "sheet", Name: "Sheet", Handler: func(ctx context.Context, tx *testhost.Tx) (any, error) {
		a, err := tx.IO([]*testhost.Comp{{Method: "INPUT_SPREADSHEET", Label: "Line items",
			Props: map[string]any{"columns": json.RawMessage(`{"sku":"string","quantity":"number","note":"string?","gift":"boolean"}`)},
			Validate: func(v json.RawMessage) string {
				var rows []map[string]any
				json.Unmarshal(v, &rows)
				for i, r := range rows {
					if r["quantity"] == nil {
						return fmt.Sprintf("Row %d: quantity is required.", i+1)
					}
				}
				return ""
			}}}, testhost.CallOptions{})
		if err != nil {
			return nil, err
		}
		return string(a.Values[0]), nil
	}}
	e := newEnv(t, []testhost.Action{action}, nil)
	e.login()
	e.navigate("/actions/sheet")
	e.waitJS(`document.querySelector(".table-sheet")`, "the sheet")
	if got := eval[string](e, `[...document.querySelectorAll(".table-sheet thead th")].map(th => th.innerText.trim()).join("|")`); got != "#|sku|quantity|note (optional)|gift|" {
		t.Fatalf("columns %q, want the declared order", got)
	}
	e.clickButton("Add row")
	e.typeInto(`.table-sheet input[aria-label="sku row 1"]`, "SKU-1")
	e.clickButton("Continue")
	e.waitText(field("Line items", ".field-error"), "quantity is required")
	if got := eval[string](e, `[...document.querySelectorAll(".table-sheet .input-cell.is-missing")].map(i => i.getAttribute("aria-label")).join("|")`); got != "quantity row 1" {
		t.Fatalf("marked cells %q, want only the empty required one", got)
	}
	if eval[string](e, `getComputedStyle(document.querySelector('.table-sheet input[aria-label="sku row 1"]')).backgroundColor`) ==
		eval[string](e, `getComputedStyle(document.querySelector('.table-sheet input[aria-label="quantity row 1"]')).backgroundColor`) {
		t.Fatal("a filled cell looks like the missing one")
	}
	e.shot("spreadsheet-refused")
	// On a phone every column of a row is on screen, under its name.
	e.do(chromedp.EmulateViewport(390, 844))
	e.settle()
	if off := eval[string](e, `[...document.querySelectorAll(".table-sheet tbody td[data-col]")].filter(td => { const r = td.getBoundingClientRect(); return r.width === 0 || r.right > innerWidth || r.left < 0 }).map(td => td.dataset.col).join(", ")`); off != "" {
		t.Fatalf("cells out of sight at 390 px: %s", off)
	}
	e.do(chromedp.EmulateViewport(1280, 900))
	e.typeInto(`.table-sheet input[aria-label="quantity row 1"]`, "3")
	e.clickButton("Continue")
	e.waitText("[data-testid=result]", "SKU-1")
}

// TestBrowserSearchMultipleKeepsDefaultLabel: a multiple search's default
// keeps its label after a search replaced the results it came from (it
// read "default:0").
func TestBrowserSearchMultipleKeepsDefaultLabel(t *testing.T) {
	t.Parallel()
	action := testhost.Action{Slug: "find", Name: "Find", Handler: func(ctx context.Context, tx *testhost.Tx) (any, error) {
		a, err := tx.IO([]*testhost.Comp{{Method: "SEARCH", Label: "Customers", Multiple: true, MultipleDefault: []any{"default:0"},
			Props: map[string]any{"results": []any{map[string]any{"value": "default:0", "label": "Ava Chen"}}},
			OnState: func(json.RawMessage) map[string]any {
				return map[string]any{"results": []any{map[string]any{"value": "0", "label": "Bo Li"}}}
			}}}, testhost.CallOptions{})
		if err != nil {
			return nil, err
		}
		return string(a.Values[0]), nil
	}}
	e := newEnv(t, []testhost.Action{action}, nil)
	e.login()
	e.navigate("/actions/find")
	e.waitText(field("Customers", ".chosen"), "Ava Chen")
	e.typeInto(field("Customers", "input[type=search]"), "bo")
	e.waitText(field("Customers", "li[role=option]"), "Bo Li")
	e.do(chromedp.Click(field("Customers", "li[role=option]"), chromedp.NodeVisible))
	e.waitText(field("Customers", ".chosen"), "Bo Li")
	if got := e.text(field("Customers", ".chosen")); !contains(got, "Ava Chen") || contains(got, "default:0") {
		t.Fatalf("chips after a search: %q", got)
	}
	e.clickButton("Continue")
	e.waitText("[data-testid=result]", `default:0`)
}
