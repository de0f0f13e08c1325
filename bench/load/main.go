// Command load drives an Interval server the way its users do, and reports
// what the server can take: operators over the real console HTTP API and
// console websocket (each run: POST /api/console/transactions,
// CONNECT_TO_TRANSACTION_AS_CLIENT, wait for the RENDER, answer with
// RESPOND_TO_IO_CALL, wait for TRANSACTION_COMPLETED, LEAVE_TRANSACTION),
// and Go SDK hosts over the real host socket with a production key, whose
// action asks one text input and returns it, so every result is checked
// against the answer. With -sdk node the hosts are the official Node SDK
// (@interval/sdk 2.0.0), each a node process running nodehost/host.js
// with the same action (npm ci in bench/load/nodehost first; scripts/test
// does), and the report adds the CPU their processes used.
//
//	go run ./bench/load -operators 1,10,50 -duration 10s
//	go run ./bench/load -scale 2000 -sockets 0 -probe 200 -probe-rate 20
//	go run ./bench/load -rate 500,1000 -hosts 4 -duration 10s
//	go run ./bench/load -sdk node -operators 1,10 -hosts 4 -duration 10s
//
// -rate N,M… is the open-loop mode (rate.go): runs arrive at N a second
// (Poisson arrivals; -arrivals even spaces them evenly) whatever the
// server's pace, each run by the next of a few operators on whichever
// socket has calls left, many at once; it reports the achieved runs/s
// and the answer→completion and arrival→completion latencies beside the
// closed-loop figures.
//
// For each level of concurrency it reports completed runs/s, answer →
// completion latency (p50, p99, max), creation → render latency, runs lost
// (created, never seen completed within -timeout), runs finished wrong
// (result not the answer), runs not created, and the server's CPU seconds,
// CPU per completed run and RSS from /proc. -json prints one JSON line per
// level instead of the table.
//
// The server under load is, by default, an embedded server (server.New,
// SQLite on a fresh temp dir) in a child process: this program run again
// in the server role, so the CPU and RSS figures are the server's alone
// (the hosts and the operators run in the driver). -server inproc runs it
// in this process instead: the figures are then this process's, driver
// and hosts included (the smoke test does this). An external server is
// driven with -login-link (a one-time login link of an admin, from
// `interval-server user link`; the server's URL is the link's): the
// program creates a production key for its hosts through the console API;
// -pid gives the server's process for the CPU and RSS figures. The hosts
// connect to the link's host too: for an installation of several replicas,
// give a link through its load balancer, and hosts and operators reach the
// replicas as users do.
//
// Operators behave as the web console does when a socket closes under a
// run (a replica restarting closes its sockets with 1012; the network
// drops): they open another after the console's back-off, connect to the
// run again and answer its form again if it comes again; a run's creation
// answered 502/503/504 or not reached is tried again (follow.go). A run
// counts as lost only if it is not seen completed within -timeout. The
// hosts count each start of a run: a second start of one run is reported
// as duplicated (it executed twice), beside lost and wrong.
//
// -scale N opens N runs waiting on their operators (one browser socket
// each, or -sockets M shared), reports the server's RSS (and, for an
// embedded server, its Go heap after a GC), probes with -probe full runs
// at -probe-rate runs/s while they wait, then answers them all and reports
// those lost, and the memory once they are done and the sockets closed.
//
// The server closes a console socket that makes more than 100 calls in a
// second; an operator therefore spreads its calls over several sockets
// (tabs) at high rates (-socket-calls per socket per second, up to
// -max-sockets). -cpuprofile writes a CPU profile of the embedded server
// (the child alone with -server child; this whole process with inproc);
// -memprofile a heap profile of the child server with every run of a
// scale run waiting; -server-procs sets the child's GOMAXPROCS. Beside its
// CPU per run, the report gives the server's context switches per run
// (its threads' voluntary and forced switches, from /proc): each time a
// goroutine hands work to one that sleeps on another thread, a thread is
// woken, and that is where a server that is not busy spends its CPU.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// config is what one invocation measures.
type config struct {
	Server string // "child", "inproc" or "" with LoginLink (external)
	Dir    string // the embedded server's data dir ("": a temp dir)
	// History is how many finished runs the embedded server's new store
	// holds before it starts (writeHistory).
	History   int
	LoginLink string
	PID       int
	Hosts     int
	// SDK is the hosts' SDK: "go" (in this process) or "node" (the
	// official Node SDK, a process each, running NodeDir's host.js).
	SDK     string
	NodeDir string
	// HostProcess runs each Go host in a process of its own (Node hosts
	// always are), so that the report gives the hosts' CPU.
	HostProcess bool
	Logs        int // log lines the action writes after the answer
	Operators   []int
	Rates       []float64 // open-loop mode when set
	Poisson     bool
	Runs        int // per level; 0: Duration
	Duration    time.Duration
	Warmup      time.Duration
	Timeout     time.Duration
	Budget      int
	MaxSockets  int
	Scale       int
	Sockets     int
	Probe       int
	ProbeRate   float64
	CPUProfile  string
	MemProfile  string
	// ServerProcs is the child server's GOMAXPROCS (0: the Go default).
	ServerProcs int
	// HostProcs is the GOMAXPROCS of Go hosts in processes of their own
	// (-host-process; 0: the Go default).
	HostProcs int
	// Tuning is what is set of the embedded server's options.
	Tuning tuning
	JSON   bool
	Log    *slog.Logger
}

