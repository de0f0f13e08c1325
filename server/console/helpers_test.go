package console_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"

	"github.com/interval-go/sdk/server"
	"github.com/interval-go/sdk/server/console/internal/testhost"
	"github.com/interval-go/sdk/server/store/pgtest"
)

const (
	opEmail    = "operator@example.com"
	opPassword = "correct-horse-battery"
	chromium   = "/usr/bin/chromium"
	waitLimit  = 20 * time.Second
)

// env is one server, one host and one browser tab, all ended by the test's
// cleanup.
type env struct {
	t         *testing.T
	srv       *server.Server
	url       string
	host      *testhost.Host
	key       string          // the host's development API key
	ctx       context.Context // the browser tab
	loginLink string          // the operator's one-time login link
}

// One browser serves every test; each test gets its own browser context
// (cookies, storage) and tab. TestMain closes it and then checks for leaked
// goroutines.
var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserCancel context.CancelFunc = func() {}
	browserErr    error
)

func browser(t *testing.T, exec string) context.Context {
	t.Helper()
	browserOnce.Do(func() {
		// Chromium once failed to start here and at once (no output),
		// while another test binary's Chromium was closing: a second try
		// starts it.
		for try := 1; ; try++ {
			browserErr = startBrowser(exec)
			if browserErr == nil || try == 3 {
				return
			}
			fmt.Fprintf(os.Stderr, "starting %s (try %d): %v; trying again\n", exec, try, browserErr)
			time.Sleep(time.Second)
		}
	})
	if browserErr != nil {
		t.Fatalf("starting %s: %v", exec, browserErr)
	}
	return browserCtx
}

// startBrowser starts the browser the tests share (browserCtx).
func startBrowser(exec string) error {
	dir, err := os.MkdirTemp("", "console-chromium-")
	if err != nil {
		return err
	}
	// chromedp's defaults (headless, no background throttling: the
	// tests run several tabs at once and a throttled tab stalls), then
	// what CI needs.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exec), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(dir),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("hide-scrollbars", true), chromedp.Flag("mute-audio", true),
		chromedp.WindowSize(1280, 900))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	browserCtx = bctx
	browserCancel = func() {
		bcancel()
		acancel()
		os.RemoveAll(dir)
	}
	// The first action starts the browser: it runs on the browser's own
	// context (a derived context with a deadline would end the browser).
	if err := chromedp.Do(bctx); err != nil {
		browserCancel()
		browserCancel = func() {}
		return err
	}
	return nil
}

func TestMain(m *testing.M) {
	// Browser tests mostly wait on the browser and the sockets: run a few
	// more at once than there are CPUs, unless -parallel was given.
	flag.Parse()
	if f := flag.Lookup("test.parallel"); f != nil && f.Value.String() == fmt.Sprint(runtime.GOMAXPROCS(0)) {
		f.Value.Set(fmt.Sprint(max(4, runtime.GOMAXPROCS(0))))
	}
	code := m.Run()
	browserCancel()
	pgtest.StopShared()
	if code == 0 {
		if err := goleak.Find(goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
			goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop")); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("INTERVAL_CHROMIUM")
	if p == "" {
		p = os.Getenv("CHROME_PATH") // scripts/test
	}
	if p == "" {
		p = chromium
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("browser tests need Debian's chromium at %s (apt-get install chromium), or INTERVAL_CHROMIUM/CHROME_PATH: %v", p, err)
	}
	return p
}

// newEnv starts a server with an operator who has no password (login uses a
// one-time link: bcrypt is slow under -race) and, when actions or pages are
// given, a host serving them.
func newEnv(t *testing.T, actions []testhost.Action, pages []testhost.Page) *env {
	t.Helper()
	return startEnv(t, actions, pages, false, nil)
}

// newEnvWithPassword is newEnv for tests that need the operator's password
// (opPassword).
func newEnvWithPassword(t *testing.T, actions []testhost.Action, pages []testhost.Page) *env {
	t.Helper()
	return startEnv(t, actions, pages, true, nil)
}

// newEnvWith is newEnv with server options changed by opt (after the
// helper's own).
func newEnvWith(t *testing.T, actions []testhost.Action, pages []testhost.Page, password bool, opt func(*server.Options)) *env {
	t.Helper()
	return startEnv(t, actions, pages, password, opt)
}

func startEnv(t *testing.T, actions []testhost.Action, pages []testhost.Page, password bool, opt func(*server.Options)) *env {
	t.Helper()
	chromiumPath(t) // fails at once without a browser
	ctx := context.Background()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	public := "http://" + ln.Addr().String()
	opts := server.Options{DataDir: t.TempDir(), PublicURL: public, OrgName: "Acme Corp"}
	if opt != nil {
		opt(&opts)
	}
	srv, err := server.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv)
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	t.Cleanup(func() {
		start := time.Now()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Errorf("server shutdown: %v", err)
		}
		hs.Close()
		t.Logf("server closed in %v", time.Since(start))
	})
	pw := ""
	if password {
		pw = opPassword
	}
	link, err := srv.CreateUser(ctx, opEmail, "admin", pw, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: srv, url: public, loginLink: link}
	if actions != nil || pages != nil {
		key, err := srv.CreateAPIKey(ctx, opEmail, "development")
		if err != nil {
			t.Fatal(err)
		}
		h, err := testhost.Start(ctx, testhost.Options{Endpoint: "ws://" + ln.Addr().String() + "/websocket", APIKey: key, Actions: actions, Pages: pages})
		if err != nil {
			t.Fatal(err)
		}
		e.host = h
		e.key = key
		t.Cleanup(h.Close)
	}

	openTab(t, e)
	return e
}

