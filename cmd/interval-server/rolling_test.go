package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/interval-go/sdk/internal/balancer"
	"github.com/interval-go/sdk/server"
	"github.com/interval-go/sdk/server/store/pgtest"
)

var rollLong = flag.Bool("long", false, "TestRollingRestart: the long form (5 rolls of the 3 replicas under load); see RELIABILITY.md")

var loadBuilt struct {
	once sync.Once
	path string
	err  error
}

// loadBinary builds the load program (bench/load) beside the server
// binary, once per test binary (removeBinary removes both).
func loadBinary(t *testing.T) string {
	t.Helper()
	dir := filepath.Dir(serverBinary(t))
	loadBuilt.once.Do(func() {
		loadBuilt.path = filepath.Join(dir, "load")
		args := []string{"build", "-o", loadBuilt.path}
		if raceBuild {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, "../../bench/load")...).CombinedOutput()
		if err != nil {
			loadBuilt.err = fmt.Errorf("go build bench/load: %w\n%s", err, out)
		}
	})
	if loadBuilt.err != nil {
		t.Fatal(loadBuilt.err)
	}
	return loadBuilt.path
}

// loadLevel is the part of the load program's JSON result the test reads.
type loadLevel struct {
	Runs, Completed, Wrong, Lost, Duplicated, Failed, Reconnects int
	Retried                                                      int     `json:"createRetried"`
	DialRetried                                                  int     `json:"socketRetried"`
	AskedAgain                                                   int     `json:"askedAgain"`
	RunsPerS                                                     float64 `json:"runsPerSecond"`
	AnswerP50                                                    float64 `json:"answerP50Ms"`
	AnswerP99                                                    float64 `json:"answerP99Ms"`
	AnswerMax                                                    float64 `json:"answerMaxMs"`
	RenderP99                                                    float64 `json:"renderP99Ms"`
	FirstError                                                   string  `json:"firstError"`
}

// TestRollingRestart restarts every replica of an installation, one after
// another, under a steady load of runs, as a deploy does. Three
// interval-server processes on one PostgreSQL database (lease 2 s) sit
// behind a round-robin TCP balancer; the load program (8 operators over
// the console API and sockets, 2 Go SDK hosts, all through the balancer)
// runs the echo action over and over. Each replica in turn gets SIGTERM
// (it closes its sockets with 1012 and leaves; the others adopt its runs),
// exits, and starts again on the same address; the next one follows once
// it serves and a pause of 2 s has passed. Every run the load program
// started must complete with its operator's answer: none lost, none wrong,
// none started twice on a host, none not created; and runs must have
// completed during the roll. The short form rolls once; -long rolls five
// times:
//
//	go test ./cmd/interval-server -run 'TestRollingRestart$' -long -timeout 30m -v
func TestRollingRestart(t *testing.T) {
	rolls, between := 1, time.Duration(0)
	if *rollLong {
		rolls, between = 5, 20*time.Second
	}
	perStep := 5 * time.Second // a restart and the pause after it, with room to spare
	if raceBuild {
		perStep = 10 * time.Second // the servers start slower
	}
	replicasUnderLoad(t, underLoad{rolls: rolls, between: between, perStep: perStep,
		step: func(t *testing.T, i int, r *replicaSet) string {
			t0 := time.Now()
			r.procs[i].stop(t) // SIGTERM; waits for the exit, wants status 0
			down := time.Since(t0)
			r.restart(t, i)
			return fmt.Sprintf("stopped in %v, serving again %v after SIGTERM", down.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
		}})
}

// TestReplicaFrozen freezes every replica of an installation in turn
// (SIGSTOP) for three leases, under the load of TestRollingRestart, then
// lets it go on (SIGCONT), as a VM paused by its hypervisor or a process
// stopped by a debugger. While it is frozen the others take it for dead
// and adopt its runs; its hosts and consoles find another replica. When
// it wakes it must not act on what it held: no run lost, wrong or started
// twice, and no operator asked again for an answer a replica had
// acknowledged.
func TestReplicaFrozen(t *testing.T) {
	const lease = 2 * time.Second
	replicasUnderLoad(t, underLoad{rolls: 1, perStep: 4 * lease, runTimeout: time.Minute,
		step: func(t *testing.T, i int, r *replicaSet) string {
			p := r.procs[i].cmd.Process
			if err := p.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * lease)
			if err := p.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("frozen for %v", 3*lease)
		}})
}

