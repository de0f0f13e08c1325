package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/router"
	"github.com/interval-go/sdk/server"
)

// slug is the action every run runs: it asks one text input and returns
// the answer, so a result is checked against what the operator typed.
const slug = "load_echo"

// env is the environment of the runs: production, with a live key, as a
// deployed host runs.
const env = "production"

// target is the server under load.
type target struct {
	// LoginLink logs the operators in (one session, shared by every
	// operator's sockets, like many tabs of one admin).
	LoginLink string
	// PID is the server's process (0: unknown, no CPU and RSS figures).
	PID int
	// Kind says where the server runs, for the report.
	Kind string
	// mem, when set, returns the server's Go heap in use after a GC and
	// asks it to return freed memory to the OS; with profile, it also
	// writes the server's heap profile (-memprofile).
	mem func(ctx context.Context, profile bool) (uint64, error)
	// stop ends the server (nil for an external one).
	stop func(ctx context.Context) error
	// counts, when set, returns the server's counters so far (its store
	// commits, its paced host sockets), read from its metrics.
	counts func(ctx context.Context) (serverCounts, error)
}

// tuning is what the program sets of an embedded server's options (0:
// the server's default).
type tuning struct {
	HostCalls   int           // Options.HostCallsPerSecond
	CommitDelay time.Duration // Options.CommitDelay
}

// embedded is a server.Server serving on loopback in this process.
type embedded struct {
	srv  *server.Server
	http *http.Server
	done chan error
	Link string
	URL  string
	Dir  string
	// MetricsToken serves the server's metrics to the driver.
	MetricsToken string
	close        sync.Once
}

// startEmbedded starts a server on a fresh SQLite store in dir, on a free
// loopback port, and returns it with a one-time login link of its admin.
func startEmbedded(ctx context.Context, dir string, tune tuning, log *slog.Logger) (*embedded, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("embedded server: %w", err)
	}
	public := "http://" + ln.Addr().String()
	token := rand.Text()
	srv, err := server.New(ctx, server.Options{DataDir: dir, PublicURL: public, Logger: log, OrgName: "Load", MetricsToken: token,
		HostCallsPerSecond: tune.HostCalls, CommitDelay: tune.CommitDelay})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded server: %w", err)
	}
	_, link, err := srv.EnsureAdmin(ctx)
	if err != nil {
		srv.Close()
		ln.Close()
		return nil, fmt.Errorf("embedded server: %w", err)
	}
	e := &embedded{srv: srv, http: &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan error, 1), Link: link, URL: public, Dir: dir, MetricsToken: token}
	go func() { e.done <- e.http.Serve(ln) }()
	return e, nil
}

// shutdown stops the server within ctx, then closes what is left.
func (e *embedded) shutdown(ctx context.Context) error {
	var err error
	e.close.Do(func() {
		if serr := e.srv.Shutdown(ctx); serr != nil {
			e.srv.Close()
			err = fmt.Errorf("server shutdown: %w", serr)
		}
		if herr := e.http.Shutdown(ctx); herr != nil {
			e.http.Close()
			err = errors.Join(err, fmt.Errorf("http shutdown: %w", herr))
		}
		if serr := <-e.done; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
	})
	return err
}

// inProcess starts an embedded server in this process: its CPU and RSS
// are this process's, driver and hosts included.
func inProcess(ctx context.Context, dir string, tune tuning, log *slog.Logger) (*target, error) {
	e, err := startEmbedded(ctx, dir, tune, log)
	if err != nil {
		return nil, err
	}
	return &target{LoginLink: e.Link, PID: os.Getpid(), Kind: "embedded, in this process (CPU and RSS include the driver and the hosts)",
		mem:    func(_ context.Context, profile bool) (uint64, error) { return heapNow(), nil },
		stop:   e.shutdown,
		counts: metricsCounts(e.URL, e.MetricsToken)}, nil
}

// heapNow collects garbage, returns freed memory to the OS and returns the
// heap in use.
func heapNow() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// writeHeapProfile writes a heap profile of this process to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("heap profile: %w", err)
	}
	return f.Close()
}

// roleEnv selects the server role of this program (the child process of
// -server child).
const roleEnv = "LOAD_ROLE"