// openTab gives e a browser tab of its own, ended by the test's cleanup;
// every uncaught exception and console error of its pages fails the test.
func openTab(t *testing.T, e *env) {
	t.Helper()
	tctx, tcancel := chromedp.NewContext(browser(t, chromiumPath(t)), chromedp.WithNewBrowserContext())
	e.ctx = tctx
	if err := chromedp.Do(tctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		tcancel()
		t.Fatalf("opening a tab: %v", err)
	}
	// Tabs run side by side: each must behave as the focused one (keyboard
	// events, focus, autofocus).
	if _, err := chromedp.Call(tctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		tcancel()
		t.Fatalf("focus emulation: %v", err)
	}
	// Every uncaught exception and console.error of the page fails the test.
	var (
		mu       sync.Mutex
		problems []string
		wg       sync.WaitGroup
	)
	msgs := chromedp.Console(tctx)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type != chromedp.ConsoleException && m.Type != chromedp.ConsoleError {
				continue
			}
			// Network errors are expected (401s, a deliberately broken image,
			// sockets closed by the tests); they are not page errors.
			if strings.Contains(m.Text, "Failed to load resource") || strings.Contains(m.Text, "WebSocket") {
				continue
			}
			mu.Lock()
			problems = append(problems, fmt.Sprintf("%s: %s %s:%d", m.Type, m.Text, m.URL, m.Line))
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("browser console: %s", p)
		}
	})
	t.Cleanup(tcancel)
}

// do runs browser actions with a deadline, failing the test on error.
func (e *env) do(actions ...chromedp.Action[chromedp.Void]) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, waitLimit)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		e.t.Fatalf("browser: %v\n%s", err, e.pageText())
	}
}

func (e *env) pageText() string {
	ctx, cancel := context.WithTimeout(e.ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return "(page text unavailable: " + err.Error() + ")"
	}
	if len(s) > 3000 {
		s = s[:3000] + "…"
	}
	return "page text:\n" + s
}

// eval evaluates a JS expression.
func eval[T any](e *env, expr string) T {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, waitLimit)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		e.t.Fatalf("eval %s: %v", expr, err)
	}
	return v
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// waitJS waits until the JS expression is truthy.
func (e *env) waitJS(expr, what string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, waitLimit)
	defer cancel()
	guarded := "(() => { try { return !!(" + expr + ") } catch (e) { return false } })()"
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](guarded, chromedp.WithPollingInterval(50*time.Millisecond)))
		if err == nil {
			return
		}
		// A navigation that commits while the poll runs (a leave prompt
		// accepted late, say) destroys the page's context: the condition
		// is then waited for on the new page.
		if ctx.Err() == nil && (strings.Contains(err.Error(), "Cannot find context with specified id") || strings.Contains(err.Error(), "Execution context was destroyed")) {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		e.t.Fatalf("waiting for %s: %v\n%s", what, err, e.pageText())
	}
}

