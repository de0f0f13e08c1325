package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/interval-go/sdk/bench/internal/procstat"
	"github.com/interval-go/sdk/interval"
)

// hostSet is the hosts the program runs for the load: Go SDK hosts in this
// process (hosts) or hosts in processes of their own (procHosts).
type hostSet interface {
	// stop closes the hosts and waits for them.
	stop()
	// cpu returns the CPU seconds the hosts' own processes have used, and
	// false when the hosts run in this process (their CPU is the driver's).
	cpu() (float64, bool)
}

// cpu reports that Go SDK hosts run in the driver's process.
func (h *hosts) cpu() (float64, bool) { return 0, false }

// hostReady is how long a host in a process of its own may take to start
// and connect.
const hostReady = 30 * time.Second

// procHosts are hosts each in a process of its own, with one client and
// one host socket, serving the same action as the Go hosts of this
// process: official Node SDK hosts (@interval/sdk 2.0.0 running
// nodehost/host.js, -sdk node) or this program's Go host run again in the
// host role (-host-process). Either prints LISTENING once connected and
// START <run> at each start of a run.
type procHosts struct {
	procs []*hostProc
}

// hostProc is one host process.
type hostProc struct {
	cmd    *exec.Cmd
	ready  chan struct{} // closed when it printed LISTENING
	done   chan struct{} // closed when its output ended (it exited)
	stderr tailBuffer
}

// nodeCommand returns the command of a Node SDK host of dir's host.js
// (whose node_modules holds @interval/sdk: npm ci there). The hosts tell
// their runs apart by the "run" param the console gives each
// (console.keyRuns): the Node SDK does not tell an action its
// transaction's id.
func nodeCommand(dir string, logs int, endpoint, key string) (func() *exec.Cmd, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("-sdk node needs Node.js on the PATH (scripts/test installs it)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@interval", "sdk")); err != nil {
		return nil, fmt.Errorf("-sdk node: @interval/sdk is not installed in %s: run npm ci there (scripts/test does)", dir)
	}
	return func() *exec.Cmd {
		cmd := exec.Command(node, "host.js")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "ENDPOINT="+endpoint, "API_KEY="+key, "SLUG="+slug, "LOGS="+strconv.Itoa(logs))
		return cmd
	}, nil
}

// goCommand returns the command of a Go SDK host in a process of its own:
// this program in the host role (runChildHost), with GOMAXPROCS procs
// when above 0.
func goCommand(logs, procs int, endpoint, key string) (func() *exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("host process: %w", err)
	}
	return func() *exec.Cmd {
		cmd := exec.Command(self)
		cmd.Env = append(os.Environ(), roleEnv+"=host", "ENDPOINT="+endpoint, "API_KEY="+key, "LOGS="+strconv.Itoa(logs))
		if procs > 0 {
			cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(procs))
		}
		return cmd
	}, nil
}

// startProcHosts starts n host processes of command and waits until each
// is connected; the runs they start are recorded in st.
func startProcHosts(ctx context.Context, n int, command func() *exec.Cmd, st *starts) (*procHosts, error) {
	h := &procHosts{}
	for range n {
		p, err := startHostProc(command(), st)
		if err != nil {
			h.stop()
			return nil, err
		}
		h.procs = append(h.procs, p)
	}
	wait := time.NewTimer(hostReady)
	defer wait.Stop()
	for _, p := range h.procs {
		select {
		case <-p.ready:
		case <-p.done:
			h.stop()
			return nil, fmt.Errorf("host process exited before connecting: %s", p.stderr.String())
		case <-wait.C:
			h.stop()
			return nil, fmt.Errorf("host process not connected within %s: %s", hostReady, p.stderr.String())
		case <-ctx.Done():
			h.stop()
			return nil, ctx.Err()
		}
	}
	return h, nil
}

// startHostProc starts one host process; a goroutine reads its output
// until it exits (stop waits for it).
func startHostProc(cmd *exec.Cmd, st *starts) (*hostProc, error) {
	p := &hostProc{cmd: cmd, ready: make(chan struct{}), done: make(chan struct{})}
	p.cmd.Stderr = &p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("host process: %w", err)
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("host process: %w", err)
	}
	go p.read(out, st)
	return p, nil
}

// read follows the host's output: LISTENING once connected, START <run>
// at each start of a run.
func (p *hostProc) read(out io.Reader, st *starts) {
	defer close(p.done)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "LISTENING":
			select {
			case <-p.ready:
			default:
				close(p.ready)
			}
		case strings.HasPrefix(line, "START "):
			st.start(strings.TrimPrefix(line, "START "))
		}
	}
}

// stop asks each host to close (SIGINT: the Node SDK's safelyClose, the Go
// SDK's Shutdown), kills them all if one has not exited within 10 s, and
// waits for them.
func (h *procHosts) stop() {
	for _, p := range h.procs {
		p.cmd.Process.Signal(syscall.SIGINT)
	}
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for _, p := range h.procs {
		select {
		case <-p.done:
		case <-deadline.C:
			for _, q := range h.procs {
				q.cmd.Process.Kill() // an exited one's error is of no use
			}
			<-p.done
		}
		p.cmd.Wait()
	}
	h.procs = nil
}

// cpu returns the CPU seconds the host processes have used.
func (h *procHosts) cpu() (float64, bool) {
	var s float64
	for _, p := range h.procs {
		s += procstat.CPU(p.cmd.Process.Pid)
	}
	return s, true
}

// runChildHost is the host role (-host-process): one Go SDK host of the
// action on ENDPOINT with API_KEY, printing LISTENING once connected and
// START <transaction id> at each start, until SIGINT (then Shutdown).
func runChildHost() error {
	logs, _ := strconv.Atoi(os.Getenv("LOGS"))
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	say := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		out.WriteString(line + "\n")
		out.Flush()
	}
	c, err := interval.New(interval.Options{APIKey: os.Getenv("API_KEY"), Endpoint: os.Getenv("ENDPOINT"),
		Routes: echoRoutes(logs, func(id string) { say("START " + id) }),
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)), LogLevel: slog.LevelWarn,
		OnConnection: func(ev interval.ConnectionEvent) {
			if ev.Kind == interval.Connected {
				say("LISTENING")
			}
		}})
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	done := make(chan error, 1)
	go func() { done <- c.Listen(context.Background()) }()
	select {
	case err := <-done:
		return err
	case <-sig:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Shutdown(ctx); err != nil && !errors.Is(err, interval.ErrClosed) {
		return err
	}
	if err := <-done; err != nil && !errors.Is(err, interval.ErrClosed) {
		return err
	}
	return nil
}

// tailBuffer keeps the last 2 KiB written to it: a Node host's stderr, for
// the error when it fails.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

// Write keeps the tail of what was written.
func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 2048 {
		t.b = append(t.b[:0], t.b[len(t.b)-2048:]...)
	}
	return len(p), nil
}

// String returns the kept tail, trimmed, or a note that it is empty.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := strings.TrimSpace(string(t.b)); s != "" {
		return s
	}
	return "(nothing on stderr)"
}
