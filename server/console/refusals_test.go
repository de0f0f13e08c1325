package console_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/interval-go/sdk/server"
	"github.com/interval-go/sdk/server/console/internal/testhost"
)

// importAction asks for one file and returns its name.
func importAction() testhost.Action {
	return testhost.Action{Slug: "import", Name: "Import", Handler: func(ctx context.Context, t *testhost.Tx) (any, error) {
		a, err := t.IO([]*testhost.Comp{{Method: "UPLOAD_FILE", Label: "Spreadsheet"}}, testhost.CallOptions{})
		if err != nil {
			return nil, err
		}
		var f struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(a.Values[0], &f)
		return "imported " + f.Name, nil
	}}
}

func tempFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBrowserUploadLowDisk: the server refuses an upload with 507 when its
// disk is nearly full; the file input shows the server's message on the
// field and another file can be picked.
func TestBrowserUploadLowDisk(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, []testhost.Action{importAction()}, nil, false, func(o *server.Options) {
		o.UploadDiskReserve = 1 << 60 // no disk has that much free
	})
	e.login()
	e.navigate("/actions/import")
	input := field("Spreadsheet", "input[type=file]")
	e.waitJS(`document.querySelector(`+js(input)+`)`, "the file input")
	e.do(chromedp.SetUploadFiles(chromedp.CSS(input), []string{tempFile(t, "big.csv", "a,b\n")}, chromedp.NodeReady))
	msg := "The server is low on disk space; ask an administrator to free some."
	e.waitText(field("Spreadsheet", "[role=alert]"), msg)
	e.waitJS(`!document.querySelector(`+js(input)+`).disabled`, "the file input to be usable again")
	e.waitJS(`document.querySelector(`+js(input)+`).getAttribute("aria-invalid") === "true"`, "the file input marked invalid")
	e.shot("upload-low-disk")
	e.shotDark("upload-low-disk")
	// Picking another file tries again.
	e.do(chromedp.Evaluate[chromedp.Void](`document.querySelector(` + js(field("Spreadsheet", "[role=alert]")) + `).remove()`))
	e.do(chromedp.SetUploadFiles(chromedp.CSS(input), []string{tempFile(t, "other.csv", "c,d\n")}, chromedp.NodeReady))
	e.waitText(field("Spreadsheet", "[role=alert]"), msg)
}

// TestBrowserUploadTooLarge: the server's 413 ("larger than the upload
// limit", a limit lowered to 1 MiB for the test) shows on the field, and
// another file uploads.
func TestBrowserUploadTooLarge(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, []testhost.Action{importAction()}, nil, false, func(o *server.Options) { o.MaxUploadBytes = 1 << 20 })
	e.login()
	e.navigate("/actions/import")
	input := field("Spreadsheet", "input[type=file]")
	e.waitJS(`document.querySelector(`+js(input)+`)`, "the file input")

	const msg = "The file is larger than the upload limit (1 MiB)."
	e.do(chromedp.SetUploadFiles(chromedp.CSS(input), []string{tempFile(t, "huge.csv", strings.Repeat("a,b\n", 1<<19))}, chromedp.NodeReady))
	e.waitText(field("Spreadsheet", "[role=alert]"), msg)
	e.waitJS(`!document.querySelector(`+js(input)+`).disabled`, "the file input to be usable again")
	e.waitJS(`document.querySelector(`+js(input)+`).getAttribute("aria-invalid") === "true" && document.querySelector(`+js(field("Spreadsheet", ".dropzone.is-invalid"))+`)`, "the file field marked invalid")
	e.shot("upload-too-large")

	e.do(chromedp.SetUploadFiles(chromedp.CSS(input), []string{tempFile(t, "small.csv", "c,d\n")}, chromedp.NodeReady))
	e.waitText(field("Spreadsheet", ".file-list"), "small.csv")
	e.waitJS(`!document.querySelector(`+js(field("Spreadsheet", "[role=alert]"))+`) && !document.querySelector(`+js(field("Spreadsheet", ".is-invalid"))+`)`, "the message to go")
	e.clickButton("Continue")
	e.waitText("[data-testid=result]", "imported small.csv")
}

