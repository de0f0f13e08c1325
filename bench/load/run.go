package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/interval-go/sdk/bench/internal/procstat"
	"github.com/interval-go/sdk/internal/protocol"
)

// callsPerRun is what one run costs an operator's socket in calls:
// CONNECT_TO_TRANSACTION_AS_CLIENT, RESPOND_TO_IO_CALL, LEAVE_TRANSACTION.
const callsPerRun = 3

// driver plays the operators of one console session against a server.
type driver struct {
	con *console
	pid int
	log *slog.Logger
	// budget is the calls a socket makes per second at most (under the
	// server's per-socket limit); maxSockets the sockets one operator
	// opens at most to stay under it at high rates.
	budget     int
	maxSockets int
	// timeout bounds each wait of a run (render, completion).
	timeout time.Duration
	// counts reads the server's counters (nil: unknown).
	counts func(ctx context.Context) (serverCounts, error)
	seq    atomic.Uint64
	// starts counts the hosts' starts of each run (duplicates); nil
	// when the hosts are not this program's.
	starts *starts
	// hosts are the program's hosts (nil when they are not its own).
	hosts hostSet
	// reconnects counts console sockets that closed under a run and
	// were replaced (follow.go); retried, creations tried again.
	reconnects atomic.Int64
	retried    atomic.Int64
	// dialRetried counts console sockets opened again because the
	// first try failed (closed before INITIALIZE_CLIENT was answered).
	dialRetried atomic.Int64
	// askedAgain counts renders of a run whose operator's answer the
	// server had acknowledged (follow.go): an answer lost after its
	// acknowledgement. The load's action asks one question.
	askedAgain atomic.Int64

	mu       sync.Mutex
	sockets  int    // sockets opened, in all
	firstErr string // the first error seen, for the report
}

func (d *driver) noteErr(err error) {
	d.log.Warn("operator", "err", err)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.firstErr == "" {
		d.firstErr = protocol.Clip(err.Error(), 300)
	}
}

func (d *driver) dial(ctx context.Context) (*browser, error) {
	var b *browser
	var err error
	for try := range createAttempts {
		if try > 0 {
			// The console opens its socket again, as after a
			// close: the server it reached may be shutting down.
			d.dialRetried.Add(1)
			t := time.NewTimer(reconnectDelay(try - 1))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("%w (after %v)", ctx.Err(), err)
			}
		}
		if b, err = d.con.dialBrowser(ctx, d.budget); err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.sockets++
	d.mu.Unlock()
	return b, nil
}

// operator is one person running the action again and again; it opens
// another socket (another tab) when its sockets' call budgets for the
// current second are spent.
type operator struct {
	d *driver
	// mu guards socks when the operator's runs overlap (the probe).
	mu    sync.Mutex
	socks []*browser
}

// socket returns a socket with n calls reserved for this second.
func (o *operator) socket(ctx context.Context, n int) (*browser, error) {
	live := o.socks[:0]
	for _, b := range o.socks {
		if b.closed() {
			o.d.noteErr(b.closedErr())
			b.close()
			continue
		}
		live = append(live, b)
	}
	o.socks = live
	for _, b := range o.socks {
		if b.tryReserve(n) {
			return b, nil
		}
	}
	if len(o.socks) < o.d.maxSockets {
		b, err := o.d.dial(ctx)
		if err != nil {
			return nil, err
		}
		o.socks = append(o.socks, b)
		if err := b.reserve(ctx, n); err != nil {
			return nil, err
		}
		return b, nil
	}
	b := o.socks[0]
	if err := b.reserve(ctx, n); err != nil {
		return nil, err
	}
	return b, nil
}

func (o *operator) close() {
	for _, b := range o.socks {
		b.close()
	}
	o.socks = nil
}

// outcome is how one run ended.
type outcome int

const (
	completed outcome = iota // completed with the answer as its result
	wrong                    // completed with another result
	lost                     // created, never seen completed within the timeout
	failed                   // not created (or no socket to run it on)
)

// sample is one run's figures.
type sample struct {
	outcome outcome
	render  time.Duration // creation → RENDER
	answer  time.Duration // RESPOND_TO_IO_CALL sent → TRANSACTION_COMPLETED
	total   time.Duration // creation (in rate mode: the arrival) → TRANSACTION_COMPLETED
}

