package server

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/faultproxy"
	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/router"
)

var (
	faultLong = flag.Bool("long", false, "TestFault: the long form (1,000 runs, ≥300 faults); see RELIABILITY.md")
	faultSeed = flag.Uint64("fault.seed", 0, "TestFault: the seed of the faults (0: from the clock); printed on failure")
)

// faultConfig sizes one fault-injection run.
type faultConfig struct {
	runs      int           // runs driven to their end
	operators int           // console sockets answering runs, each one run at a time
	hosts     int           // Go SDK hosts behind the proxy
	every     time.Duration // mean pause between faults
	maxFreeze time.Duration // longest freeze
	runWait   time.Duration // a run not finished by then is lost
	// node runs the hosts as the official Node SDK (server/testdata/
	// nodehost/fault.js) instead of the Go SDK. It fails the calls it
	// makes while disconnected (a result made then is lost) and runs a
	// START_TRANSACTION it gets twice twice, so the faults that apply to
	// it are the ones that end no connection: delays and freezes that
	// thaw (noCuts).
	node   bool
	noCuts bool
}

// faultStats are what TestFault counts.
type faultStats struct {
	mu                 sync.Mutex
	faults             map[string]int
	lost, wrong        []string
	reasked            int // answers asked again after a refusal (the host was away)
	reaskedAcked       int // answers asked again after the server acknowledged them
	rerendered         int // a render repeated before the answer's acknowledgement (a host re-sending it)
	latencies          []time.Duration
	executions         map[string]int // handler starts by transaction id
	duplicated         int
	completed, started int
}

func (s *faultStats) fault(kind string) {
	s.mu.Lock()
	s.faults[kind]++
	s.mu.Unlock()
}

// TestFault drives runs with operator answers through the real console
// socket while a proxy between the Go SDK hosts and the real server cuts,
// freezes (then thaws or cuts) and delays the hosts' connections at
// random, and counts runs lost (not finished), finished wrong (a failure,
// or a result that is not made of the operator's answers) and executed
// twice (a handler started twice for one run). All three must be 0.
//
// The faults are drawn from a seed, printed on failure (-fault.seed
// repeats them; the interleaving with the runs depends on the scheduler).
// The short form runs in `go test ./...`; the long form is
//
//	go test ./server -run 'TestFault$' -long -timeout 30m -v
//
// whose figures are in RELIABILITY.md.
func TestFault(t *testing.T) {
	cfg := faultConfig{runs: 250, operators: 8, hosts: 2, every: 150 * time.Millisecond, maxFreeze: 3 * time.Second, runWait: 90 * time.Second}
	if *faultLong {
		cfg = faultConfig{runs: 1000, operators: 8, hosts: 3, every: 60 * time.Millisecond, maxFreeze: 6 * time.Second, runWait: 3 * time.Minute}
	}
	faultTest(t, "TestFault$", cfg)
}

// TestFaultNodeHost is TestFault with the official Node SDK as the hosts,
// under the faults that apply to it (faultConfig.node); the long form is
//
//	go test ./server -run 'TestFaultNodeHost$' -long -timeout 30m -v
func TestFaultNodeHost(t *testing.T) {
	cfg := faultConfig{runs: 40, operators: 4, hosts: 2, every: 300 * time.Millisecond, maxFreeze: 2 * time.Second, runWait: 90 * time.Second,
		node: true, noCuts: true}
	if *faultLong {
		cfg.runs, cfg.operators, cfg.every, cfg.runWait = 1000, 8, 60*time.Millisecond, 3*time.Minute
	}
	faultTest(t, "TestFaultNodeHost$", cfg)
}

func faultTest(t *testing.T, name string, cfg faultConfig) {
	seed := *faultSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("reproduce the faults with: go test ./server -run '%s' -fault.seed=%d%s", name, seed, map[bool]string{true: " -long"}[*faultLong])
		}
	})
	st := runFaults(t, cfg, seed)

	var kinds []string
	total := 0
	for k, n := range st.faults {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		total += n
	}
	sort.Strings(kinds)
	sort.Slice(st.latencies, func(i, j int) bool { return st.latencies[i] < st.latencies[j] })
	pct := func(p float64) time.Duration {
		if len(st.latencies) == 0 {
			return 0
		}
		return st.latencies[min(len(st.latencies)-1, int(p*float64(len(st.latencies))))]
	}
	t.Logf("seed %d: %d runs, %d completed; %d faults (%s); lost %d, wrong %d, duplicated %d; answers asked again %d after a refusal, %d after an acknowledgement (renders repeated before it %d); latency p50 %v p99 %v",
		seed, cfg.runs, st.completed, total, strings.Join(kinds, ", "), len(st.lost), len(st.wrong), st.duplicated,
		st.reasked, st.reaskedAcked, st.rerendered, pct(0.50).Round(time.Millisecond), pct(0.99).Round(time.Millisecond))
	if len(st.lost) > 0 {
		t.Errorf("%d runs lost: %s", len(st.lost), strings.Join(st.lost[:min(len(st.lost), 10)], "; "))
	}
	if len(st.wrong) > 0 {
		t.Errorf("%d runs finished wrong: %s", len(st.wrong), strings.Join(st.wrong[:min(len(st.wrong), 10)], "; "))
	}
	if st.duplicated > 0 {
		t.Errorf("%d runs executed more than once", st.duplicated)
	}
	if st.reaskedAcked > 0 {
		t.Errorf("%d answers the server had acknowledged were asked for again", st.reaskedAcked)
	}
	if total == 0 {
		t.Error("no fault was injected")
	}
}

