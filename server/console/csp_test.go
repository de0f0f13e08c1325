package console_test

import (
	"context"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/interval-go/sdk/server/console/internal/testhost"
)

// hostileHTML carries every way to run script that a host could put in
// display.html, the raw HTML of display.markdown or a rich text default.
const hostileHTML = `<img src=x onerror="window.__pwned=1"><svg onload="window.__pwned=2"></svg>` +
	`<a href="javascript:window.__pwned=3">js link</a><details open ontoggle="window.__pwned=4">d</details>` +
	`<iframe src="javascript:parent.__pwned=5"></iframe><script>window.__pwned=6</script>` +
	`<b onmouseover="window.__pwned=7">bold text</b>`

// recordCSP makes the tab record every securitypolicyviolation event in
// window.__csp, from before the app's first script runs.
func recordCSP(e *env) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, waitLimit)
	defer cancel()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__csp = []; document.addEventListener('securitypolicyviolation', ev => window.__csp.push(ev.violatedDirective + ' ' + ev.sourceFile + ':' + ev.lineNumber))`,
	}); err != nil {
		e.t.Fatalf("adding the CSP recorder: %v", err)
	}
}

func noViolations(e *env, where string) {
	e.t.Helper()
	if v := eval[[]string](e, `window.__csp || ['the recorder did not run']`); len(v) > 0 {
		e.t.Fatalf("%s: Content Security Policy violations: %q", where, v)
	}
	if eval[bool](e, `window.__pwned !== undefined`) {
		e.t.Fatalf("%s: a host's script ran", where)
	}
}

// TestBrowserHostileMarkupNoCSPViolation renders a host's hostile
// display.html, display.markdown, rich text default, page children and
// notification: the formatting shows, no script runs, and the browser
// reports no Content Security Policy violation at all (the server
// sanitizes before anything reaches it; a browser that only parses an
// inline handler reports one).
func TestBrowserHostileMarkupNoCSPViolation(t *testing.T) {
	t.Parallel()
	comps := func() []*testhost.Comp {
		return []*testhost.Comp{
			{Method: "DISPLAY_HTML", Label: "Preview", Props: map[string]any{"html": "<h3>Order shipped</h3>" + hostileHTML}},
			{Method: "DISPLAY_MARKDOWN", Label: "## Release notes\n\n**faster** exports\n\n" + hostileHTML + "\n\n[click](javascript:window.__pwned=8)", Props: map[string]any{}},
		}
	}
	action := testhost.Action{Slug: "hostile", Name: "Hostile", Handler: func(ctx context.Context, tx *testhost.Tx) (any, error) {
		c := append(comps(), &testhost.Comp{Method: "INPUT_RICH_TEXT", Label: "Body", Props: map[string]any{"defaultValue": "<p>Dear customer</p>" + hostileHTML}})
		a, err := tx.IO(c, testhost.CallOptions{})
		if err != nil {
			return nil, err
		}
		return map[string]any{"ok": len(a.Values)}, nil
	}}
	pages := []testhost.Page{{Slug: "hostile_page", Name: "Hostile page", Handler: func(ctx context.Context, p *testhost.PageCtx) (*testhost.Layout, error) {
		return &testhost.Layout{Title: "Hostile page", Children: comps()}, nil
	}}}
	e := newEnv(t, []testhost.Action{action}, pages)
	recordCSP(e)
	e.acceptDialogs() // leaving the open run asks first
	e.login()

	e.navigate("/actions/hostile")
	e.waitText(".html-display h3", "Order shipped")
	e.waitJS(`[...document.querySelectorAll(".prose strong")].some(s => s.innerText === "faster")`, "markdown rendered")
	e.waitJS(`document.querySelector(".rte-body") && document.querySelector(".rte-body").innerText.includes("Dear customer")`, "the rich text default")
	e.waitJS(`[...document.querySelectorAll(".html-display b, .prose b")].some(b => b.innerText === "bold text")`, "formatting kept")
	if eval[bool](e, `[...document.querySelectorAll(".html-display, .prose, .rte-body")].some(n => /on(error|load|toggle|mouseover)|javascript:|<script|<iframe/i.test(n.innerHTML))`) {
		t.Fatal("hostile markup reached the page")
	}
	noViolations(e, "action")

	e.navigate("/pages/hostile_page")
	e.waitText(".html-display h3", "Order shipped")
	e.waitJS(`[...document.querySelectorAll(".prose strong")].some(s => s.innerText === "faster")`, "markdown on the page")
	noViolations(e, "page")

	e.notify(`{"message":"` + jsonEscape(hostileHTML) + ` refund waiting","title":"<img src=x onerror=\"window.__pwned=9\">Refund","deliveryInstructions":[],"createdAt":"2026-01-01T00:00:00Z"}`)
	e.navigate("/notifications")
	e.waitText("[data-testid=notification]", "refund waiting")
	noViolations(e, "notification")
}

func jsonEscape(s string) string {
	b := []byte(js(s)) // a JSON string literal
	return string(b[1 : len(b)-1])
}