// childReady is what the child prints once its server serves.
type childReady struct {
	URL, LoginLink, MetricsToken string
}

// runChildServer is the child process: an embedded server on dir
// ($LOAD_DIR) that prints childReady as a JSON line, then answers each
// line read on stdin with "heap N" (after a GC), and ends at EOF. With
// $LOAD_CPUPROFILE it writes a CPU profile of its whole life there; with
// $LOAD_MEMPROFILE a heap profile when the line is "heap profile" (the
// driver asks for one with every run waiting), sampling an allocation
// every 4 KiB rather than the runtime's 512 KiB, so that the few hundred
// bytes each socket holds in many places show.
func runChildServer() error {
	if os.Getenv("LOAD_MEMPROFILE") != "" {
		runtime.MemProfileRate = 4 << 10
	}
	if path := os.Getenv("LOAD_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("LOAD_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	ctx := context.Background()
	var tune tuning
	tune.HostCalls, _ = strconv.Atoi(os.Getenv("LOAD_HOST_CALLS"))
	tune.CommitDelay, _ = time.ParseDuration(os.Getenv("LOAD_COMMIT_DELAY"))
	e, err := startEmbedded(ctx, os.Getenv("LOAD_DIR"), tune, log)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(childReady{URL: e.URL, LoginLink: e.Link, MetricsToken: e.MetricsToken})
	fmt.Printf("%s\n", b)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		h := heapNow()
		if path := os.Getenv("LOAD_MEMPROFILE"); path != "" && in.Text() == "heap profile" {
			if err := writeHeapProfile(path); err != nil {
				fmt.Fprintln(os.Stderr, "load (server):", err)
			}
		}
		fmt.Printf("heap %d\n", h)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return e.shutdown(sctx)
}

// childProcess starts the embedded server in a child process (this
// program again, in the server role) on dir: its CPU and RSS are the
// server's alone. cpuprofile, when set, is where the child writes its CPU
// profile, memprofile where it writes a heap profile when asked (see
// runChildServer); procs, when above 0, is its GOMAXPROCS, tune its
// options.
func childProcess(ctx context.Context, dir, cpuprofile, memprofile string, procs int, tune tuning, verbose bool) (*target, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("child server: %w", err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), roleEnv+"=server", "LOAD_DIR="+dir, "LOAD_CPUPROFILE="+cpuprofile, "LOAD_MEMPROFILE="+memprofile)
	if procs > 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("GOMAXPROCS=%d", procs))
	}
	if tune.HostCalls > 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("LOAD_HOST_CALLS=%d", tune.HostCalls))
	}
	if tune.CommitDelay > 0 {
		cmd.Env = append(cmd.Env, "LOAD_COMMIT_DELAY="+tune.CommitDelay.String())
	}
	if verbose {
		cmd.Env = append(cmd.Env, "LOAD_LOG=1")
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("child server: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("child server: %w", err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("child server: %w", err)
	}
	lines := bufio.NewScanner(stdout)
	stop := func(context.Context) error {
		stdin.Close()
		io.Copy(io.Discard, stdout)
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("child server: %w", err)
		}
		return nil
	}
	if !lines.Scan() {
		stop(ctx)
		return nil, errors.New("child server: ended before serving")
	}
	var ready childReady
	if err := json.Unmarshal(lines.Bytes(), &ready); err != nil {
		stop(ctx)
		return nil, fmt.Errorf("child server: %w", err)
	}
	var mu sync.Mutex
	mem := func(ctx context.Context, profile bool) (uint64, error) {
		mu.Lock()
		defer mu.Unlock()
		line := "heap\n"
		if profile {
			line = "heap profile\n"
		}
		if _, err := io.WriteString(stdin, line); err != nil {
			return 0, fmt.Errorf("child server: %w", err)
		}
		if !lines.Scan() {
			return 0, errors.New("child server: no heap figure")
		}
		n, err := strconv.ParseUint(strings.TrimPrefix(lines.Text(), "heap "), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("child server: %w", err)
		}
		return n, nil
	}
	return &target{LoginLink: ready.LoginLink, PID: cmd.Process.Pid, Kind: fmt.Sprintf("embedded, child process %d (SQLite in %s)", cmd.Process.Pid, dir),
		mem: mem, stop: stop, counts: metricsCounts(ready.URL, ready.MetricsToken)}, nil
}