// TestBrowserLoginThrottled: after too many failed logins for an email the
// server answers 429 with Retry-After; the login page says so, with the
// wait in minutes.
func TestBrowserLoginThrottled(t *testing.T) {
	t.Parallel()
	e := newEnvWithPassword(t, nil, nil)
	e.navigate("/login")
	e.waitText("h1", "Welcome back")
	// Ten failures (the server's limit), straight from the page. Each is
	// a bcrypt comparison: slow under -race on a busy machine.
	n := evalAwaitWithin[int](e, 3*time.Minute, `Promise.all([...Array(10)].map(() => fetch("/api/auth/login", {method: "POST", headers: {"Content-Type": "application/json", "X-Interval-Console": "1"},
		body: JSON.stringify({email: `+js(opEmail)+`, password: "wrong"})}).then(r => r.status))).then(s => s.filter(x => x === 401).length)`)
	if n != 10 {
		t.Fatalf("%d of 10 wrong passwords answered 401", n)
	}
	e.typeInto("#login-email", opEmail)
	e.typeInto("#login-password", opPassword)
	// The eleventh attempt from this address may meet the per-address
	// limit first (one attempt every 3 s after ten): the page says so, and
	// a retry after the wait meets the per-email one.
	for i := 0; ; i++ {
		e.clickButton("Log in")
		e.waitText("[role=alert]", "Too many")
		if msg := e.text("[role=alert]"); contains(msg, "for this email") {
			break
		} else if !contains(msg, "from your address") || i == 3 {
			t.Fatalf("throttled login says %q", msg)
		}
		time.Sleep(3500 * time.Millisecond)
	}
	e.waitText("[role=alert]", "Too many failed logins for this email")
	e.waitText("[role=alert]", "15 minutes")
	e.waitJS(`!document.querySelector("button[type=submit]").disabled`, "the button to be usable")
	e.shot("login-throttled")
}

// evalAwaitWithin evaluates a JS expression and waits up to limit for the
// promise it gives.
func evalAwaitWithin[T any](e *env, limit time.Duration, expr string) T {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, limit)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		e.t.Fatalf("eval %s: %v", expr, err)
	}
	return v
}

// TestBrowserSocketClosedByServer: the server closes the browser's socket
// with 1008 (here for too many calls in one second, as it does for a
// message not acknowledged in time): the console shows a notice on the
// run, reconnects, re-attaches to the transaction, and the run goes on
// with what the operator had typed.
func TestBrowserSocketClosedByServer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []testhost.Action{hello()}, nil)
	e.login()
	e.navigate("/actions/hello")
	e.waitText(field("Your name", ".field-label"), "Your name")
	e.typeInto(field("Your name", "input"), "Grace")
	// Record the notice and the close as they happen: the reconnection
	// may be quicker than a poll.
	e.do(chromedp.Evaluate[chromedp.Void](`(() => {
		window.__closes = []
		const ws = window.__intervalSocket.ws
		ws.addEventListener("close", ev => window.__closes.push(ev.code + " " + ev.reason))
		new MutationObserver(() => {
			const n = document.querySelector("[data-testid=socket-reconnecting]")
			if (n && !window.__notice) window.__notice = n.innerText
		}).observe(document.body, {subtree: true, childList: true, characterData: true})
		// More calls in one second than the server allows a browser (100),
		// even when the flood straddles two seconds.
		for (let i = 0; i < 250; i++) ws.send(JSON.stringify({type: "MESSAGE", id: "flood-" + i, data: JSON.stringify({id: "f" + i, kind: "CALL", methodName: "NO_SUCH_METHOD"})}))
	})()`))
	e.waitJS(`window.__closes.length === 1`, "the server to close the socket")
	if got := eval[string](e, `window.__closes[0]`); got != "1008 Rate limit exceeded." {
		t.Errorf("close = %q, want 1008 Rate limit exceeded.", got)
	}
	e.waitJS(`window.__notice`, "a reconnecting notice on the run")
	if got := eval[string](e, `window.__notice`); !strings.Contains(got, "Reconnecting") || !strings.Contains(got, "Rate limit exceeded.") {
		t.Errorf("notice = %q", got)
	}
	e.waitJS(`window.__intervalSocket.status === "open"`, "the socket to reopen")
	e.waitJS(`!document.querySelector("[data-testid=socket-reconnecting]")`, "the notice to go")
	if v := eval[string](e, `document.querySelector(`+js(field("Your name", "input"))+`).value`); v != "Grace" {
		t.Errorf("typed value after reconnect = %q, want it kept", v)
	}
	e.clickButton("Continue")
	e.waitText("[data-testid=result]", "Hello, Grace!")
}

