// Command perf measures a Go host the way the Node SDK baseline was
// measured (../shared/conformance/node-sdk-traces/README.md): the host runs
// in a child process (this program re-executed with PERF_ROLE=host), the
// server in this process on loopback. It reports transactions per second at
// several concurrencies, the host's CPU per transaction (from
// /proc/PID/stat), and the host's memory with N transactions waiting on an
// input (VmRSS).
//
//	go run ./bench/perf -duration 5s -conc 1,10,100 -open 10000
//
// For investigating, the host writes a CPU profile of its whole run to
// $PERF_CPUPROFILE, and a heap profile and a goroutine dump taken with the
// transactions open to $PERF_MEMPROFILE and $PERF_GOROUTINES; PERF_LOG=1
// sends its debug log to stderr.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/interval-go/sdk/bench/internal/procstat"

	"github.com/interval-go/sdk/bench"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

func main() {
	if os.Getenv("PERF_ROLE") == "host" {
		runHost()
		return
	}
	duration := flag.Duration("duration", 5*time.Second, "measuring time per concurrency")
	concs := flag.String("conc", "1,10,100", "concurrencies")
	open := flag.Int("open", 10000, "transactions left waiting on input for the memory figure")
	hostProcs := flag.Int("host-procs", 0, "GOMAXPROCS of the host process (0: the Go default)")
	flag.Parse()
	if err := drive(*duration, *concs, *open, *hostProcs); err != nil {
		fmt.Fprintln(os.Stderr, "perf:", err)
		os.Exit(1)
	}
}