// underLoad is a test of replicas under load: step disturbs replica i
// (stop and start it, freeze it), for each replica in turn, rolls times.
type underLoad struct {
	rolls   int
	between time.Duration // steady load between two rolls
	perStep time.Duration // a step and the pause after it, with room to spare
	// runTimeout is how long the load program gives a run (default
	// 30 s): a run that sits across several disturbances waits through
	// the console's reconnection back-off (up to 8 s) each time.
	runTimeout time.Duration
	step       func(t *testing.T, i int, r *replicaSet) string
}

// replicaSet is the replicas of an installation, on their addresses.
type replicaSet struct {
	bin   string
	addrs []string
	args  [][]string
	procs []*serverProc
	old   []*serverProc // the replicas' earlier processes
}

// restart starts replica i again, on its address, once its process ended,
// and waits until it is ready.
func (r *replicaSet) restart(t *testing.T, i int) {
	r.old = append(r.old, r.procs[i])
	r.procs[i] = startServer(t, r.bin, r.addrs[i], r.args[i])
	waitReady(t, r.addrs[i])
}

// replicasUnderLoad runs three interval-server processes on one PostgreSQL
// database (lease 2 s) behind a round-robin TCP balancer, and the load
// program (8 operators over the console API and sockets, 2 Go SDK hosts,
// all through the balancer) running the echo action over and over. Once
// runs complete, u.step disturbs each replica in turn, with a pause of 2 s
// after each. Every run the load program started must complete with its
// operator's answer: none lost, none wrong, none started twice on a host,
// none not created, none whose operator was asked again for an answer the
// server had acknowledged; and runs must have completed while the replicas
// were disturbed.
func replicasUnderLoad(t *testing.T, u underLoad) {
	const replicas, operators, pause = 3, 8, 2 * time.Second
	r := &replicaSet{bin: serverBinary(t), addrs: make([]string, replicas), args: make([][]string, replicas), procs: make([]*serverProc, replicas)}
	loadBin := loadBinary(t)
	dbURL := pgtest.NewDatabase(t)
	ctx := context.Background()

	adm, err := server.New(ctx, server.Options{DataDir: t.TempDir(), DatabaseURL: dbURL, AdminOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	link, err := adm.CreateUser(ctx, "roll@example.com", "admin", "", nil)
	adm.Close()
	if err != nil {
		t.Fatal(err)
	}

	for i := range r.procs {
		r.addrs[i] = freeAddr(t)
		r.args[i] = []string{"--data-dir", t.TempDir(), "--database-url", dbURL, "--replica-lease", "2s", "--log-level", "debug"}
		r.procs[i] = startServer(t, r.bin, r.addrs[i], r.args[i])
		waitReady(t, r.addrs[i])
	}
	var stdout, stderr syncBuf // the load program's
	defer func() {
		if t.Failed() {
			// What each replica said of the runs the load program
			// found wrong, then its last lines.
			ids := flaggedRuns(stderr.String())
			if dir := os.Getenv("INTERVAL_TEST_LOG_DIR"); dir != "" {
				// Whole logs, for a failure to be read at leisure.
				for i, p := range append(r.old, r.procs...) {
					os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-server%d.log", t.Name(), i)), []byte(p.stderr.String()), 0o644)
				}
				os.WriteFile(filepath.Join(dir, t.Name()+"-load.log"), []byte(stderr.String()), 0o644)
			}
			for i, p := range append(r.old, r.procs...) {
				t.Logf("server process %d (%s, in start order) printed:\n%s", i, p.addr, tail(withoutDebug(p.stderr.String()), 40))
				if len(ids) > 0 {
					t.Logf("server process %d on the runs the load program flagged:\n%s", i, linesNaming(p.stderr.String(), ids, 60))
				}
			}
			if len(ids) > 0 {
				t.Logf("the load program on the runs it flagged:\n%s", linesNaming(stderr.String(), ids, 60))
			}
		}
	}()
	lb := roundRobin(t, r.addrs...)
	lu, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	link = "http://" + lb + lu.RequestURI()

	// The load: long enough for the steps, with a margin; they must end
	// before it does (else the test says so and fails).
	duration := time.Duration(u.rolls*replicas)*u.perStep + time.Duration(u.rolls-1)*u.between + 10*time.Second
	runTimeout := u.runTimeout
	if runTimeout == 0 {
		runTimeout = 30 * time.Second
	}
	load := exec.Command(loadBin, "-login-link", link, "-json", "-v", "-operators", fmt.Sprint(operators), "-hosts", "2",
		"-duration", duration.String(), "-warmup", "0", "-timeout", runTimeout.String())
	load.Stdout, load.Stderr = &stdout, &stderr
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	loadDone := make(chan struct{})
	go func() {
		load.Wait()
		close(loadDone)
	}()
	t.Cleanup(func() {
		select {
		case <-loadDone:
		default:
			load.Process.Kill()
			<-loadDone
		}
	})
	defer func() {
		if t.Failed() {
			var errs []string
			for _, l := range strings.Split(stderr.String(), "\n") {
				if strings.Contains(l, "msg=operator") && !strings.Contains(l, "browser socket closed") && len(errs) < 40 {
					errs = append(errs, l)
				}
			}
			t.Logf("the load program printed:\n%s%s\nits operators' errors (socket closes left out):\n%s", stdout.String(), tail(stderr.String(), 60), strings.Join(errs, "\n"))
		}
	}()

	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	completedRuns := func(from, to time.Time) (n int, p99 time.Duration) {
		t.Helper()
		rows, err := db.QueryContext(ctx, `SELECT completed_at - created_at FROM transactions
			WHERE status = 'COMPLETED' AND completed_at >= $1 AND completed_at <= $2`, from.UnixMilli(), to.UnixMilli())
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var ds []int64
		for rows.Next() {
			var d int64
			if err := rows.Scan(&d); err != nil {
				t.Fatal(err)
			}
			ds = append(ds, d)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			return 0, 0
		}
		slices.Sort(ds)
		return len(ds), time.Duration(ds[(len(ds)-1)*99/100]) * time.Millisecond
	}

	// The roll starts once runs complete.
	deadline := time.Now().Add(wait)
	for {
		if n, _ := completedRuns(time.Unix(0, 0), time.Now()); n > 0 {
			break
		}
		select {
		case <-loadDone:
			t.Fatalf("the load program ended before any run completed")
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no run completed within %v of the load's start", wait)
		}
	}
	rollStart := time.Now()
	steps := 0
	for roll := range u.rolls {
		if roll > 0 {
			select {
			case <-loadDone:
				t.Fatalf("the load ended during the roll (after %d steps): lengthen its -duration", steps)
			case <-time.After(u.between):
			}
		}
		for i := range r.procs {
			what := u.step(t, i, r)
			steps++
			t.Logf("roll %d, replica %d: %s", roll+1, i, what)
			select {
			case <-loadDone:
				t.Fatalf("the load ended during the roll (after %d steps): lengthen its -duration", steps)
			case <-time.After(pause):
			}
		}
	}
	rollEnd := time.Now()

	select {
	case <-loadDone:
	case <-time.After(duration + 2*time.Minute):
		t.Fatal("the load program did not end")
	}
	if !load.ProcessState.Success() {
		t.Fatalf("the load program failed: %v", load.ProcessState)
	}
	var lr loadLevel
	line := strings.TrimSpace(stdout.String())
	if err := json.Unmarshal([]byte(line), &lr); err != nil {
		t.Fatalf("the load program's result %q: %v", line, err)
	}
	during, p99 := completedRuns(rollStart, rollEnd)
	t.Logf("%d rolls of %d replicas (%d steps) in %v under %d operators",
		u.rolls, replicas, steps, rollEnd.Sub(rollStart).Round(time.Second), operators)
	t.Logf("runs: %d started, %d completed (%.0f/s), %d lost, %d wrong, %d duplicated, %d not created, %d answers asked again after their acknowledgement; %d sockets replaced under a run, %d creations and %d socket openings retried",
		lr.Runs, lr.Completed, lr.RunsPerS, lr.Lost, lr.Wrong, lr.Duplicated, lr.Failed, lr.AskedAgain, lr.Reconnects, lr.Retried, lr.DialRetried)
	t.Logf("answer → completion over the whole load: p50 %.1f ms, p99 %.1f ms, max %.0f ms; creation → render p99 %.1f ms",
		lr.AnswerP50, lr.AnswerP99, lr.AnswerMax, lr.RenderP99)
	t.Logf("during the roll: %d runs completed; creation → completion p99 %v (server clock)", during, p99)
	if lr.FirstError != "" {
		t.Logf("first error the load program saw: %s", lr.FirstError)
	}
	lapsed, unsure := 0, 0
	for _, p := range append(r.old, r.procs...) {
		lapsed += strings.Count(p.stderr.String(), "lease ran out")
		unsure += strings.Count(p.stderr.String(), "no renewal of the replica lease for a lease")
	}
	t.Logf("replicas whose lease ran out while they served (they let go of their runs and joined again): %d; times a replica sent nothing for want of a renewal: %d", lapsed, unsure)
	if lr.Lost != 0 || lr.Wrong != 0 || lr.Duplicated != 0 || lr.Failed != 0 || lr.AskedAgain != 0 {
		t.Errorf("runs across the roll: %d lost, %d wrong, %d duplicated, %d not created, %d answers asked again; want none",
			lr.Lost, lr.Wrong, lr.Duplicated, lr.Failed, lr.AskedAgain)
	}
	if lr.Completed == 0 || during == 0 {
		t.Errorf("%d runs completed, %d during the roll; want some", lr.Completed, during)
	}
	if lr.Runs != lr.Completed+lr.Wrong+lr.Lost+lr.Failed {
		t.Errorf("the load's counts do not add up: %+v", lr)
	}
	for _, p := range r.procs {
		p.stop(t)
	}
}

// freeAddr returns a loopback address with a port free now, for a server
// that restarts on the same address.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitReady waits until the server on addr answers /readyz with 200.
func waitReady(t *testing.T, addr string) {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(wait)
	for {
		resp, err := c.Get("http://" + addr + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within %v (last: %v)", addr, wait, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// roundRobin starts a round-robin balancer in front of backends, closed
// with the test.
func roundRobin(t *testing.T, backends ...string) string {
	t.Helper()
	lb, err := balancer.Start(balancer.RoundRobin, backends...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lb.Close)
	return lb.Addr()
}

// flaggedRun finds the run an operator's error of the load program names.
var flaggedRun = regexp.MustCompile(`msg=operator err="run ([A-Za-z0-9_-]+):`)

// flaggedRuns returns the runs the load program's operators' errors name
// (lost, wrong or asked again), but for socket closes.
func flaggedRuns(loadLog string) []string {
	var ids []string
	for _, m := range flaggedRun.FindAllStringSubmatch(loadLog, -1) {
		if !strings.Contains(m[0], "browser socket closed") && !slices.Contains(ids, m[1]) {
			ids = append(ids, m[1])
		}
	}
	return ids
}

// linesNaming returns the first n lines of s that name one of ids.
func linesNaming(s string, ids []string, n int) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if len(out) == n {
			break
		}
		if slices.ContainsFunc(ids, func(id string) bool { return strings.Contains(l, id) }) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// withoutDebug returns the lines of log s but its debug lines.
func withoutDebug(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(l, " level=DEBUG ") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