// waitText waits until the element matched by css contains text.
func (e *env) waitText(css, text string) {
	e.t.Helper()
	e.waitJS(fmt.Sprintf(`(() => { const els = document.querySelectorAll(%s); return [...els].some(el => el.innerText.includes(%s)) })()`, js(css), js(text)),
		fmt.Sprintf("%q in %s", text, css))
}

// waitNoText waits until no element matched by css contains text.
func (e *env) waitNoText(css, text string) {
	e.t.Helper()
	e.waitJS(fmt.Sprintf(`(() => { const els = document.querySelectorAll(%s); return ![...els].some(el => el.innerText.includes(%s)) })()`, js(css), js(text)),
		fmt.Sprintf("no %q in %s", text, css))
}

// text returns the innerText of the first element matched by css.
func (e *env) text(css string) string {
	e.t.Helper()
	e.waitJS(fmt.Sprintf(`!!document.querySelector(%s)`, js(css)), css)
	return eval[string](e, fmt.Sprintf(`document.querySelector(%s).innerText`, js(css)))
}

// clickButton clicks the visible button (or link) whose text starts with label.
func (e *env) clickButton(label string) {
	e.t.Helper()
	e.do(chromedp.Click(fmt.Sprintf(`//*[self::button or self::a][starts-with(normalize-space(.), %s)]`, xq(label)), chromedp.NodeVisible))
}

func xq(s string) string {
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return `'` + s + `'`
}

// field returns the CSS selector of the control of the field labelled label.
func field(label, control string) string {
	return fmt.Sprintf(`.field[data-label=%s] %s`, js(label), control)
}

func (e *env) typeInto(css, text string) {
	e.t.Helper()
	e.do(chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible), chromedp.SendKeys(chromedp.CSS(css), text))
}

func (e *env) navigate(path string) {
	e.t.Helper()
	e.do(chromedp.Navigate(e.url + path))
}

// login logs the operator in with the one-time login link (TestBrowserLogin
// covers the form) and opens the dashboard.
func (e *env) login() {
	e.t.Helper()
	e.do(chromedp.Navigate(e.loginLink))
	e.waitJS(`location.pathname !== "/login/link"`, "the login link")
	e.navigate("/")
	e.waitText(".brand-name", "Acme Corp")
}

// shot saves a full-page screenshot at both widths into the artifacts
// directory ($INTERVAL_ARTIFACTS, default artifacts/screenshots at the
// repository root) and restores the desktop viewport.
func (e *env) shot(name string) {
	e.t.Helper()
	e.shotAt(name, []viewport{{1280, 900, "1280"}, {390, 844, "390"}}, nil)
}

type viewport struct {
	width, height int64
	suffix        string
}

// shotPhone saves a 390 px screenshot after running before (say, opening
// the navigation drawer) at that width.
func (e *env) shotPhone(name string, before func()) {
	e.t.Helper()
	e.shotAt(name, []viewport{{390, 844, "390"}}, before)
}

