package console_test

import (
	"strings"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/faultproxy"
	"github.com/interval-go/sdk/server"
	"github.com/interval-go/sdk/server/console/internal/testhost"
)

// TestBrowserSocketStalls freezes the console's connection as the operator
// answers: the network path dies without a close (a NAT or load balancer
// that forgot the connection, a laptop that changed networks), so the
// browser's writes succeed and nothing arrives, while new connections work.
// The console must notice that the server acknowledges nothing, give the
// socket up and reconnect on a new connection; the answer, which never
// reached the server, is then asked again, and the run completes. (It kept
// the dead socket as "open" for good: the answer failed after 10 s with
// "Timed out waiting for the server", and so did every later one.)
func TestBrowserSocketStalls(t *testing.T) {
	t.Parallel()
	e, proxy := proxiedEnv(t, hello())
	e.login()
	e.navigate("/actions/hello")
	e.waitText(field("Your name", ".field-label"), "Your name")
	e.waitJS(`(window.__frozenSocket = window.__intervalSocket.ws) && window.__intervalSocket.status === "open"`, "the socket to open")
	before := len(proxy.Conns())
	for _, c := range proxy.Conns() {
		c.Freeze()
	}
	e.typeInto(field("Your name", "input"), "Ada")
	e.clickButton("Continue")
	start := time.Now()

	// The console gives the frozen socket up and opens another.
	e.waitJS(`window.__intervalSocket.ws !== window.__frozenSocket && window.__intervalSocket.status === "open"`,
		"the console to give its frozen socket up and open another")
	t.Logf("the console replaced its frozen socket after %v", time.Since(start).Round(100*time.Millisecond))
	if n := len(proxy.Conns()); n <= before {
		t.Fatalf("%d connections through the proxy after the reconnection, %d before: the console did not open a new one", n, before)
	}
	// The answer never reached the server: asked again, saying why.
	e.waitText("[data-testid=respond-error]", "did not reach the server")
	e.clickButton("Continue")
	e.waitText("[data-testid=result]", "Hello, Ada!")
}

// proxiedEnv starts a console test server whose browser connections all go
// through a fault proxy (the host connects directly).
func proxiedEnv(t *testing.T, actions ...testhost.Action) (*env, *faultproxy.Proxy) {
	t.Helper()
	proxy, err := faultproxy.New("127.0.0.1:9") // its target is set once the server listens
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	var direct string
	e := newEnvWith(t, actions, nil, false, func(o *server.Options) {
		direct = strings.TrimPrefix(o.PublicURL, "http://")
		o.PublicURL = "http://" + proxy.Addr()
	})
	proxy.SetTarget(direct)
	e.url = "http://" + proxy.Addr()
	return e, proxy
}

// TestBrowserAPIStalls freezes the browser's connections to the server (as
// TestBrowserSocketStalls) before the operator starts an action: the
// request that creates the run goes out on a connection the browser keeps
// open, and is never answered. The console must say so in bounded time
// (API_TIMEOUT) rather than show "Starting…" for good (it did); started
// again once those connections are closed, the run completes.
func TestBrowserAPIStalls(t *testing.T) {
	t.Parallel()
	e, proxy := proxiedEnv(t, hello())
	e.login()
	e.waitText(".action-card", "Hello, world")
	e.waitJS(`window.__intervalSocket.status === "open"`, "the socket to open")
	frozen := proxy.Conns()
	for _, c := range frozen {
		c.Freeze()
	}
	t.Logf("%d connections frozen", len(frozen))
	start := time.Now()
	e.do(chromedp.Click(`a.action-card[href="/actions/hello"]`, chromedp.NodeVisible))
	e.waitText(".loading-label", "Starting")
	e.waitText(".alert-danger", "did not answer")
	t.Logf("the console said the server did not answer after %v", time.Since(start).Round(100*time.Millisecond))
	// The dead connections are closed at last (the browser would try each
	// idle one in turn, each failing after the timeout): started again,
	// the run completes.
	for _, c := range frozen {
		c.Cut()
	}
	e.clickButton("New transaction")
	e.waitText(field("Your name", ".field-label"), "Your name")
	e.typeInto(field("Your name", "input"), "Ada")
	e.clickButton("Continue")
	e.waitText("[data-testid=result]", "Hello, Ada!")
}