func runFaults(t *testing.T, cfg faultConfig, seed uint64) *faultStats {
	e := newEnv(t, Options{})
	admin := e.admin()
	key := admin.key("production")
	proxy := e.faultProxy()
	st := &faultStats{faults: map[string]int{}, executions: map[string]int{}}

	// The hosts: each run asks two answers and returns them with its
	// param; every start of a handler is counted by transaction.
	r := router.New()
	r.Action("fault", func(ctx context.Context, tx *interval.Tx) (any, error) {
		st.mu.Lock()
		st.executions[tx.ID]++
		if st.executions[tx.ID] == 2 {
			st.duplicated++
		}
		st.mu.Unlock()
		a, err := tx.IO.Input.Text("A").Run(ctx)
		if err != nil {
			return nil, err
		}
		b, err := tx.IO.Input.Text("B").Run(ctx)
		if err != nil {
			return nil, err
		}
		return fmt.Sprintf("%v:%s:%s", tx.Params["n"], a, b), nil
	})
	var hosts sync.WaitGroup
	var clients []*interval.Client
	var nodes []*nodeScript
	defer func() {
		for _, c := range clients {
			c.Close()
		}
		hosts.Wait()
		for _, p := range nodes {
			p.stop()
		}
	}()
	for i := range cfg.hosts {
		if cfg.node {
			p := startNodeScript(t, "nodehost", "fault.js", "ws://"+proxy.Addr()+"/websocket", key)
			nodes = append(nodes, p)
			p.waitFor(t, "LISTENING")
			continue
		}
		_ = i
		c, err := interval.New(interval.Options{Endpoint: "ws://" + proxy.Addr() + "/websocket", APIKey: key, Routes: r,
			Logger: slog.New(slog.DiscardHandler), RetryInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
		hosts.Add(1)
		go func() {
			defer hosts.Done()
			if err := c.Listen(context.Background()); !errors.Is(err, interval.ErrClosed) {
				t.Errorf("Listen: %v", err)
			}
		}()
	}
	until(t, e, "the hosts to initialize", func(hb *hub) bool {
		n := 0
		for _, h := range hb.hosts {
			if h.initialized {
				n++
			}
		}
		return n == cfg.hosts
	})

	// The faults, until the runs are done.
	ctx, stopFaults := context.WithCancel(context.Background())
	faultsDone := make(chan struct{})
	go func() {
		defer close(faultsDone)
		injectFaults(ctx, proxy, cfg, rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), st)
	}()

	// The operators.
	next := make(chan int, cfg.runs)
	for i := range cfg.runs {
		next <- i
	}
	close(next)
	var ops sync.WaitGroup
	for i := range cfg.operators {
		b := admin.browser()
		// An operator takes a moment to answer (and so stays under the
		// console socket's rate limit, 100 calls a second).
		think := rand.New(rand.NewPCG(seed, uint64(i)))
		ops.Add(1)
		go func() {
			defer ops.Done()
			for n := range next {
				operate(admin, b, n, cfg, st, func() { time.Sleep(time.Duration(20+think.IntN(40)) * time.Millisecond) })
			}
		}()
	}
	ops.Wait()
	stopFaults()
	<-faultsDone
	return st
}

// injectFaults cuts, freezes and delays the proxy's connections at random
// until ctx ends; every freeze ends (thawed or cut) before it returns.
func injectFaults(ctx context.Context, p *faultproxy.Proxy, cfg faultConfig, rng *rand.Rand, st *faultStats) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		pause := time.Duration(rng.Int64N(int64(2 * cfg.every)))
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		conns := p.Conns()
		if len(conns) == 0 {
			continue
		}
		c := conns[rng.IntN(len(conns))]
		k := rng.IntN(10)
		if cfg.noCuts && k < 3 {
			k = 3 + rng.IntN(7)
		}
		switch cut := !cfg.noCuts && rng.IntN(2) == 0; {
		case k < 3:
			st.fault("cut")
			c.Cut()
		case k < 8:
			// A stall: the peers' writes succeed but nothing arrives;
			// then the network comes back, or the connection dies.
			d := time.Duration(rng.Int64N(int64(cfg.maxFreeze)))
			if cut {
				st.fault("freeze then cut")
			} else {
				st.fault("freeze then thaw")
			}
			c.Freeze()
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
				if cut {
					c.Cut()
				} else {
					c.Thaw()
				}
			}()
		default:
			st.fault("delay")
			p.SetDelay(time.Duration(5+rng.IntN(45)) * time.Millisecond)
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case <-time.After(time.Second):
				case <-ctx.Done():
				}
				p.SetDelay(0)
			}()
		}
	}
}