func runHost() {
	if path := os.Getenv("PERF_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("PERF_LOG") != "" { // host logs to stderr, for investigating stalls
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c, err := interval.New(interval.Options{Routes: bench.PerfRoutes{}, Logger: log, LogLevel: slog.LevelInfo})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	go func() {
		// The driver asks for a GC before reading memory by writing a line.
		in := bufio.NewScanner(os.Stdin)
		for {
			if !in.Scan() {
				c.Close()
				return
			}
			runtime.GC()
			debug.FreeOSMemory()
			if path := os.Getenv("PERF_MEMPROFILE"); path != "" {
				if f, err := os.Create(path); err == nil {
					pprof.WriteHeapProfile(f)
					f.Close()
				}
			}
			if path := os.Getenv("PERF_GOROUTINES"); path != "" { // what the open transactions wait on
				if f, err := os.Create(path); err == nil {
					pprof.Lookup("goroutine").WriteTo(f, 1)
					f.Close()
				}
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Printf("heap %d %d\n", ms.HeapInuse, ms.StackInuse)
		}
	}()
	c.Listen(context.Background())
}

// cpuMs returns the CPU time process pid has used, in milliseconds.
func cpuMs(pid int) float64 { return procstat.CPU(pid) * 1000 }

// ioSyscalls returns the write and read system calls process pid has made
// (syscw and syscr of /proc/PID/io): the host's socket writes and reads,
// for how many frames share one (0 when they cannot be read).
func ioSyscalls(pid int) (writes, reads int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw:"); ok {
			writes, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
		if v, ok := strings.CutPrefix(line, "syscr:"); ok {
			reads, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return writes, reads
}

// settle waits until the host has finished its work in flight (the
// RESPONSEs to the last IO calls may still be on their way when the driver
// has seen every render): until its CPU time stops growing, at most 10 s.
func settle(pid int) {
	prev := cpuMs(pid)
	for range 50 {
		time.Sleep(200 * time.Millisecond)
		now := cpuMs(pid)
		if now == prev {
			return
		}
		prev = now
	}
}

func drive(duration time.Duration, concs string, open, hostProcs int) error {
	s := intervaltest.NewServer()
	defer s.Close()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), "PERF_ROLE=host", "INTERVAL_ENDPOINT="+s.URL, "INTERVAL_API_KEY=perf")
	if hostProcs > 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("GOMAXPROCS=%d", hostProcs))
	}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	pid := cmd.Process.Pid
	ctx := context.Background()
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := s.WaitHost(wctx); err != nil {
		return err
	}
	one := func(ctx context.Context) error {
		run, err := s.Start(ctx, "perf_text")
		if err != nil {
			return err
		}
		r, err := run.Next(ctx)
		if err != nil {
			return err
		}
		if err := r.Answer(ctx, intervaltest.Values{"x": "a"}); err != nil {
			return err
		}
		if _, err := run.Result(ctx); err != nil {
			return err
		}
		return run.Close(ctx)
	}
	procs := runtime.GOMAXPROCS(0)
	if hostProcs > 0 {
		procs = hostProcs
	}
	fmt.Printf("Go host (GOMAXPROCS=%d), server in the driver process, loopback websocket\n", procs)
	for _, cs := range strings.Split(concs, ",") {
		n, _ := strconv.Atoi(cs)
		// warm-up
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		for wctx.Err() == nil {
			one(wctx)
		}
		cancel()
		var count atomic.Int64
		var lat sync.Mutex
		var lats []time.Duration
		w0, r0 := ioSyscalls(pid)
		cs0 := procstat.Switches(pid)
		cpu0, self0 := cpuMs(pid), cpuMs(os.Getpid())
		start := time.Now()
		rctx, cancel := context.WithTimeout(ctx, duration)
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for rctx.Err() == nil {
					t0 := time.Now()
					if err := one(rctx); err != nil {
						return
					}
					count.Add(1)
					lat.Lock()
					lats = append(lats, time.Since(t0))
					lat.Unlock()
				}
			}()
		}
		wg.Wait()
		cancel()
		el := time.Since(start).Seconds()
		cpu := cpuMs(pid) - cpu0
		self := cpuMs(os.Getpid()) - self0
		w1, r1 := ioSyscalls(pid)
		cs := procstat.Switches(pid) - cs0
		writes, reads := w1-w0, r1-r0
		c := float64(count.Load())
		p50, p99 := pct(lats, 50), pct(lats, 99)
		fmt.Printf("N=%-3d %7.0f txn/s  host CPU %.3f ms/txn (%.0f%% of a core)  %.2f socket writes/txn  latency p50 %v p99 %v  server+driver CPU %.3f ms/txn  %.2f socket reads/txn  %.2f host context switches/txn\n",
			n, c/el, cpu/c, cpu/10/el, float64(writes)/c, p50, p99, self/c, float64(reads)/c, float64(cs)/c)
	}
	// Memory with `open` transactions waiting on input.
	lines := bufio.NewScanner(stdout)
	gc := func() (heap, stack int64) {
		fmt.Fprintln(stdin, "g")
		if lines.Scan() {
			fmt.Sscanf(lines.Text(), "heap %d %d", &heap, &stack)
		}
		return heap, stack
	}
	heap0, stack0 := gc()
	rss0 := int64(procstat.RSS(pid))
	mctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 200)
	var failed atomic.Int64
	for range open {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			run, err := s.Start(mctx, "perf_text")
			if err == nil {
				_, err = run.Next(mctx)
			}
			if err != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	took := time.Since(t0)
	settle(pid)
	heap1, stack1 := gc()
	rss1 := int64(procstat.RSS(pid))
	fmt.Printf("%d transactions waiting on input (started and rendered in %v, %d failed): host RSS %.1f MiB -> %.1f MiB (%.1f KiB/txn); after GC heap %.1f -> %.1f MiB (%.1f KiB/txn), goroutine stacks %.1f -> %.1f MiB (%.1f KiB/txn)\n",
		open, took.Round(time.Millisecond), failed.Load(), mib(rss0), mib(rss1), float64(rss1-rss0)/1024/float64(open),
		mib(heap0), mib(heap1), float64(heap1-heap0)/1024/float64(open), mib(stack0), mib(stack1), float64(stack1-stack0)/1024/float64(open))
	return nil
}

func mib(b int64) float64 { return float64(b) / 1048576 }

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	cp := append([]time.Duration(nil), ds...)
	sortDurations(cp)
	return cp[min(len(cp)-1, len(cp)*p/100)].Round(time.Microsecond)
}
