package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

func TestMain(m *testing.M) {
	if os.Getenv(roleEnv) == "host" {
		// The test binary run again as a host process (-host-process).
		if err := runChildHost(); err != nil {
			fmt.Fprintln(os.Stderr, "load (host):", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// out is where the tests' reports go: stderr with -v.
func out() io.Writer {
	if testing.Verbose() {
		return os.Stderr
	}
	return io.Discard
}

// TestSmoke: 300 runs by 10 operators against an embedded server (SQLite,
// real sockets on loopback) all complete with the operator's answer as
// their result: none lost, none wrong, none refused. A correctness check
// of the server under concurrent load and of the load program; no timing.
func TestSmoke(t *testing.T) {
	ctx := context.Background()
	rep, err := run(ctx, config{Server: "inproc", Dir: t.TempDir(), Hosts: 2, Operators: []int{10}, Runs: 300,
		Timeout: 30 * time.Second, Budget: 90, MaxSockets: 16, Log: slog.New(slog.DiscardHandler)}, out())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Levels) != 1 {
		t.Fatalf("levels: %+v", rep.Levels)
	}
	r := rep.Levels[0]
	if r.Runs != 300 || r.Completed != 300 || r.Lost != 0 || r.Wrong != 0 || r.Failed != 0 {
		t.Fatalf("300 runs: %d started, %d completed, %d lost, %d wrong, %d not created (first error: %s)",
			r.Runs, r.Completed, r.Lost, r.Wrong, r.Failed, r.FirstError)
	}
	if r.Sockets < 10 || r.CPUSeconds <= 0 || r.RSSMiB <= 0 || r.CommitsPerRun <= 0 {
		t.Fatalf("figures missing: %+v", r)
	}
	if r.Started != 300 || r.Duplicated != 0 {
		t.Fatalf("300 runs: the hosts started %d (%d duplicated)", r.Started, r.Duplicated)
	}
}

// TestSmokeHistory: with -history the server starts on a store that
// already holds finished runs, serves new ones beside them, and keeps
// both: the store ends with the history and every new run, finished.
func TestSmokeHistory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rep, err := run(ctx, config{Server: "inproc", Dir: dir, History: 2500, Hosts: 1, Operators: []int{4}, Runs: 100,
		Timeout: 30 * time.Second, Budget: 90, MaxSockets: 16, Log: slog.New(slog.DiscardHandler)}, out())
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Levels[0]; r.Completed != 100 || r.Lost != 0 || r.Wrong != 0 {
		t.Fatalf("100 runs on a store with history: %d completed, %d lost, %d wrong (first error: %s)", r.Completed, r.Lost, r.Wrong, r.FirstError)
	}
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	all, err := st.CountTransactions(ctx, store.TransactionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	done, err := st.CountTransactions(ctx, store.TransactionFilter{Status: store.StatusCompleted})
	if err != nil {
		t.Fatal(err)
	}
	// The warm-up's runs come on top of the 2,500 and the 100 measured.
	if all < 2600 || done != all {
		t.Fatalf("store after the runs: %d runs, %d of them completed; want at least 2,600, all completed", all, done)
	}
}

// TestSmokeHostProcesses: with hosts in processes of their own, two of
// the official Node SDK (-sdk node: @interval/sdk 2.0.0, npm ci in
// nodehost, as scripts/test does) or two Go hosts (-host-process: this
// binary again, in the host role), 200 runs by 8 operators all complete
// with their answers, each started once (the Node hosts tell runs apart
// by their run param, the Go hosts by the transaction id), and the hosts'
// CPU is measured.
func TestSmokeHostProcesses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sdk    string
		server string // what the report says of the hosts
	}{
		{"node", "node", "2 Node SDK hosts (@interval/sdk 2.0.0), a process each"},
		{"go", "go", "2 Go SDK hosts, a process each"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := run(context.Background(), config{Server: "inproc", Dir: t.TempDir(), Hosts: 2, SDK: tc.sdk, HostProcess: true,
				NodeDir: "nodehost", Logs: 1, Operators: []int{8}, Runs: 200, Timeout: 30 * time.Second, Budget: 90, MaxSockets: 16,
				Log: slog.New(slog.DiscardHandler)}, out())
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Levels) != 1 || !strings.Contains(rep.Server, tc.server) {
				t.Fatalf("report: %+v", rep)
			}
			r := rep.Levels[0]
			if r.Runs != 200 || r.Completed != 200 || r.Lost != 0 || r.Wrong != 0 || r.Failed != 0 {
				t.Fatalf("200 runs: %d started, %d completed, %d lost, %d wrong, %d not created (first error: %s)",
					r.Runs, r.Completed, r.Lost, r.Wrong, r.Failed, r.FirstError)
			}
			if r.Started != 200 || r.Duplicated != 0 {
				t.Fatalf("200 runs: the hosts started %d (%d duplicated)", r.Started, r.Duplicated)
			}
			if r.HostsCPUSeconds <= 0 || r.HostsCPUPerRun <= 0 {
				t.Fatalf("the hosts' CPU is missing: %+v", r)
			}
		})
	}
}