// TestBrowserSocketNoticeShot shows the reconnecting notice (the server is
// gone) at both widths, light and dark.
func TestBrowserSocketNoticeShot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []testhost.Action{hello()}, nil)
	e.login()
	e.navigate("/actions/hello")
	e.waitText(field("Your name", ".field-label"), "Your name")
	// The server closes the socket (too many calls), and the console
	// cannot reconnect: every new socket fails at once.
	e.do(chromedp.Evaluate[chromedp.Void](`(() => {
		const s = window.__intervalSocket, ws = s.ws
		s.url = "ws://127.0.0.1:1/websocket"
		for (let i = 0; i < 250; i++) ws.send(JSON.stringify({type: "MESSAGE", id: "flood-" + i, data: JSON.stringify({id: "f" + i, kind: "CALL", methodName: "NO_SUCH_METHOD"})}))
	})()`))
	e.waitText("[data-testid=socket-reconnecting]", "Reconnecting")
	// Failed attempts (1006) keep the reason of the close that dropped it.
	e.waitJS(`window.__intervalSocket.attempt >= 2`, "a failed reconnection attempt")
	e.waitText("[data-testid=socket-reconnecting]", "Rate limit exceeded.")
	e.shot("socket-reconnecting")
	e.shotDark("socket-reconnecting")
}

// TestBrowserRespondRefused: the server answers RESPOND_TO_IO_CALL false
// (here: the answer names another transaction, as a stale or foreign
// answer does); the operator sees why next to the form, which stays
// usable, and submitting again works.
func TestBrowserRespondRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []testhost.Action{hello()}, nil)
	e.login()
	e.navigate("/actions/hello")
	e.waitText(field("Your name", ".field-label"), "Your name")
	// The next answer names another transaction: the real server refuses it.
	e.do(chromedp.Evaluate[chromedp.Void](`(() => {
		const s = window.__intervalSocket, call = s.call.bind(s)
		let once = true
		s.call = (m, d, o) => {
			if (m === "RESPOND_TO_IO_CALL" && once) {
				once = false
				const r = JSON.parse(d.ioResponse); r.transactionId = "someone-else"
				d = {...d, ioResponse: JSON.stringify(r)}
			}
			return call(m, d, o)
		}
	})()`))
	e.typeInto(field("Your name", "input"), "Ada")
	e.clickButton("Continue")
	e.waitText("[data-testid=respond-error]", "did not accept")
	e.waitJS(`!document.querySelector("form.io-form button[type=submit]").disabled`, "the form to be usable")
	e.waitNoText(".run", "Submitting")
	e.shot("respond-refused")
	e.clickButton("Continue")
	e.waitText("[data-testid=result]", "Hello, Ada!")
	e.waitJS(`!document.querySelector("[data-testid=respond-error]")`, "the message to go")
}

// TestBrowserPhoneTabsAndTips: on a 390 px phone every Settings tab is in
// view without scrolling sideways, and a field's "i" tooltip stays on the
// screen even when the icon is near its right edge.
func TestBrowserPhoneTabsAndTips(t *testing.T) {
	t.Parallel()
	act := testhost.Action{Slug: "refund", Name: "Refund", Handler: func(ctx context.Context, t *testhost.Tx) (any, error) {
		_, err := t.IO([]*testhost.Comp{{Method: "INPUT_NUMBER", Label: "Amount to refund to the customer's card",
			Props: map[string]any{"min": 1, "max": 5000, "decimals": 2}}}, testhost.CallOptions{})
		return nil, err
	}}
	e := newEnv(t, []testhost.Action{act}, nil)
	e.login()
	e.navigate("/settings/account")
	e.waitText(".tabs", "Serverless hosts")
	e.do(chromedp.EmulateViewport(390, 844))
	e.settle()
	const hidden = `[...document.querySelectorAll(".tabs .tab")].filter(el => { const r = el.getBoundingClientRect(), n = el.parentElement.getBoundingClientRect(); return r.left < n.left - 1 || r.right > n.right + 1 }).map(el => el.innerText).join(", ")`
	if got := eval[string](e, hidden); got != "" {
		t.Errorf("Settings tabs cut off at 390 px: %s", got)
	}
	e.do(chromedp.EmulateViewport(1280, 900))
	e.shot("settings-tabs")
	e.shotDark("settings-tabs")

	e.navigate("/actions/refund")
	tip := field("Amount to refund to the customer's card", ".info")
	e.waitJS(`document.querySelector(`+js(tip)+`)`, "the info icon")
	e.do(chromedp.EmulateViewport(390, 844))
	e.settle()
	e.do(chromedp.Evaluate[chromedp.Void](`document.querySelector(` + js(tip) + `).focus()`))
	e.waitJS(`getComputedStyle(document.querySelector(`+js(tip+" .tip")+`)).display !== "none"`, "the tooltip")
	r := eval[[]float64](e, `(() => { const r = document.querySelector(`+js(tip+" .tip")+`).getBoundingClientRect(); return [r.left, r.right, document.documentElement.clientWidth] })()`)
	if r[0] < 0 || r[1] > r[2] {
		t.Errorf("tooltip runs off the 390 px screen: left %.0f, right %.0f, width %.0f", r[0], r[1], r[2])
	}
	e.shotViewport("info-tip-390")
	e.do(chromedp.EmulateViewport(1280, 900))
}