// operate runs one run as an operator on browser b: create it, open it,
// answer each input with a value derived from n, and wait for its end.
func operate(admin *client, b *peer, n int, cfg faultConfig, st *faultStats, think func()) {
	runWait := cfg.runWait
	began := time.Now()
	var created struct{ ID string }
	if code := admin.try("POST", "/api/console/transactions", map[string]any{"slug": "fault", "env": "production",
		"params": map[string]any{"n": n}}, &created); code != http.StatusCreated {
		st.mu.Lock()
		st.wrong = append(st.wrong, fmt.Sprintf("run %d: create refused (HTTP %d)", n, code))
		st.mu.Unlock()
		return
	}
	id := created.ID
	lose := func(why string) {
		st.mu.Lock()
		st.lost = append(st.lost, fmt.Sprintf("run %d (%s): %s", n, id, why))
		st.mu.Unlock()
	}
	if err := callTrue(b, protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id}); err != nil {
		lose(err.Error())
		return
	}
	answered := map[string]int{}
	acked := map[string]bool{}
	read, ackedAt := 0, map[string]int{} // calls read; calls received when an answer was acknowledged
	deadline := time.NewTimer(runWait)
	defer deadline.Stop()
	for {
		var c call
		select {
		case c = <-b.calls:
			read++
		case <-deadline.C:
			lose("not finished in " + runWait.String())
			return
		}
		var ref struct {
			TransactionID string `json:"transactionId"`
		}
		if json.Unmarshal(c.data, &ref) != nil || ref.TransactionID != id {
			continue // another run's, finished
		}
		switch c.method {
		case protocol.MethodRender:
			var in protocol.RenderInputs
			json.Unmarshal(c.data, &in)
			r, err := protocol.DecodeIORender(in.ToRender)
			if err != nil || len(r.ToRender) != 1 {
				lose(fmt.Sprintf("bad render %s", in.ToRender))
				return
			}
			label := r.ToRender[0].Label
			if answered[label]++; answered[label] > 1 {
				st.mu.Lock()
				switch {
				case acked[label] && read <= ackedAt[label]:
					st.rerendered++ // sent before the answer was taken
				case acked[label]:
					st.reaskedAcked++
				default:
					st.reasked++
				}
				st.mu.Unlock()
			}
			v := fmt.Sprintf("%s%d", strings.ToLower(label), n)
			think()
			// Refused while its host is away: the host re-sends the
			// render when it is back, and it is answered then.
			acked[label] = callTrue(b, protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id,
				IOResponse: ioResponse(id, r.ID, r.InputGroupKey, protocol.KindReturn, v)}) == nil
			// The server's calls before its answer are received by now.
			ackedAt[label] = read + len(b.calls)
		case protocol.MethodTransactionCompleted:
			var in protocol.TransactionCompletedInputs
			json.Unmarshal(c.data, &in)
			var res protocol.ActionResult
			json.Unmarshal([]byte(in.Result), &res)
			var got string
			json.Unmarshal(res.Data, &got)
			want := fmt.Sprintf("%d:a%d:b%d", n, n, n)
			st.mu.Lock()
			st.completed++
			st.latencies = append(st.latencies, time.Since(began))
			if rest, ok := strings.CutPrefix(got, want+":"); cfg.node && ok {
				// The Node host says how many times it started the run.
				if rest != "1" {
					st.duplicated++
				}
				got = want
			}
			if in.ResultStatus != protocol.StatusSuccess || got != want {
				st.wrong = append(st.wrong, fmt.Sprintf("run %d (%s): %s %s", n, id, in.ResultStatus, protocol.Clip(in.Result, 200)))
			}
			st.mu.Unlock()
			callTrue(b, protocol.MethodLeaveTransaction, protocol.TransactionRef{TransactionID: id})
			return
		}
	}
}

// callTrue calls method on p; an error unless the answer is true.
func callTrue(p *peer, method string, in any) error {
	var ok bool
	if err := p.call(method, in, &ok); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	if !ok {
		return fmt.Errorf("%s: refused", method)
	}
	return nil
}
