package console_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/interval-go/sdk/server/console/internal/testhost"
)

// TestBrowserLogin logs in (after a wrong password), sees the dashboard with
// the host's actions, groups and connection status, and logs out.
func TestBrowserLogin(t *testing.T) {
	t.Parallel()
	actions, pages := testhost.KitchenSink()
	e := newEnvWithPassword(t, actions, pages)

	e.navigate("/")
	e.waitText("h1", "Welcome back")
	e.shot("login")
	e.typeInto("#login-email", opEmail)
	e.typeInto("#login-password", "wrong password")
	e.clickButton("Log in")
	e.waitText("[role=alert]", "do not match")

	e.replaceInto("#login-password", opPassword)
	e.clickButton("Log in")
	e.waitText(".brand-name", "Acme Corp")
	e.waitText(".cards", "Hello, world")
	e.waitText(".cards", "Every input")
	e.waitText(".cards", "Support") // a group
	e.waitText("[data-testid=host-status]", "1 host online")
	e.waitText(".env-strip", "Development")
	if got := e.text(".main"); contains(got, "Secret tool") {
		t.Errorf("unlisted action is listed:\n%s", got)
	}
	e.shot("dashboard")
	e.shotDark("dashboard")
	e.shotPhone("nav-drawer", func() {
		e.do(chromedp.Click(chromedp.CSS(".hamburger"), chromedp.NodeVisible))
		e.waitJS(`getComputedStyle(document.querySelector(".sidebar")).visibility === "visible" && document.querySelector(".sidebar").getBoundingClientRect().left >= 0`, "the drawer")
	})
	// The drawer covers the top bar's button: it has its own close button.
	e.do(chromedp.EmulateViewport(390, 844))
	e.do(chromedp.Click(chromedp.CSS(`.sidebar button[aria-label="Close navigation"]`), chromedp.NodeVisible))
	e.waitJS(`!document.querySelector(".drawer-open")`, "the drawer to close")
	e.do(chromedp.EmulateViewport(1280, 900))

	// The production environment has no host: no actions, no strip.
	e.do(chromedp.SetValue(chromedp.CSS(`select[aria-label="Environment"]`), "production"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('select[aria-label="Environment"]').dispatchEvent(new Event('change', {bubbles: true}))`))
	e.waitText(".empty", "No actions yet")
	e.waitText("[data-testid=host-status]", "No hosts connected")
	e.waitJS(`!document.querySelector(".env-strip")`, "no development strip")
	e.do(chromedp.SetValue(chromedp.CSS(`select[aria-label="Environment"]`), "development"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('select[aria-label="Environment"]').dispatchEvent(new Event('change', {bubbles: true}))`))
	e.waitText(".cards", "Hello, world")

	// Search narrows the list.
	e.typeInto(".page-head input[type=search]", "refund")
	e.waitText(".cards", "Refund order")
	e.waitNoText(".cards", "Hello, world")

	// The sidebar tree shows the group and its action.
	e.clickButton("Support")
	e.waitText("h1", "Support")
	e.waitText(".cards", "Refund order")

	// Log out.
	e.clickAccountMenu()
	e.clickButton("Log out")
	e.waitText("h1", "Welcome back")
}

// TestBrowserLogoutWithoutPassword: an operator who logged in with a
// one-time link and has no password is warned before logging out (they could
// not get back in); once they set a password, logging out just works.
func TestBrowserLogoutWithoutPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	e.login()
	e.do(chromedp.Evaluate[chromedp.Void](`window.__asked = []; window.confirm = m => { window.__asked.push(m); return false }`))
	e.clickAccountMenu()
	e.clickButton("Log out")
	e.waitJS(`window.__asked.length === 1 && window.__asked[0].includes("have not set a password")`, "a warning before logging out")
	if eval[bool](e, `!!document.querySelector("#login-title")`) {
		t.Fatalf("logged out although the operator kept the session:\n%s", e.pageText())
	}

	e.navigate("/settings/account")
	e.waitText("h2", "Set a password")
	e.do(chromedp.Evaluate[chromedp.Void](`window.__asked = []; window.confirm = m => { window.__asked.push(m); return false }`))
	e.typeInto("#pw1", "new-password-42")
	e.typeInto("#pw2", "new-password-42")
	e.clickButton("Save password")
	e.waitText(".toasts", "Your password was saved.")
	e.waitText("h2", "Change password")
	e.clickAccountMenu()
	e.clickButton("Log out")
	e.waitText("h1", "Welcome back")
	if n := eval[int](e, `(window.__asked || []).length`); n != 0 {
		t.Errorf("asked %d times before logging out with a password", n)
	}
}

