package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// twoLevels are the figures of two levels, the second with a first error.
func twoLevels() []levelResult {
	return []levelResult{
		{Operators: 2, Rate: 50, Runs: 164, RunsPerS: 82.4, AnswerP50: 3.615, AnswerP99: 106.1, AnswerMax: 282.14, RenderP50: 7.82, RenderP99: 134.654,
			TotalP50: 202.95, TotalP99: 736.81, TotalMax: 778.66, Sockets: 4, CPUSeconds: 0.39, CPUPerRun: 2.378, SwitchesPerRun: 23.44, CommitsPerRun: 1.524, RSSMiB: 28.4, DriverCPUSeconds: 0.17, LoadAvg: "10.32"},
		{Operators: 50, Rate: 1000, Runs: 12345, RunsPerS: 1234.5, AnswerP50: 13.6, AnswerP99: 1106.1, AnswerMax: 2282.1, RenderP50: 17.8, RenderP99: 1134.6,
			TotalP50: 1202.9, TotalP99: 1736.8, TotalMax: 30001.2, Lost: 3, Wrong: 1, Duplicated: 2, Failed: 7, Sockets: 140, CPUSeconds: 12.5, CPUPerRun: 1.01, SwitchesPerRun: 11, CommitsPerRun: 0.4, RSSMiB: 128.6,
			DriverCPUSeconds: 8.25, LoadAvg: "3.02", FirstError: "run 1: no render within 30s"},
	}
}

// The tables as the closed-loop and open-loop modes printed them before
// they shared their code (and the server's context switches and commits
// per run, columns since).
const (
	operatorsGolden = `  operators   runs  runs/s  answer→done p50      p99  max ms  render p50   p99 ms  lost  wrong  duplicated  not created  sockets  server CPU s  CPU/run ms  switches/run  commits/run  RSS MiB  driver CPU s  load avg
          2    164      82             3.62   106.10   282.1        7.82   134.65     0      0           0            0        4          0.39        2.38          23.4         1.52       28          0.17     10.32
         50  12345    1234            13.60  1106.10  2282.1       17.80  1134.60     3      1           2            7      140         12.50        1.01          11.0         0.40      129          8.25      3.02
first error at 50 operators: run 1: no render within 30s
`
	ratesGolden = `  offered/s   runs  runs/s  answer→done p50      p99  max ms  create→done p50      p99   max ms  lost  wrong  duplicated  not created  sockets  server CPU s  CPU/run ms  switches/run  commits/run  RSS MiB  driver CPU s  load avg
         50    164      82             3.62   106.10   282.1           202.95   736.81    778.7     0      0           0            0        4          0.39        2.38          23.4         1.52       28          0.17     10.32
       1000  12345    1234            13.60  1106.10  2282.1          1202.90  1736.80  30001.2     3      1           2            7      140         12.50        1.01          11.0         0.40      129          8.25      3.02
first error at 1000 runs/s offered: run 1: no render within 30s
`
)

// TestLevelsReport: both modes print their levels as before they shared
// the report code (the same columns, cells and first errors), as JSON
// lines with -json, and leave each level's warm-up out of the report.
func TestLevelsReport(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lt     levelTable
		warmup time.Duration
		json   bool
		want   string
	}{
		{"operators", operatorsTable, time.Second, false, operatorsGolden},
		{"rates", ratesTable, 0, false, ratesGolden},
		{"json", operatorsTable, time.Second, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls []string
			measure := func(i int, warmup bool) levelResult {
				calls = append(calls, fmt.Sprintf("%d %v", i, warmup))
				if warmup {
					return levelResult{Runs: -1, FirstError: "warm-up"}
				}
				return twoLevels()[i]
			}
			var out strings.Builder
			rep, err := levels(context.Background(), config{Hosts: 3, Warmup: tc.warmup, JSON: tc.json}, report{}, &out, tc.lt, 2, measure)
			if err != nil {
				t.Fatal(err)
			}
			wantCalls := "0 false,1 false"
			if tc.warmup > 0 {
				wantCalls = "0 true,0 false,1 true,1 false"
			}
			if got := strings.Join(calls, ","); got != wantCalls {
				t.Errorf("measured %s, want %s", got, wantCalls)
			}
			want := twoLevels()
			for i := range want {
				want[i].Hosts = 3
			}
			if len(rep.Levels) != 2 || rep.Levels[0] != want[0] || rep.Levels[1] != want[1] {
				t.Errorf("levels %+v, want %+v", rep.Levels, want)
			}
			if tc.json {
				var lines []string
				for _, r := range want {
					b, _ := json.Marshal(r)
					lines = append(lines, string(b)+"\n")
				}
				tc.want = strings.Join(lines, "")
			}
			if out.String() != tc.want {
				t.Errorf("printed\n%s\nwant\n%s", out.String(), tc.want)
			}
		})
	}
}

// The server's counters are read from its metrics: the count of the group
// commit's batches and the host sockets' pauses, 0 before the first.
func TestCountsIn(t *testing.T) {
	metrics := `# HELP interval_server_store_write_duration_seconds Duration of the store's writes.
# TYPE interval_server_store_write_duration_seconds histogram
interval_server_store_write_duration_seconds_bucket{operation="write_batch",le="0.0005"} 10
interval_server_store_write_duration_seconds_sum{operation="write_batch"} 0.25
interval_server_store_write_duration_seconds_count{operation="write_batch"} 1234
interval_server_store_write_duration_seconds_count{operation="update_transaction"} 99
interval_server_rate_limited_total{limit="browser_socket"} 5
interval_server_rate_limited_total{limit="host_socket"} 7
`
	c, err := countsIn(strings.NewReader(metrics))
	if err != nil || c != (serverCounts{Commits: 1234, HostPaced: 7}) {
		t.Fatalf("counts %+v (%v), want 1234 commits, 7 pauses", c, err)
	}
	if c, err := countsIn(strings.NewReader("# nothing yet\n")); err != nil || c != (serverCounts{}) {
		t.Fatalf("nothing counted yet: %+v (%v)", c, err)
	}
	if _, err := countsIn(strings.NewReader(batchCount + " many\n")); err == nil {
		t.Fatal("a count that is no number read without error")
	}
}