// runOnce runs the action once as o: create over HTTP, connect on the
// socket, wait for the render, answer, wait for the completion, leave.
func (o *operator) runOnce(ctx context.Context) sample {
	o.mu.Lock()
	b, err := o.socket(ctx, callsPerRun)
	o.mu.Unlock()
	if err != nil {
		o.d.noteErr(err)
		return sample{outcome: failed}
	}
	return o.d.run(ctx, o, b, time.Now())
}

// run runs the action once as o, starting on socket b, its calls already
// reserved; a socket that closes under the run is replaced (follow). t0
// is when the run was asked for, from which create→completion counts.
func (d *driver) run(ctx context.Context, o *operator, b *browser, t0 time.Time) sample {
	answer := fmt.Sprintf("answer %d", d.seq.Add(1))
	id, err := d.create(ctx)
	if err != nil {
		d.noteErr(err)
		return sample{outcome: failed}
	}
	return d.follow(ctx, o, b, id, answer, t0)
}

// answer answers run id's render r and waits for its completion.
func (d *driver) answer(ctx context.Context, b *browser, w *watch, id string, r protocol.IORender, answer string, s sample) (sample, bool) {
	ta := time.Now()
	if err := b.must(ctx, protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id, IOResponse: ioResponse(id, r, answer)}); err != nil {
		d.noteErr(fmt.Errorf("run %s: %w", id, err))
		s.outcome = lost
		return s, false
	}
	c, err := b.waitCompleted(ctx, w)
	if err != nil {
		d.noteErr(fmt.Errorf("run %s: %w", id, err))
		s.outcome = lost
		return s, false
	}
	s.answer = time.Since(ta)
	if got, ok := resultData(c); !ok || got != answer {
		d.noteErr(fmt.Errorf("run %s: result %s %q, want SUCCESS %q", id, c.ResultStatus, protocol.Clip(c.Result, 200), answer))
		s.outcome = wrong
	}
	return s, true
}

// tally sums samples.
type tally struct {
	mu      sync.Mutex
	n       [4]int
	renders []time.Duration
	answers []time.Duration
	totals  []time.Duration
}

func (t *tally) add(s sample) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n[s.outcome]++
	if s.outcome == completed || s.outcome == wrong {
		t.renders = append(t.renders, s.render)
		t.answers = append(t.answers, s.answer)
		t.totals = append(t.totals, s.total)
	}
}

// ms returns the p50, p99 and max of ds in milliseconds.
func ms(ds []time.Duration) (p50, p99, top float64) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) float64 {
		i := int(q * float64(len(s)-1))
		return float64(s[i]) / 1e6
	}
	return at(0.5), at(0.99), float64(s[len(s)-1]) / 1e6
}