// TestBrowserEnvStripAndSidebar: the development strip stays on screen while
// the page scrolls, and the sidebar fits below it: its last action can be
// scrolled fully into view without scrolling the page.
func TestBrowserEnvStripAndSidebar(t *testing.T) {
	t.Parallel()
	actions, pages := testhost.KitchenSink()
	e := newEnv(t, actions, pages)
	e.login()
	e.do(chromedp.EmulateViewport(1280, 500))
	e.navigate("/queue")
	e.waitText("h1", "Queue")
	e.waitText(".sidebar", "Selects and search")
	e.do(chromedp.Evaluate[chromedp.Void](`document.querySelector(".sidebar").scrollTop = 1e6`))
	e.settle()
	e.waitJS(`[...document.querySelectorAll(".sidebar .tree-link")].pop().getBoundingClientRect().bottom <= innerHeight`, "the last sidebar action on screen")

	e.navigate("/actions/tables")
	e.waitText("[data-testid=result]", "Completed")
	e.do(chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 600)`))
	e.settle()
	e.waitJS(`scrollY > 0 && document.querySelector(".env-strip").getBoundingClientRect().top === 0 && document.querySelector(".topbar").getBoundingClientRect().top === 24`, "the strip and top bar on screen after scrolling")
	e.do(chromedp.EmulateViewport(1280, 900))
}

// TestBrowserLoginLinkLanding: a one-time login link lands on the actions
// (a user without a password sees a note there, with a link to set one);
// the same link used again, or a made-up one, lands on the login page,
// which says why and what to do, instead of a bare 401.
func TestBrowserLoginLinkLanding(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []testhost.Action{hello()}, nil)
	e.do(chromedp.Navigate(e.loginLink))
	e.waitJS(`location.pathname === "/"`, "the dashboard after the login link")
	e.waitText(".page-title", "Actions")
	e.waitText("[data-testid=set-password-note]", "Set a password")
	e.waitJS(`document.querySelector(".action-card") !== null`, "the actions")
	e.shot("login-link-landing")

	if !evalAwaitWithin[bool](e, waitLimit, `fetch("/api/auth/logout", {method: "POST", headers: {"X-Interval-Console": "1"}}).then(() => fetch("/api/auth/me")).then(r => r.status === 401)`) {
		t.Fatal("still logged in after logging out")
	}
	e.navigate("/login")
	e.waitText("[data-testid=login-org]", "Acme Corp") // whose console this is
	e.waitJS(`document.title === "Log in · Acme Corp"`, "the title names the organization")
	for _, link := range []string{e.loginLink, e.url + "/login/link?token=made-up", e.url + "/login/link"} {
		e.do(chromedp.Navigate(link))
		e.waitJS(`location.pathname === "/login"`, "the login page after a refused link")
		e.waitText("[data-testid=bad-link]", "invalid, expired or already used")
		e.waitJS(`document.activeElement && document.activeElement.id === "login-email"`, "the email field focused")
	}
	e.shot("login-link-refused")
}

// TestBrowserRunCompletesWithoutScrolling: a run that completes while the
// operator reads farther down the page hands the keyboard to "New
// transaction" without scrolling the page back up to it. (Its focus()
// scrolled the button into view: the page jumped to the top as the run
// ended, and TestBrowserEnvStripAndSidebar, which scrolls as the run
// completes, failed now and then.)
func TestBrowserRunCompletesWithoutScrolling(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	tall := testhost.Action{Slug: "tall", Name: "Tall report", Handler: func(ctx context.Context, tx *testhost.Tx) (any, error) {
		tbl := &testhost.StaticTable{Rows: testhost.Rows(testhost.Orders(50))}
		if _, err := tx.IO([]*testhost.Comp{tbl.Comp("DISPLAY_TABLE", "Orders", testhost.OrderColumns, map[string]any{"defaultPageSize": 50})}, testhost.CallOptions{}); err != nil {
			return nil, err
		}
		select {
		case <-release:
			return "done", nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}}
	e := newEnv(t, []testhost.Action{tall}, nil)
	e.login()
	e.do(chromedp.EmulateViewport(1280, 500))
	e.navigate("/actions/tall")
	e.waitJS(`document.querySelectorAll("table tbody tr").length >= 20 && document.documentElement.scrollHeight > 1400`, "the tall report")
	e.do(chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 800)`))
	e.waitJS(`scrollY >= 700`, "the page scrolled")
	close(release)
	e.waitText("[data-testid=result]", "Completed")
	e.waitJS(`document.activeElement && document.activeElement.dataset.testid === "new-transaction"`, `the keyboard on "New transaction"`)
	e.settle()
	if y := eval[float64](e, `scrollY`); y < 700 {
		t.Fatalf("the page scrolled to %v as the run completed, want it left where the operator was (800)", y)
	}
	e.do(chromedp.EmulateViewport(1280, 900))
}
