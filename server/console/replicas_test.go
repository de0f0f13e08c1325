package console_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/interval-go/sdk/internal/balancer"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/router"
	"github.com/interval-go/sdk/server"
	"github.com/interval-go/sdk/server/store/pgtest"
)

var serverBin struct {
	once sync.Once
	path string
	err  error
}

// serverBinary builds cmd/interval-server once per test binary.
func serverBinary(t *testing.T) string {
	t.Helper()
	serverBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "interval-server-replicas-")
		if err != nil {
			serverBin.err = err
			return
		}
		serverBin.path = filepath.Join(dir, "interval-server")
		out, err := exec.Command("go", "build", "-o", serverBin.path, "../../cmd/interval-server").CombinedOutput()
		if err != nil {
			serverBin.err = errors.New(string(out))
		}
	})
	if serverBin.err != nil {
		t.Fatalf("building interval-server: %v", serverBin.err)
	}
	return serverBin.path
}

// replicaProc is one interval-server process.
type replicaProc struct {
	cmd  *exec.Cmd
	url  string
	addr string
	done chan struct{}
}

var serverURLLine = regexp.MustCompile(`Interval server: (http://[^ ]+)`)

// startReplica starts interval-server on database dbURL with a short
// replica lease, ended (SIGTERM) by the test's cleanup unless killed.
func startReplica(t *testing.T, bin, dbURL string) *replicaProc {
	t.Helper()
	cmd := exec.Command(bin, "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--database-url", dbURL, "--replica-lease", "2s")
	cmd.Env = os.Environ()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &testWriter{t: t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &replicaProc{cmd: cmd, done: make(chan struct{})}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := serverURLLine.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case p.url = <-urls:
	case <-p.done:
		t.Fatal("interval-server exited before serving")
	case <-time.After(waitLimit):
		t.Fatal("interval-server did not start")
	}
	p.addr = strings.TrimPrefix(p.url, "http://")
	return p
}

// kill9 ends the process with SIGKILL: no shutdown, no lease released.
func (p *replicaProc) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// testWriter logs a process's stderr lines in the test's log when -v.
type testWriter struct {
	t  *testing.T
	mu sync.Mutex
}

func (w *testWriter) Write(b []byte) (int, error) {
	if testing.Verbose() {
		w.mu.Lock()
		w.t.Logf("%s", strings.TrimRight(string(b), "\n"))
		w.mu.Unlock()
	}
	return len(b), nil
}

// failover starts a balancer that sends each connection to the first of
// backends that accepts it, closed with the test.
func failover(t *testing.T, backends ...string) string {
	t.Helper()
	lb, err := balancer.Start(balancer.Failover, backends...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lb.Close)
	return lb.Addr()
}

// TestBrowserReplicasKill9 runs three interval-server processes on one
// PostgreSQL database: a Go SDK host on the second (behind a load balancer
// that fails over to the first), the official Node SDK host on the third
// and the operator's browser on the first. The operator runs the Node
// host's action and the Go host's; the Go host's replica is killed with
// SIGKILL while its run waits on the operator, and the run completes
// through another replica.
func TestBrowserReplicasKill9(t *testing.T) {
	t.Parallel()
	bin := serverBinary(t)
	dbURL := pgtest.NewDatabase(t)
	ctx := context.Background()
	adm, err := server.New(ctx, server.Options{DataDir: t.TempDir(), DatabaseURL: dbURL, AdminOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	link, err := adm.CreateUser(ctx, opEmail, "admin", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	key, err := adm.CreateAPIKey(ctx, opEmail, "development")
	if err != nil {
		t.Fatal(err)
	}
	adm.Close()
	r1 := startReplica(t, bin, dbURL)
	r2 := startReplica(t, bin, dbURL)
	r3 := startReplica(t, bin, dbURL)

	r := router.New()
	r.Action("two_steps", func(ctx context.Context, tx *interval.Tx) (any, error) {
		name, err := tx.IO.Input.Text("Name").Run(ctx)
		if err != nil {
			return nil, err
		}
		word, err := tx.IO.Input.Text("Confirm word").Run(ctx)
		if err != nil {
			return nil, err
		}
		return map[string]any{"greeting": name + " confirmed " + word}, nil
	}, router.Name("Two steps"))
	lb := failover(t, r2.addr, r1.addr)
	c, err := interval.New(interval.Options{APIKey: key, Endpoint: "ws://" + lb + "/websocket", Routes: r,
		RetryInterval: 250 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	hctx, stop := context.WithCancel(ctx)
	listened := make(chan error, 1)
	go func() { listened <- c.Listen(hctx) }()
	t.Cleanup(func() {
		stop()
		<-listened
	})
	runNodeHost(t, "host.js", "ws://"+r3.addr+"/websocket", key)

	if strings.HasPrefix(link, "/") {
		link = r1.url + link
	} else if i := strings.Index(link, "/login"); i >= 0 {
		link = r1.url + link[i:]
	}
	e := &env{t: t, url: r1.url, loginLink: link}
	openTab(t, e)
	e.do(chromedp.Navigate(e.loginLink))
	e.waitJS(`location.pathname !== "/login/link"`, "the login link")
	e.navigate("/")
	e.waitText(".brand-name", server.DefaultOrgName)

	// The Node host's action, served on the third replica.
	e.waitText(".cards", "Node greet")
	e.clickButton("Node greet")
	e.waitText("h1", "Node greet")
	e.typeInto(field("Your name", "input"), "Ada")
	e.clickButton("Continue")
	e.waitText("[data-testid=result]", "Completed")
	e.waitText("[data-testid=result]", "Ada")

	// The Go host's action, served on the second replica, which dies
	// while the run waits on its second step.
	e.navigate("/")
	e.waitText(".cards", "Two steps")
	e.clickButton("Two steps")
	e.waitText("h1", "Two steps")
	e.typeInto(field("Name", "input"), "Grace")
	e.clickButton("Continue")
	e.waitText("label", "Confirm word")
	r2.kill9(t)
	// The host reconnects through the load balancer to the first
	// replica, and the console, told that the server holding the run is
	// gone, reconnects and shows the step again. An answer given in
	// between (before the lease of the dead replica ran out) does not go
	// through: the operator answers again, as they would.
	completed := `[...document.querySelectorAll('[data-testid=result]')].some(el => el.innerText.includes('Completed'))`
	for attempt := 0; ; attempt++ {
		if attempt == 20 {
			t.Fatalf("the run never completed after its replica died\n%s", e.pageText())
		}
		e.waitJS(`(`+completed+`) || !!document.querySelector('input:not([disabled])')`, "the step or the result")
		if eval[bool](e, completed) {
			break
		}
		e.replaceInto(field("Confirm word", "input"), "twice")
		e.clickButton("Continue")
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) && !eval[bool](e, completed) {
			time.Sleep(100 * time.Millisecond)
		}
		if eval[bool](e, completed) {
			break
		}
	}
	e.waitText("[data-testid=result]", "Grace confirmed twice")
}