// TestNodeHostsNeedTheSDK: -sdk node with no @interval/sdk installed
// fails at once and says what to run.
func TestNodeHostsNeedTheSDK(t *testing.T) {
	_, err := run(context.Background(), config{Server: "inproc", Dir: t.TempDir(), Hosts: 1, SDK: "node", NodeDir: t.TempDir(),
		Operators: []int{1}, Runs: 1, Timeout: 5 * time.Second, Budget: 90, MaxSockets: 1, Log: slog.New(slog.DiscardHandler)}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "npm ci") {
		t.Fatalf("err = %v, want one that says to run npm ci", err)
	}
}

// TestSmokeScale: 60 runs left waiting on 6 shared browser sockets, probed
// by 10 more runs, are then all answered and complete with their answers.
func TestSmokeScale(t *testing.T) {
	ctx := context.Background()
	rep, err := run(ctx, config{Server: "inproc", Dir: t.TempDir(), Hosts: 1, Scale: 60, Sockets: 6, Probe: 10, ProbeRate: 50,
		Timeout: 30 * time.Second, Budget: 90, MaxSockets: 4, Log: slog.New(slog.DiscardHandler)}, out())
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Scale
	if s == nil || s.Opened != 60 || s.OpenFailed != 0 || s.ProbeCompleted != 10 || s.ProbeLost != 0 ||
		s.Completed != 60 || s.Lost != 0 || s.Wrong != 0 {
		t.Fatalf("scale: %+v", s)
	}
	if s.HeapWaitingMiB <= 0 || s.RSSWaitingMiB <= 0 {
		t.Fatalf("memory figures missing: %+v", s)
	}
}

// TestSmokeScaleBurst: 150 waiting runs answered at once make their one
// host call the server more than its HostCallsPerSecond (60 here): the
// server slows the host down and every run completes; none is lost to a
// host cut off mid-burst.
func TestSmokeScaleBurst(t *testing.T) {
	ctx := context.Background()
	rep, err := run(ctx, config{Server: "inproc", Dir: t.TempDir(), Hosts: 1, Tuning: tuning{HostCalls: 60}, Scale: 150, Sockets: 15, Probe: 1, ProbeRate: 50,
		Timeout: 30 * time.Second, Budget: 90, MaxSockets: 4, Log: slog.New(slog.DiscardHandler)}, out())
	if err != nil {
		t.Fatal(err)
	}
	if s := rep.Scale; s == nil || s.Opened != 150 || s.Completed != 150 || s.Lost != 0 || s.Wrong != 0 {
		t.Fatalf("scale: %+v", s)
	}
}

// TestWrongResultCounted: a result that is not the operator's answer is
// counted wrong, not completed (the check the smoke test relies on).
func TestWrongResultCounted(t *testing.T) {
	for _, tc := range []struct {
		status, result string
		ok             bool
	}{
		{"SUCCESS", `{"schemaVersion":1,"status":"SUCCESS","data":"answer 1"}`, true},
		{"SUCCESS", `{"schemaVersion":1,"status":"SUCCESS","data":"answer 2"}`, false},
		{"FAILURE", `{"schemaVersion":1,"status":"FAILURE","data":{"error":"Error","message":"x"}}`, false},
		{"SUCCESS", `not json`, false},
	} {
		got, ok := resultData(protocol.TransactionCompletedInputs{TransactionID: "tx", ResultStatus: tc.status, Result: tc.result})
		if (ok && got == "answer 1") != tc.ok {
			t.Errorf("%s %s: read %q %v", tc.status, tc.result, got, ok)
		}
	}
	if !strings.Contains(ioResponse("tx", protocol.IORender{ID: "c1", InputGroupKey: "g1"}, `a "quoted" answer`), `"values":["a \"quoted\" answer"]`) {
		t.Error("the answer is not the response's value")
	}
}

// TestSmokeRate: the open-loop mode offers runs at a rate, many at once
// over shared sockets, and every run it started (its action logging two
// lines once answered) completes with its answer: none lost, none wrong,
// none refused, with the server's commits delayed to share them
// (Options.CommitDelay). No timing asserted.
func TestSmokeRate(t *testing.T) {
	ctx := context.Background()
	rep, err := run(ctx, config{Server: "inproc", Dir: t.TempDir(), Hosts: 2, Logs: 2, Rates: []float64{150}, Poisson: true, Duration: time.Second,
		Tuning:  tuning{CommitDelay: 500 * time.Microsecond},
		Timeout: 30 * time.Second, Budget: 90, MaxSockets: 16, Log: slog.New(slog.DiscardHandler)}, out())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Levels) != 1 {
		t.Fatalf("levels: %+v", rep.Levels)
	}
	r := rep.Levels[0]
	if r.Mode != "rate" || r.Rate != 150 || r.Runs == 0 || r.Completed != r.Runs || r.Lost != 0 || r.Wrong != 0 || r.Failed != 0 || r.Duplicated != 0 {
		t.Fatalf("rate 150/s: %d started, %d completed, %d lost, %d wrong, %d not created, %d duplicated (first error: %s)",
			r.Runs, r.Completed, r.Lost, r.Wrong, r.Failed, r.Duplicated, r.FirstError)
	}
	if r.TotalP50 <= 0 || r.TotalMax < r.AnswerMax {
		t.Fatalf("create→completion must cover answer→completion: %+v", r)
	}
}
