package console_test

import (
	"strings"
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
	// Every connection of the browser goes through the proxy; the host
	// connects directly.
	proxy, err := faultproxy.New("127.0.0.1:9") // its target is set once the server listens
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	var direct string
	e := newEnvWith(t, []testhost.Action{hello()}, nil, false, func(o *server.Options) {
		direct = strings.TrimPrefix(o.PublicURL, "http://")
		o.PublicURL = "http://" + proxy.Addr()
	})
	proxy.SetTarget(direct)
	e.url = "http://" + proxy.Addr()

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
