package console_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// startNodeHost runs the official @interval/sdk 2.0.0 host of the server's
// interop test (server/testdata/nodehost) against e.
func startNodeHost(t *testing.T, e *env) {
	t.Helper()
	dir, _ := filepath.Abs(filepath.Join("..", "testdata", "nodehost"))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@interval", "sdk")); err != nil {
		t.Fatalf("run `npm ci` in %s first (scripts/test does)", dir)
	}
	key, err := e.srv.CreateAPIKey(context.Background(), opEmail, "development")
	if err != nil {
		t.Fatal(err)
	}
	runNodeHost(t, "host.js", "ws"+strings.TrimPrefix(e.url, "http")+"/websocket", key)
}

// runNodeHost runs script of server/testdata/nodehost (a host built with
// the official Node SDK) against endpoint with key, until the test ends;
// it returns once the script printed LISTENING.
func runNodeHost(t *testing.T, script, endpoint, key string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("Node.js is required: the console must work with the official Node SDK as a host")
	}
	dir, _ := filepath.Abs(filepath.Join("..", "testdata", "nodehost"))
	cmd := exec.Command(node, script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ENDPOINT="+endpoint, "API_KEY="+key)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan bool, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			if !sent && sc.Text() == "LISTENING" {
				listening <- true
				sent = true
			}
		}
		if !sent {
			listening <- false
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT) // safelyClose
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		cmd.Wait()
	})
	select {
	case ok := <-listening:
		if !ok {
			t.Fatal("the Node host exited before listening")
		}
	case <-time.After(waitLimit):
		t.Fatal("the Node host did not connect")
	}
}

// TestBrowserNodeHost runs an action and a page of a host built with the
// official Node SDK 2.0.0: validation, a table paged through SET_STATE after
// the action ended (append UI), the result, and a page layout; then the
// operator's main flow (operatorFlow), as with the Go SDK host.
func TestBrowserNodeHost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	startNodeHost(t, e)
	e.login()
	e.waitText(".cards", "Node greet")
	e.clickButton("Node greet")
	e.waitText("h1", "Node greet")
	e.typeInto(field("Your name", "input"), "A")
	e.clickButton("Continue")
	e.waitText(field("Your name", ".field-error"), "at least 2 characters")
	e.typeInto(field("Your name", "input"), "da")
	e.clickButton("Continue")
	e.waitText("[data-testid=result]", "Completed")
	e.waitText("[data-testid=result]", "Ada")
	e.waitText("[data-label=Users] .pager-text", "1 – 10 of 30")
	e.do(chromedp.Click(chromedp.CSS(`[data-label=Users] button[aria-label="Next page of Users"]`), chromedp.NodeVisible))
	e.waitText("[data-label=Users] .pager-text", "11 – 20 of 30")
	e.waitText("[data-label=Users] tbody", "user11@example.com")
	e.shot("node-host")

	e.navigate("/pages/node_dashboard")
	e.waitText("h1", "Node dashboard")
	e.waitText(".prose strong", "Node")

	operatorFlow(t, e, "node-host")
}