// levelResult is the report of one level of concurrency.
type levelResult struct {
	Mode string `json:"mode"` // "load" (closed loop) or "rate" (open loop)
	// Rate is the offered runs a second of the rate mode, Arrivals how
	// they were spaced ("poisson" or "even").
	Rate      float64 `json:"offeredRunsPerSecond,omitempty"`
	Arrivals  string  `json:"arrivals,omitempty"`
	Operators int     `json:"operators"`
	Hosts     int     `json:"hosts"`
	Runs      int     `json:"runs"` // started (completed + wrong + lost + failed)
	Completed int     `json:"completed"`
	Wrong     int     `json:"wrong"`
	Lost      int     `json:"lost"`
	// Duplicated is how many times a host started a run it had
	// already started (the run executed twice).
	Duplicated int `json:"duplicated"`
	// Started is how many times the hosts started a run (every run
	// created once, and started once, when none is duplicated).
	Started int `json:"started"`
	Failed  int `json:"failed"` // not created
	// Reconnects is how many console sockets closed under a run and
	// were replaced; Retried, how many run creations were tried again.
	Reconnects int `json:"reconnects"`
	Retried    int `json:"createRetried"`
	// DialRetried is how many console sockets were opened again after a
	// failed try (a replica shutting down closed them at once).
	DialRetried int `json:"socketRetried"`
	// AskedAgain is how many times a run asked its operator again for an
	// answer the server had acknowledged (never, when no acknowledged
	// answer is lost).
	AskedAgain int     `json:"askedAgain"`
	Seconds    float64 `json:"seconds"`
	RunsPerS   float64 `json:"runsPerSecond"` // completed runs per second
	// Answer → completion and creation → render latencies, ms.
	AnswerP50 float64 `json:"answerP50Ms"`
	AnswerP99 float64 `json:"answerP99Ms"`
	AnswerMax float64 `json:"answerMaxMs"`
	RenderP50 float64 `json:"renderP50Ms"`
	RenderP99 float64 `json:"renderP99Ms"`
	// Creation (in rate mode: the run's arrival) → completion, ms.
	TotalP50 float64 `json:"createToDoneP50Ms"`
	TotalP99 float64 `json:"createToDoneP99Ms"`
	TotalMax float64 `json:"createToDoneMaxMs"`
	Sockets  int     `json:"sockets"`
	// Server process figures (see Server in the report for what they
	// include).
	CPUSeconds float64 `json:"serverCpuSeconds"`
	CPUPerRun  float64 `json:"serverCpuPerRunMs"`
	// SwitchesPerRun is how many times the server's threads gave up the
	// CPU per completed run (a goroutine handed work to another that
	// sleeps on another thread costs a wake-up): the scheduler's share.
	SwitchesPerRun float64 `json:"serverSwitchesPerRun"`
	// CommitsPerRun is how many store commits (database transactions,
	// each an fsync on SQLite) the server made per completed run: the
	// group commit's sharing (embedded servers only).
	CommitsPerRun float64 `json:"serverCommitsPerRun"`
	// HostPaced is how many times the server read a host socket no
	// faster than its call rate during the level (each a pause of up to a
	// second for the runs that host held): latency then includes them.
	HostPaced int     `json:"hostPaced"`
	RSSMiB    float64 `json:"serverRssMiB"`
	// DriverCPUSeconds is this process's CPU time (operators and hosts;
	// the server too when it runs in this process).
	DriverCPUSeconds float64 `json:"driverCpuSeconds"`
	// HostsCPUSeconds and HostsCPUPerRun (ms) are the CPU the hosts'
	// own processes used (-sdk node; Go hosts' is the driver's).
	HostsCPUSeconds float64 `json:"hostsCpuSeconds,omitempty"`
	HostsCPUPerRun  float64 `json:"hostsCpuPerRunMs,omitempty"`
	LoadAvg         string  `json:"loadAverage"`
	FirstError      string  `json:"firstError,omitempty"`
}

// level runs operators concurrently until runs runs were started (runs >
// 0) or for duration, and reports.
func (d *driver) level(ctx context.Context, operators, runs int, duration time.Duration) levelResult {
	var t tally
	var left atomic.Int64
	left.Store(int64(runs))
	startCtx := ctx
	if runs <= 0 {
		var cancel context.CancelFunc
		startCtx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	start := d.startLevel()
	var wg sync.WaitGroup
	for range operators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := &operator{d: d}
			defer o.close()
			for startCtx.Err() == nil && (runs <= 0 || left.Add(-1) >= 0) {
				t.add(o.runOnce(ctx))
			}
		}()
	}
	wg.Wait()
	return d.endLevel(start, &t, "load", operators)
}

// scaleResult is the report of a scale run.
type scaleResult struct {
	Mode    string `json:"mode"` // "scale"
	Waiting int    `json:"waiting"`
	Sockets int    `json:"sockets"`
	Hosts   int    `json:"hosts"`
	// Opened is how many runs reached their render (waiting on the
	// operator); Failed were not created or never rendered.
	Opened      int     `json:"opened"`
	OpenFailed  int     `json:"openFailed"`
	OpenSeconds float64 `json:"openSeconds"`
	// Server memory: before the sockets were opened, with every run
	// waiting (RSS, and the Go heap in use after a GC when the server is
	// ours), and after all were answered and the sockets closed.
	RSSBeforeMiB   float64 `json:"serverRssBeforeMiB"`
	HeapBeforeMiB  float64 `json:"serverHeapBeforeMiB,omitempty"`
	RSSWaitingMiB  float64 `json:"serverRssWaitingMiB"`
	HeapWaitingMiB float64 `json:"serverHeapWaitingMiB,omitempty"`
	RSSPerRunKiB   float64 `json:"serverRssPerWaitingRunKiB"`
	HeapPerRunKiB  float64 `json:"serverHeapPerWaitingRunKiB,omitempty"`
	// The probe: full runs by one more operator while the others wait.
	ProbeRuns      int     `json:"probeRuns"`
	ProbeCompleted int     `json:"probeCompleted"`
	ProbeLost      int     `json:"probeLost"`
	ProbeP50       float64 `json:"probeAnswerP50Ms"`
	ProbeP99       float64 `json:"probeAnswerP99Ms"`
	ProbeMax       float64 `json:"probeAnswerMaxMs"`
	// Answering every waiting run.
	Completed     int     `json:"completed"`
	Wrong         int     `json:"wrong"`
	Lost          int     `json:"lost"`
	Duplicated    int     `json:"duplicated"` // over the whole scale run
	AnswerSeconds float64 `json:"answerSeconds"`
	AnswerP50     float64 `json:"answerP50Ms"`
	AnswerP99     float64 `json:"answerP99Ms"`
	// After: every run answered, every socket closed. RSSLeftAloneMiB is
	// the server's RSS at once, 3 s and 6 s after the sockets closed, the
	// server left alone; RSSAfterMiB once it was asked for its heap.
	RSSLeftAloneMiB []float64 `json:"serverRssLeftAloneMiB"`
	RSSAfterMiB     float64   `json:"serverRssAfterMiB"`
	HeapAfterMiB    float64   `json:"serverHeapAfterMiB,omitempty"`
	CPUSeconds      float64   `json:"serverCpuSeconds"`
	LoadAvg         string    `json:"loadAverage"`
	FirstError      string    `json:"firstError,omitempty"`
}

