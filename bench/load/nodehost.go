package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// hostSet is the hosts the program runs for the load: Go SDK hosts in this
// process (hosts) or official Node SDK hosts in processes of their own
// (nodeHosts).
type hostSet interface {
	// stop closes the hosts and waits for them.
	stop()
	// cpu returns the CPU seconds the hosts' own processes have used, and
	// false when the hosts run in this process (their CPU is the driver's).
	cpu() (float64, bool)
}

// cpu reports that Go SDK hosts run in the driver's process.
func (h *hosts) cpu() (float64, bool) { return 0, false }

// nodeHostReady is how long a Node host may take to start and connect.
const nodeHostReady = 30 * time.Second

// nodeHosts are official Node SDK hosts (@interval/sdk 2.0.0), each a node
// process running nodehost/host.js with one Interval instance and one host
// socket, serving the same action as the Go hosts.
type nodeHosts struct {
	procs []*nodeProc
}

// nodeProc is one Node host process.
type nodeProc struct {
	cmd    *exec.Cmd
	ready  chan struct{} // closed when it printed LISTENING
	done   chan struct{} // closed when its output ended (it exited)
	stderr tailBuffer
}

// startNodeHosts starts n Node SDK hosts with key on endpoint, running
// host.js of dir (whose node_modules holds @interval/sdk: npm ci there),
// and waits until each is connected. The runs they start are recorded in
// st by the "run" param the console gives each run (console.keyRuns): the
// Node SDK does not tell an action its transaction's id.
func startNodeHosts(ctx context.Context, dir string, n, logs int, endpoint, key string, st *starts) (*nodeHosts, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("-sdk node needs Node.js on the PATH (scripts/test installs it)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@interval", "sdk")); err != nil {
		return nil, fmt.Errorf("-sdk node: @interval/sdk is not installed in %s: run npm ci there (scripts/test does)", dir)
	}
	h := &nodeHosts{}
	for range n {
		p, err := startNodeProc(node, dir, logs, endpoint, key, st)
		if err != nil {
			h.stop()
			return nil, err
		}
		h.procs = append(h.procs, p)
	}
	wait := time.NewTimer(nodeHostReady)
	defer wait.Stop()
	for _, p := range h.procs {
		select {
		case <-p.ready:
		case <-p.done:
			h.stop()
			return nil, fmt.Errorf("node host exited before connecting: %s", p.stderr.String())
		case <-wait.C:
			h.stop()
			return nil, fmt.Errorf("node host not connected within %s: %s", nodeHostReady, p.stderr.String())
		case <-ctx.Done():
			h.stop()
			return nil, ctx.Err()
		}
	}
	return h, nil
}

// startNodeProc starts one Node host; a goroutine reads its output until
// it exits (stop waits for it).
func startNodeProc(node, dir string, logs int, endpoint, key string, st *starts) (*nodeProc, error) {
	p := &nodeProc{ready: make(chan struct{}), done: make(chan struct{})}
	p.cmd = exec.Command(node, "host.js")
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), "ENDPOINT="+endpoint, "API_KEY="+key, "SLUG="+slug, "LOGS="+strconv.Itoa(logs))
	p.cmd.Stderr = &p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("node host: %w", err)
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("node host: %w", err)
	}
	go p.read(out, st)
	return p, nil
}

// read follows the host's output: LISTENING once connected, START <run>
// at each start of a run.
func (p *nodeProc) read(out io.Reader, st *starts) {
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

// stop asks each host to close (SIGINT: the SDK's safelyClose), kills one
// that has not exited within 10 s, and waits for them all.
func (h *nodeHosts) stop() {
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

// cpu returns the CPU seconds the Node processes have used.
func (h *nodeHosts) cpu() (float64, bool) {
	var s float64
	for _, p := range h.procs {
		s += procCPU(p.cmd.Process.Pid)
	}
	return s, true
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