// hosts runs n Go SDK hosts serving the echo action, each on its own host
// socket, until stop is called.
type hosts struct {
	clients []*interval.Client
	wg      sync.WaitGroup
}

// echoRoutes are the hosts' routes: the action records each start of a
// run with started, asks one text input and, once answered, writes logs
// log lines (each a SEND_LOG the server commits before it answers), then
// returns the answer.
func echoRoutes(logs int, started func(id string)) *router.Mux {
	r := router.New()
	r.Action(slug, func(ctx context.Context, tx *interval.Tx) (any, error) {
		started(tx.ID)
		s, err := tx.IO.Input.Text("Answer").Run(ctx)
		if err != nil {
			return nil, err
		}
		for i := range logs {
			if err := tx.Log(ctx, "line", i); err != nil {
				return nil, fmt.Errorf("log line %d: %w", i, err)
			}
		}
		return s, nil
	})
	return r
}

// startHosts connects n Go SDK hosts with key to endpoint, in this
// process, serving echoRoutes; each start of a run is recorded in st.
func startHosts(ctx context.Context, n, logs int, endpoint, key string, st *starts, log *slog.Logger) (*hosts, error) {
	r := echoRoutes(logs, st.start)
	h := &hosts{}
	for range n {
		c, err := interval.New(interval.Options{APIKey: key, Endpoint: endpoint, Routes: r, Logger: log, LogLevel: slog.LevelWarn})
		if err != nil {
			h.stop()
			return nil, fmt.Errorf("host: %w", err)
		}
		h.clients = append(h.clients, c)
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			if err := c.Listen(ctx); err != nil && !errors.Is(err, interval.ErrClosed) && ctx.Err() == nil {
				log.Error("host ended", "err", err)
			}
		}()
	}
	return h, nil
}

// stop closes the hosts and waits for them.
func (h *hosts) stop() {
	for _, c := range h.clients {
		c.Close()
	}
	h.wg.Wait()
}

// serverCounts are counters of the server, read from its metrics.
type serverCounts struct {
	// Commits are the group commit's batches: each is one database
	// transaction (one fsync on SQLite).
	Commits float64
	// HostPaced is how many times a host socket was read no faster than
	// its call rate (each a pause until the next second).
	HostPaced float64
}

// The metric lines of serverCounts.
const (
	batchCount     = `interval_server_store_write_duration_seconds_count{operation="write_batch"}`
	hostPacedCount = `interval_server_rate_limited_total{limit="host_socket"}`
)

// metricsCounts returns what reads the counters of a server at base from
// its Prometheus metrics (served with token).
func metricsCounts(base, token string) func(ctx context.Context) (serverCounts, error) {
	return func(ctx context.Context) (serverCounts, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+server.MetricsPath, nil)
		if err != nil {
			return serverCounts{}, fmt.Errorf("metrics: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return serverCounts{}, fmt.Errorf("metrics: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return serverCounts{}, fmt.Errorf("metrics: %s", resp.Status)
		}
		return countsIn(resp.Body)
	}
}

// countsIn reads serverCounts from metrics in the Prometheus text format
// (a counter whose line is missing is 0: nothing counted yet).
func countsIn(r io.Reader) (serverCounts, error) {
	var c serverCounts
	lines := bufio.NewScanner(r)
	lines.Buffer(make([]byte, 64<<10), 1<<20)
	for lines.Scan() {
		for _, m := range []struct {
			line string
			to   *float64
		}{{batchCount, &c.Commits}, {hostPacedCount, &c.HostPaced}} {
			v, ok := strings.CutPrefix(lines.Text(), m.line+" ")
			if !ok {
				continue
			}
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return serverCounts{}, fmt.Errorf("metrics: %q: %w", lines.Text(), err)
			}
			*m.to = n
		}
	}
	if err := lines.Err(); err != nil {
		return serverCounts{}, fmt.Errorf("metrics: %w", err)
	}
	return c, nil
}