// waitingRun is a run rendered and waiting on its operator.
type waitingRun struct {
	b      *browser
	w      *watch
	id     string
	r      protocol.IORender
	answer string
}

// parallel calls f(i) for i in [0, n) on workers goroutines.
func parallel(n, workers int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// scaleWorkers is how many runs are opened or answered at once in a scale
// run: enough to keep the server busy, few enough for a shared machine.
const scaleWorkers = 8

// scale opens n runs waiting on operators over sockets sockets (0: one
// each), probes with probe full runs at probeRate a second, then answers
// every waiting run; mem, when set, reads the server's heap.
func (d *driver) scale(ctx context.Context, n, sockets, probe int, probeRate float64, mem func(context.Context, bool) (uint64, error)) (scaleResult, error) {
	if sockets <= 0 || sockets > n {
		sockets = n
	}
	res := scaleResult{Mode: "scale", Waiting: n, Sockets: sockets, ProbeRuns: probe}
	heap := func(profile bool) float64 {
		if mem == nil {
			return 0
		}
		h, err := mem(ctx, profile)
		if err != nil {
			d.noteErr(err)
			return 0
		}
		return float64(h) / (1 << 20)
	}
	res.HeapBeforeMiB = heap(false)
	res.RSSBeforeMiB = float64(procstat.RSS(d.pid)) / (1 << 20)
	cpu0 := procstat.CPU(d.pid)
	dup0 := d.starts.duplicates()

	socks := make([]*browser, sockets)
	defer func() {
		for _, b := range socks {
			if b != nil {
				b.close()
			}
		}
	}()
	t0 := time.Now()
	var dialErr atomic.Pointer[error]
	parallel(sockets, scaleWorkers, func(i int) {
		b, err := d.dial(ctx)
		if err != nil {
			dialErr.CompareAndSwap(nil, &err)
			return
		}
		socks[i] = b
	})
	if p := dialErr.Load(); p != nil {
		return res, fmt.Errorf("opening %d browser sockets: %w", sockets, *p)
	}
	runs := make([]*waitingRun, n)
	parallel(n, scaleWorkers, func(i int) {
		b := socks[i%sockets]
		if err := b.reserve(ctx, 1); err != nil {
			d.noteErr(err)
			return
		}
		id, err := d.con.createRun(ctx, slug, env)
		if err != nil {
			d.noteErr(err)
			return
		}
		w := b.watch(id)
		rctx, cancel := context.WithTimeout(ctx, d.timeout)
		defer cancel()
		if err := b.must(rctx, protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id}); err != nil {
			d.noteErr(fmt.Errorf("run %s: %w", id, err))
			b.unwatch(id)
			return
		}
		r, err := b.waitRender(rctx, w)
		if err != nil {
			d.noteErr(fmt.Errorf("run %s: %w", id, err))
			b.unwatch(id)
			return
		}
		runs[i] = &waitingRun{b: b, w: w, id: id, r: r, answer: fmt.Sprintf("answer %d", d.seq.Add(1))}
	})
	res.OpenSeconds = time.Since(t0).Seconds()
	for _, r := range runs {
		if r != nil {
			res.Opened++
		}
	}
	res.OpenFailed = n - res.Opened
	res.HeapWaitingMiB = heap(true)
	res.RSSWaitingMiB = float64(procstat.RSS(d.pid)) / (1 << 20)
	if res.Opened > 0 {
		res.RSSPerRunKiB = (res.RSSWaitingMiB - res.RSSBeforeMiB) * 1024 / float64(res.Opened)
		if mem != nil {
			res.HeapPerRunKiB = (res.HeapWaitingMiB - res.HeapBeforeMiB) * 1024 / float64(res.Opened)
		}
	}

	// The probe: one more operator runs the action at probeRate.
	var pt tally
	if probe > 0 {
		o := &operator{d: d}
		tick := time.NewTicker(time.Duration(float64(time.Second) / probeRate))
		var wg sync.WaitGroup
		for range probe {
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				break
			}
			// Each probe run gets its own goroutine so that a slow one
			// does not lower the offered rate.
			wg.Add(1)
			go func() {
				defer wg.Done()
				pt.add(o.runOnce(ctx))
			}()
		}
		tick.Stop()
		wg.Wait()
		o.close()
	}
	res.ProbeCompleted = pt.n[completed]
	res.ProbeLost = pt.n[lost] + pt.n[failed] + pt.n[wrong]
	res.ProbeP50, res.ProbeP99, res.ProbeMax = ms(pt.answers)

	// Answer every waiting run.
	var at tally
	t1 := time.Now()
	parallel(n, scaleWorkers*4, func(i int) {
		r := runs[i]
		if r == nil {
			return
		}
		defer r.b.unwatch(r.id)
		if err := r.b.reserve(ctx, 2); err != nil {
			d.noteErr(err)
			at.add(sample{outcome: lost})
			return
		}
		rctx, cancel := context.WithTimeout(ctx, d.timeout)
		defer cancel()
		s, ok := d.answer(rctx, r.b, r.w, r.id, r.r, r.answer, sample{})
		at.add(s)
		if ok {
			if err := r.b.must(rctx, protocol.MethodLeaveTransaction, protocol.TransactionRef{TransactionID: r.id}); err != nil {
				d.noteErr(fmt.Errorf("run %s: %w", r.id, err))
			}
		}
	})
	res.AnswerSeconds = time.Since(t1).Seconds()
	res.Completed, res.Wrong, res.Lost = at.n[completed], at.n[wrong], at.n[lost]
	res.AnswerP50, res.AnswerP99, _ = ms(at.answers)

	for i, b := range socks {
		b.close()
		socks[i] = nil
	}
	res.CPUSeconds = procstat.CPU(d.pid) - cpu0
	res.Duplicated = d.starts.duplicates() - dup0
	// The server left alone (asking for its heap returns its free memory
	// to the system): how soon its RSS follows the load down.
	start := time.Now()
	for _, at := range []time.Duration{0, 3 * time.Second, 6 * time.Second} {
		select {
		case <-time.After(time.Until(start.Add(at))):
		case <-ctx.Done():
			return res, ctx.Err()
		}
		res.RSSLeftAloneMiB = append(res.RSSLeftAloneMiB, float64(procstat.RSS(d.pid))/(1<<20))
	}
	res.HeapAfterMiB = heap(false)
	res.RSSAfterMiB = float64(procstat.RSS(d.pid)) / (1 << 20)
	res.LoadAvg = loadAverage()
	d.mu.Lock()
	res.FirstError = d.firstErr
	d.mu.Unlock()
	return res, nil
}

// summary is a one-line description of the figures' scope.
func summary(kind string, hosts int, sdk string, process bool) string {
	switch {
	case sdk == "node":
		return strings.Join([]string{"server: " + kind, fmt.Sprintf("%d Node SDK hosts (@interval/sdk 2.0.0), a process each", hosts), "the operators run in the driver process"}, "; ")
	case process:
		return strings.Join([]string{"server: " + kind, fmt.Sprintf("%d Go SDK hosts, a process each", hosts), "the operators run in the driver process"}, "; ")
	}
	return strings.Join([]string{"server: " + kind, fmt.Sprintf("%d Go SDK hosts and the operators run in the driver process", hosts)}, "; ")
}