// report is everything one invocation measured.
type report struct {
	Server string
	Levels []levelResult
	Scale  *scaleResult
}

func main() {
	if os.Getenv(roleEnv) == "host" {
		if err := runChildHost(); err != nil {
			fmt.Fprintln(os.Stderr, "load (host):", err)
			os.Exit(1)
		}
		return
	}
	if os.Getenv(roleEnv) == "server" {
		if err := runChildServer(); err != nil {
			fmt.Fprintln(os.Stderr, "load (server):", err)
			os.Exit(1)
		}
		return
	}
	var cfg config
	var ops, rates, arr string
	var verbose bool
	flag.StringVar(&cfg.Server, "server", "child", "embedded server: child (own process, clean figures) or inproc (this process); ignored with -login-link")
	flag.IntVar(&cfg.History, "history", 0, "embedded server: finished runs (with their audit events) written into its new store before it starts, the history of a server that has served for a while")
	flag.StringVar(&cfg.LoginLink, "login-link", "", "drive an external server: a one-time login link of an admin (interval-server user link)")
	flag.IntVar(&cfg.PID, "pid", 0, "the external server's process id, for CPU and RSS figures")
	flag.IntVar(&cfg.Hosts, "hosts", 2, "hosts (one host socket each; the server allows a socket 1024 calls/s, a run costs a host 2)")
	flag.StringVar(&cfg.SDK, "sdk", "go", "the hosts' SDK: go (in this process) or node (the official @interval/sdk 2.0.0, a node process each)")
	flag.BoolVar(&cfg.HostProcess, "host-process", false, "-sdk go: run each host in a process of its own (this program again), so that the report gives the hosts' CPU")
	flag.StringVar(&cfg.NodeDir, "node-dir", "bench/load/nodehost", "-sdk node: the directory of host.js, where npm ci installed @interval/sdk")
	flag.IntVar(&cfg.Logs, "logs", 0, "log lines the action writes once answered (SEND_LOG, each committed before the host hears of it)")
	flag.StringVar(&ops, "operators", "1,10,50", "levels of concurrency: operators running the action over and over")
	flag.StringVar(&rates, "rate", "", "open-loop mode: offer these runs per second, one level each (e.g. 500,1000) instead of the -operators levels")
	flag.StringVar(&arr, "arrivals", "poisson", "open-loop mode: poisson or even arrivals")
	flag.IntVar(&cfg.Runs, "runs", 0, "runs per level (0: run for -duration)")
	flag.DurationVar(&cfg.Duration, "duration", 10*time.Second, "time per level when -runs is 0")
	flag.DurationVar(&cfg.Warmup, "warmup", time.Second, "unmeasured runs before each level")
	flag.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "a run not rendered or completed within this is lost")
	flag.IntVar(&cfg.Budget, "socket-calls", 90, "calls a console socket makes per second at most (the server closes one past 100)")
	flag.IntVar(&cfg.MaxSockets, "max-sockets", 64, "console sockets one operator opens at most")
	flag.IntVar(&cfg.Scale, "scale", 0, "scale mode: open this many runs waiting on operators instead of the levels")
	flag.IntVar(&cfg.Sockets, "sockets", 0, "scale mode: browser sockets the waiting runs share (0: one each)")
	flag.IntVar(&cfg.Probe, "probe", 200, "scale mode: full runs that probe latency while the others wait")
	flag.Float64Var(&cfg.ProbeRate, "probe-rate", 20, "scale mode: probe runs per second")
	flag.IntVar(&cfg.Tuning.HostCalls, "host-calls-per-second", 0, "embedded server: calls of a host socket it reads in a second (0: the server's default, 1024)")
	flag.DurationVar(&cfg.Tuning.CommitDelay, "commit-delay", 0, "embedded server: its Options.CommitDelay, how long a commit waits under load for more writes to share it (0: commit at once, the default)")
	flag.IntVar(&cfg.HostProcs, "host-procs", 0, "-host-process: each Go host's GOMAXPROCS (0: the Go default, one per CPU)")
	flag.IntVar(&cfg.ServerProcs, "server-procs", 0, "-server child: the server's GOMAXPROCS (0: the Go default, one per CPU)")
	flag.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the embedded server to this file")
	flag.StringVar(&cfg.MemProfile, "memprofile", "", "scale mode, -server child: write the server's heap profile, taken with every run waiting, to this file")
	flag.BoolVar(&cfg.JSON, "json", false, "print one JSON line per result instead of the table")
	flag.BoolVar(&verbose, "v", false, "log the server's and hosts' warnings to stderr")
	flag.Parse()
	for f := range strings.SplitSeq(ops, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "load: -operators %q: want a list of positive counts\n", ops)
			os.Exit(2)
		}
		cfg.Operators = append(cfg.Operators, n)
	}
	for f := range strings.SplitSeq(rates, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.ParseFloat(f, 64)
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "load: -rate %q: want a list of positive rates\n", rates)
			os.Exit(2)
		}
		cfg.Rates = append(cfg.Rates, n)
	}
	if cfg.SDK != "go" && cfg.SDK != "node" {
		fmt.Fprintf(os.Stderr, "load: -sdk %q: want go or node\n", cfg.SDK)
		os.Exit(2)
	}
	switch arr {
	case "poisson":
		cfg.Poisson = true
	case "even":
	default:
		fmt.Fprintf(os.Stderr, "load: -arrivals %q: want poisson or even\n", arr)
		os.Exit(2)
	}
	cfg.Log = slog.New(slog.DiscardHandler)
	if verbose {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if _, err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// run starts or reaches the server, connects the hosts, measures what cfg
// asks and writes the report to w.
func run(ctx context.Context, cfg config, w io.Writer) (rep report, err error) {
	if cfg.Hosts < 1 {
		return rep, errors.New("at least one host is needed")
	}
	var t *target
	switch {
	case cfg.LoginLink != "":
		t = &target{LoginLink: cfg.LoginLink, PID: cfg.PID, Kind: "external"}
		if cfg.PID != 0 {
			t.Kind = fmt.Sprintf("external, process %d", cfg.PID)
		}
	case cfg.Server == "child" || cfg.Server == "inproc":
		dir := cfg.Dir
		if dir == "" {
			if dir, err = os.MkdirTemp("", "interval-load-"); err != nil {
				return rep, fmt.Errorf("data dir: %w", err)
			}
			defer os.RemoveAll(dir)
		}
		if cfg.History > 0 {
			if err := writeHistory(ctx, dir, cfg.History); err != nil {
				return rep, err
			}
		}
		if cfg.Server == "child" {
			t, err = childProcess(ctx, dir, cfg.CPUProfile, cfg.MemProfile, cfg.ServerProcs, cfg.Tuning, cfg.Log.Enabled(ctx, slog.LevelWarn))
		} else {
			if cfg.CPUProfile != "" {
				f, err := os.Create(cfg.CPUProfile)
				if err != nil {
					return rep, fmt.Errorf("cpu profile: %w", err)
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					f.Close()
					return rep, fmt.Errorf("cpu profile: %w", err)
				}
				defer func() { pprof.StopCPUProfile(); f.Close() }()
			}
			t, err = inProcess(ctx, dir, cfg.Tuning, cfg.Log)
		}
		if err != nil {
			return rep, err
		}
	default:
		return rep, fmt.Errorf("-server %q: want child or inproc", cfg.Server)
	}
	if t.stop != nil {
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if serr := t.stop(sctx); serr != nil {
				err = errors.Join(err, serr)
			}
		}()
	}
	rep.Server = summary(t.Kind, cfg.Hosts, cfg.SDK, cfg.HostProcess)

	con, err := login(ctx, t.LoginLink, 256)
	if err != nil {
		return rep, err
	}
	defer con.close()
	key, err := con.createKey(ctx, env)
	if err != nil {
		return rep, err
	}
	u, _ := url.Parse(con.base)
	endpoint := "ws://" + u.Host + "/websocket"
	if u.Scheme == "https" {
		endpoint = "wss://" + u.Host + "/websocket"
	}
	hctx, cancelHosts := context.WithCancel(context.Background())
	defer cancelHosts()
	st := &starts{log: cfg.Log}
	var h hostSet
	var command func() *exec.Cmd
	switch {
	case cfg.SDK == "node":
		con.keyRuns = true
		command, err = nodeCommand(cfg.NodeDir, cfg.Logs, endpoint, key)
	case cfg.SDK != "" && cfg.SDK != "go":
		err = fmt.Errorf("-sdk %q: want go or node", cfg.SDK)
	case cfg.HostProcess:
		command, err = goCommand(cfg.Logs, cfg.HostProcs, endpoint, key)
	}
	if err != nil {
		return rep, err
	}
	if command != nil {
		h, err = startProcHosts(ctx, cfg.Hosts, command, st)
	} else {
		h, err = startHosts(hctx, cfg.Hosts, cfg.Logs, endpoint, key, st, cfg.Log)
	}
	if err != nil {
		return rep, err
	}
	defer h.stop()
	if err := waitHosts(ctx, con, cfg.Hosts); err != nil {
		return rep, err
	}

	d := &driver{con: con, pid: t.PID, log: cfg.Log, starts: st, hosts: h, budget: cfg.Budget, maxSockets: cfg.MaxSockets, timeout: cfg.Timeout, counts: t.counts}
	if d.budget <= callsPerRun {
		d.budget = callsPerRun
	}
	if d.maxSockets < 1 {
		d.maxSockets = 1
	}
	if !cfg.JSON {
		fmt.Fprintf(w, "%s\nmachine: %d CPUs (GOMAXPROCS %d), shared with other work: the figures are noisy\n", rep.Server, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	}
	if cfg.Scale > 0 {
		res, err := d.scale(ctx, cfg.Scale, cfg.Sockets, cfg.Probe, cfg.ProbeRate, t.mem)
		if err != nil {
			return rep, err
		}
		res.Hosts = cfg.Hosts
		rep.Scale = &res
		writeScale(w, res, cfg.JSON)
		return rep, ctx.Err()
	}
	if len(cfg.Rates) > 0 {
		return levels(ctx, cfg, rep, w, ratesTable, len(cfg.Rates), func(i int, warmup bool) levelResult {
			if warmup {
				return d.rateLevel(ctx, cfg.Rates[i], cfg.Poisson, cfg.Warmup)
			}
			return d.rateLevel(ctx, cfg.Rates[i], cfg.Poisson, cfg.Duration)
		})
	}
	return levels(ctx, cfg, rep, w, operatorsTable, len(cfg.Operators), func(i int, warmup bool) levelResult {
		if warmup {
			return d.level(ctx, cfg.Operators[i], 0, cfg.Warmup)
		}
		return d.level(ctx, cfg.Operators[i], cfg.Runs, cfg.Duration)
	})
}

// waitHosts waits until n hosts are online and serve the action.
func waitHosts(ctx context.Context, con *console, n int) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		online, served, err := con.onlineHosts(ctx, env, slug)
		if err == nil && served && online >= n {
			return nil
		}
		t := time.NewTimer(20 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("waiting for %d hosts online (%d are; last error %v): %w", n, online, err, ctx.Err())
		}
	}
}