func (e *env) shotAt(name string, sizes []viewport, before func()) {
	e.t.Helper()
	dir := os.Getenv("INTERVAL_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	for _, w := range sizes {
		e.do(chromedp.EmulateViewport(w.width, w.height))
		if before != nil {
			before()
		}
		// Let layout settle after the resize: wait two animation frames.
		e.settle()
		// Nothing may stick out sideways: the page must not scroll
		// horizontally (wide tables scroll inside their own box).
		if over := eval[string](e, overflowJS); over != "" {
			e.t.Errorf("%s at %dpx: the page is wider than the screen: %s", name, w.width, over)
		}
		ctx, cancel := context.WithTimeout(e.ctx, waitLimit)
		img, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			e.t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-"+w.suffix+".png"), img, 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	e.do(chromedp.EmulateViewport(1280, 900))
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func (e *env) clickAccountMenu() {
	e.t.Helper()
	e.do(chromedp.Click(chromedp.CSS(".avatar-btn"), chromedp.NodeVisible))
}

// replaceInto replaces the text of an input by typing over its selection.
func (e *env) replaceInto(css, text string) {
	e.t.Helper()
	e.waitJS(fmt.Sprintf(`(() => { const el = document.querySelector(%s); if (!el) return false; el.focus(); el.select(); return true })()`, js(css)), css)
	e.do(chromedp.SendKeys(chromedp.CSS(css), text))
}

// shotDark saves a screenshot with prefers-color-scheme: dark.
func (e *env) shotDark(name string) {
	e.t.Helper()
	scheme := func(v string) {
		if _, err := chromedp.Call(e.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}}); err != nil {
			e.t.Fatalf("emulating %s: %v", v, err)
		}
	}
	scheme("dark")
	e.shot(name + "-dark")
	scheme("light")
}

// shotViewport saves a screenshot of the viewport as it is (size, scroll
// position, open popovers), for popovers that a full-page screenshot would
// close or move.
func (e *env) shotViewport(name string) {
	e.t.Helper()
	dir := os.Getenv("INTERVAL_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, waitLimit)
	defer cancel()
	img, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		e.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), img, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// waitScrollStill waits until the page has stopped scrolling (a smooth
// scroll moves what a click aims at).
func (e *env) waitScrollStill() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, waitLimit)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`new Promise(r => { let y = -1; const f = () => { if (scrollY === y) r(true); else { y = scrollY; setTimeout(f, 150) } }; f() })`, chromedp.EvalAwaitPromise)); err != nil {
		e.t.Fatalf("waiting for the page to stop scrolling: %v", err)
	}
}

// acceptDialogs makes the tab accept every JavaScript dialog from now on
// (such as the browser's leave prompt before an unload).
func (e *env) acceptDialogs() {
	e.t.Helper()
	if err := chromedp.Listen(e.ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			go chromedp.Call(e.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}); err != nil {
		e.t.Fatalf("listening for dialogs: %v", err)
	}
}

// settle waits two animation frames, for layout after a resize.
func (e *env) settle() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, waitLimit)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, chromedp.EvalAwaitPromise)); err != nil {
		e.t.Fatalf("settle: %v", err)
	}
}

// overflowJS lists the outermost elements that stick out of the viewport
// when the document is wider than it.
const overflowJS = `(() => {
	const W = document.documentElement.clientWidth
	if (document.documentElement.scrollWidth <= W + 1) return ""
	const out = []
	for (const el of document.querySelectorAll("body *")) {
		const r = el.getBoundingClientRect()
		if (r.right <= W + 1 || r.width === 0) continue
		const pos = getComputedStyle(el).position
		let clipped = false
		if (pos !== "absolute" && pos !== "fixed") for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
			const o = getComputedStyle(p).overflowX
			if (o === "auto" || o === "hidden" || o === "scroll") { clipped = true; break }
			if (p.getBoundingClientRect().right > W + 1) { clipped = true; break }
		}
		if (!clipped) out.push(el.tagName.toLowerCase() + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "") + " right=" + Math.round(r.right) + " " + pos)
	}
	return out.slice(0, 5).join(", ") || "document scrollWidth " + document.documentElement.scrollWidth
})()`

// download runs act, which makes the console save a file (lib/download.js),
// and returns the file's text and name instead of saving it.
func (e *env) download(act func()) (text, name string) {
	e.t.Helper()
	e.do(chromedp.Evaluate[chromedp.Void](`window.__dl = null; window.__dlName = ""; const mk = URL.createObjectURL, click = HTMLAnchorElement.prototype.click;
		URL.createObjectURL = b => { b.text().then(t => { window.__dl = t }); return mk(b) };
		HTMLAnchorElement.prototype.click = function () { if (this.download) window.__dlName = this.download; else click.call(this) }`))
	act()
	e.waitJS(`window.__dl !== null`, "the downloaded file")
	return eval[string](e, `window.__dl`), eval[string](e, `window.__dlName`)
}