// TestBrowserSocketSurvivesAPause freezes the page (as a browser freezes a
// background tab) just after the console sent a message, for longer than
// the console waits for its ACK (TestBrowserSocketStalls). The ACK came
// during the pause; on waking, the console must read it rather than take
// the server for unresponsive and drop a healthy socket.
func TestBrowserSocketSurvivesAPause(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []testhost.Action{hello()}, nil)
	e.login()
	e.navigate("/actions/hello")
	e.waitText(field("Your name", ".field-label"), "Your name")
	e.waitJS(`(window.__pausedSocket = window.__intervalSocket.ws) && window.__intervalSocket.status === "open"`, "the socket to open")
	e.do(chromedp.Evaluate[chromedp.Void](`void window.__intervalSocket.sendMessage("ping").catch(() => {})`))
	lifecycle(t, e, page.SetWebLifecycleStateStateFrozen)
	time.Sleep(11 * time.Second) // past ACK_TIMEOUT
	lifecycle(t, e, page.SetWebLifecycleStateStateActive)
	time.Sleep(2 * time.Second)
	if !eval[bool](e, `window.__intervalSocket.ws === window.__pausedSocket`) {
		t.Fatal("the console dropped a socket whose server had acknowledged its message during a pause")
	}
	e.typeInto(field("Your name", "input"), "Ada")
	e.clickButton("Continue")
	e.waitText("[data-testid=result]", "Hello, Ada!")
}

// lifecycle moves e's page to a web lifecycle state (frozen: no task of the
// page runs; active).
func lifecycle(t *testing.T, e *env, state page.SetWebLifecycleStateState) {
	t.Helper()
	if _, err := chromedp.Call(e.ctx, page.SetWebLifecycleState, page.SetWebLifecycleStateParams{State: state}); err != nil {
		t.Fatalf("page lifecycle %s: %v", state, err)
	}
}

// TestBrowserSocketOpensPastAStall drops the console's socket while the
// network path takes new connections and carries nothing (a load balancer
// whose backend hangs, a path that came back half): the console's next
// socket hangs in its opening. Once new connections work again, the
// console must be back within its opening timeout, not when the browser
// gives the hung one up minutes later (it was not: the console showed
// "Reconnecting" for good while the server was reachable).
func TestBrowserSocketOpensPastAStall(t *testing.T) {
	t.Parallel()
	e, proxy := proxiedEnv(t, hello())
	e.login()
	e.navigate("/actions/hello")
	e.waitText(field("Your name", ".field-label"), "Your name")
	e.waitJS(`(window.__droppedSocket = window.__intervalSocket.ws) && window.__intervalSocket.status === "open"`, "the socket to open")
	proxy.FreezeNew(true)
	proxy.CutAll()
	e.waitJS(`window.__intervalSocket.ws && window.__intervalSocket.ws !== window.__droppedSocket && window.__intervalSocket.ws.readyState === WebSocket.CONNECTING`,
		"the console to try another socket")
	time.Sleep(time.Second) // its connection is accepted frozen
	proxy.FreezeNew(false)
	back := time.Now()
	deadline := back.Add(30 * time.Second)
	for !eval[bool](e, `window.__intervalSocket.status === "open"`) {
		if time.Now().After(deadline) {
			t.Fatalf("the console was not back %v after new connections worked again\n%s", time.Since(back).Round(time.Second), e.pageText())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("the console was back %v after new connections worked again", time.Since(back).Round(100*time.Millisecond))
	e.typeInto(field("Your name", "input"), "Ada")
	e.clickButton("Continue")
	e.waitText("[data-testid=result]", "Hello, Ada!")
}