// writeScale prints a scale result.
func writeScale(w io.Writer, r scaleResult, asJSON bool) {
	if asJSON {
		b, _ := json.Marshal(r)
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	fmt.Fprintf(w, "scale: %d runs waiting on %d browser sockets, %d hosts\n", r.Waiting, r.Sockets, r.Hosts)
	fmt.Fprintf(w, "  opened %d (not opened %d) in %.1f s\n", r.Opened, r.OpenFailed, r.OpenSeconds)
	fmt.Fprintf(w, "  server RSS %.0f MiB before, %.0f MiB waiting (%.1f KiB per waiting run and its share of sockets)", r.RSSBeforeMiB, r.RSSWaitingMiB, r.RSSPerRunKiB)
	if r.HeapWaitingMiB > 0 {
		fmt.Fprintf(w, "; Go heap in use after a GC %.1f MiB before, %.1f MiB waiting (%.1f KiB per waiting run)", r.HeapBeforeMiB, r.HeapWaitingMiB, r.HeapPerRunKiB)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  probe while waiting: %d of %d runs completed, answer→done p50 %.2f ms, p99 %.2f ms, max %.1f ms\n", r.ProbeCompleted, r.ProbeRuns, r.ProbeP50, r.ProbeP99, r.ProbeMax)
	fmt.Fprintf(w, "  answered all in %.1f s: %d completed, %d lost, %d wrong, %d duplicated (answer→done p50 %.1f ms, p99 %.1f ms)\n", r.AnswerSeconds, r.Completed, r.Lost, r.Wrong, r.Duplicated, r.AnswerP50, r.AnswerP99)
	if len(r.RSSLeftAloneMiB) == 3 {
		fmt.Fprintf(w, "  after, sockets closed, server left alone: RSS %.0f MiB at once, %.0f MiB 3 s later, %.0f MiB 6 s later\n", r.RSSLeftAloneMiB[0], r.RSSLeftAloneMiB[1], r.RSSLeftAloneMiB[2])
	}
	fmt.Fprintf(w, "  after, sockets closed: server RSS %.0f MiB", r.RSSAfterMiB)
	if r.HeapAfterMiB > 0 {
		fmt.Fprintf(w, ", Go heap in use after a GC %.1f MiB", r.HeapAfterMiB)
	}
	fmt.Fprintf(w, "; server CPU %.1f s in all; load avg %s\n", r.CPUSeconds, r.LoadAvg)
	if r.FirstError != "" {
		fmt.Fprintf(w, "  first error: %s\n", r.FirstError)
	}
}
