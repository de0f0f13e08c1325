package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/interval-go/sdk/bench/internal/procstat"
)

// The report of the levels, shared by the closed-loop mode (-operators,
// run.go) and the open-loop mode (-rate, rate.go): the figures of one
// level, and their table.

// levelStart is what a level's figures count from.
type levelStart struct {
	t0         time.Time
	cpu, self  float64 // the server's and this process's CPU seconds
	hostsCPU   float64 // the hosts' processes' CPU seconds (-sdk node)
	dup        int
	started    int
	reconnects int64
	retried    int64
	dialed     int64 // dialRetried
	askedAgain int64
	switches   int64        // the server's context switches
	counts     serverCounts // the server's counters
	hasCounts  bool
}

// startLevel forgets the sockets and first error of the previous level and
// returns what the new one's figures count from.
func (d *driver) startLevel() levelStart {
	d.mu.Lock()
	d.sockets, d.firstErr = 0, ""
	d.mu.Unlock()
	s := levelStart{cpu: procstat.CPU(d.pid), self: procstat.CPU(os.Getpid()), switches: procstat.Switches(d.pid)}
	s.counts, s.hasCounts = d.countsNow()
	if d.hosts != nil {
		s.hostsCPU, _ = d.hosts.cpu()
	}
	s.dup, s.started, s.reconnects, s.retried = d.starts.duplicates(), d.starts.started(), d.reconnects.Load(), d.retried.Load()
	s.dialed, s.askedAgain = d.dialRetried.Load(), d.askedAgain.Load()
	s.t0 = time.Now()
	return s
}

// endLevel returns the figures of the level started at s, whose runs t
// tallied, now that its runs have ended.
func (d *driver) endLevel(s levelStart, t *tally, mode string, operators int) levelResult {
	elapsed := time.Since(s.t0)
	cpu := procstat.CPU(d.pid) - s.cpu
	r := levelResult{DriverCPUSeconds: procstat.CPU(os.Getpid()) - s.self, Mode: mode, Operators: operators,
		Completed: t.n[completed], Wrong: t.n[wrong], Lost: t.n[lost], Failed: t.n[failed],
		Seconds: elapsed.Seconds(), CPUSeconds: cpu, RSSMiB: float64(procstat.RSS(d.pid)) / (1 << 20), LoadAvg: loadAverage()}
	r.Runs = r.Completed + r.Wrong + r.Lost + r.Failed
	r.Duplicated = d.starts.duplicates() - s.dup
	r.Started = d.starts.started() - s.started
	r.Reconnects, r.Retried = int(d.reconnects.Load()-s.reconnects), int(d.retried.Load()-s.retried)
	r.DialRetried = int(d.dialRetried.Load() - s.dialed)
	r.AskedAgain = int(d.askedAgain.Load() - s.askedAgain)
	r.RunsPerS = float64(r.Completed) / elapsed.Seconds()
	if d.hosts != nil {
		if c, own := d.hosts.cpu(); own {
			r.HostsCPUSeconds = c - s.hostsCPU
		}
	}
	if r.Completed > 0 {
		r.HostsCPUPerRun = r.HostsCPUSeconds * 1000 / float64(r.Completed)
		r.CPUPerRun = cpu * 1000 / float64(r.Completed)
		if s.switches > 0 {
			r.SwitchesPerRun = float64(procstat.Switches(d.pid)-s.switches) / float64(r.Completed)
		}
		if c, ok := d.countsNow(); ok && s.hasCounts {
			r.CommitsPerRun = (c.Commits - s.counts.Commits) / float64(r.Completed)
			r.HostPaced = int(c.HostPaced - s.counts.HostPaced)
		}
	}
	r.AnswerP50, r.AnswerP99, r.AnswerMax = ms(t.answers)
	r.RenderP50, r.RenderP99, _ = ms(t.renders)
	r.TotalP50, r.TotalP99, r.TotalMax = ms(t.totals)
	d.mu.Lock()
	r.Sockets, r.FirstError = d.sockets, d.firstErr
	d.mu.Unlock()
	return r
}

// column is one column of the levels' table: its heading and its cell.
type column struct {
	head string
	cell func(r levelResult) string
}

// col is a column whose cell is v(r) printed with format.
func col[T any](head, format string, v func(r levelResult) T) column {
	return column{head, func(r levelResult) string { return fmt.Sprintf(format, v(r)) }}
}

// levelTable is how one mode prints its levels.
type levelTable struct {
	cols []column
	// at names a level in the line of its first error ("at 2 operators").
	at func(r levelResult) string
}

// table returns the columns of a mode's table: its own first column, the
// runs and answer→completion latencies, its own latency columns, then the
// outcomes and the processes' figures.
func table(first column, latencies ...column) []column {
	cols := []column{first,
		col("runs", "%d", func(r levelResult) int { return r.Runs }),
		col("runs/s", "%.0f", func(r levelResult) float64 { return r.RunsPerS }),
		col("answer→done p50", "%.2f", func(r levelResult) float64 { return r.AnswerP50 }),
		col("p99", "%.2f", func(r levelResult) float64 { return r.AnswerP99 }),
		col("max ms", "%.1f", func(r levelResult) float64 { return r.AnswerMax }),
	}
	cols = append(cols, latencies...)
	return append(cols,
		col("lost", "%d", func(r levelResult) int { return r.Lost }),
		col("wrong", "%d", func(r levelResult) int { return r.Wrong }),
		col("duplicated", "%d", func(r levelResult) int { return r.Duplicated }),
		col("not created", "%d", func(r levelResult) int { return r.Failed }),
		col("sockets", "%d", func(r levelResult) int { return r.Sockets }),
		col("server CPU s", "%.2f", func(r levelResult) float64 { return r.CPUSeconds }),
		col("CPU/run ms", "%.2f", func(r levelResult) float64 { return r.CPUPerRun }),
		col("switches/run", "%.1f", func(r levelResult) float64 { return r.SwitchesPerRun }),
		col("commits/run", "%.2f", func(r levelResult) float64 { return r.CommitsPerRun }),
		col("RSS MiB", "%.0f", func(r levelResult) float64 { return r.RSSMiB }),
		col("driver CPU s", "%.2f", func(r levelResult) float64 { return r.DriverCPUSeconds }),
		col("load avg", "%s", func(r levelResult) string { return r.LoadAvg }),
	)
}

// operatorsTable is the closed-loop mode's table.
var operatorsTable = levelTable{
	cols: table(col("operators", "%d", func(r levelResult) int { return r.Operators }),
		col("render p50", "%.2f", func(r levelResult) float64 { return r.RenderP50 }),
		col("p99 ms", "%.2f", func(r levelResult) float64 { return r.RenderP99 })),
	at: func(r levelResult) string { return fmt.Sprintf("%d operators", r.Operators) },
}

// ratesTable is the open-loop mode's table.
var ratesTable = levelTable{
	cols: table(col("offered/s", "%.0f", func(r levelResult) float64 { return r.Rate }),
		col("create→done p50", "%.2f", func(r levelResult) float64 { return r.TotalP50 }),
		col("p99", "%.2f", func(r levelResult) float64 { return r.TotalP99 }),
		col("max ms", "%.1f", func(r levelResult) float64 { return r.TotalMax })),
	at: func(r levelResult) string { return fmt.Sprintf("%.0f runs/s offered", r.Rate) },
}

// line returns the table's row of cells (cell(c) of each column c), each
// ended by a tab, then a newline.
func (lt levelTable) line(cell func(c column) string) string {
	var b strings.Builder
	for _, c := range lt.cols {
		b.WriteString(cell(c))
		b.WriteByte('\t')
	}
	b.WriteByte('\n')
	return b.String()
}

// levels measures n levels and writes each to w as it ends: a row of the
// table lt (the table followed by the first error of each level that had
// one) or, with cfg.JSON, a JSON line. Level i is measure(i, true), a
// warm-up left out of the report (when cfg.Warmup is set), then
// measure(i, false); the levels are added to rep.
func levels(ctx context.Context, cfg config, rep report, w io.Writer, lt levelTable, n int, measure func(i int, warmup bool) levelResult) (report, error) {
	var tw *tabwriter.Writer
	if !cfg.JSON {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, lt.line(func(c column) string { return c.head }))
	}
	for i := range n {
		if cfg.Warmup > 0 {
			measure(i, true)
		}
		if ctx.Err() != nil {
			break
		}
		r := measure(i, false)
		r.Hosts = cfg.Hosts
		rep.Levels = append(rep.Levels, r)
		if cfg.JSON {
			b, _ := json.Marshal(r)
			fmt.Fprintf(w, "%s\n", b)
			continue
		}
		fmt.Fprint(tw, lt.line(func(c column) string { return c.cell(r) }))
	}
	if tw != nil {
		tw.Flush()
		for _, r := range rep.Levels {
			if r.HostsCPUSeconds > 0 {
				fmt.Fprintf(w, "at %s: the hosts' processes used %.2f s of CPU, %.3f ms a run\n", lt.at(r), r.HostsCPUSeconds, r.HostsCPUPerRun)
			}
			if r.HostPaced > 0 {
				fmt.Fprintf(w, "at %s: host sockets were read no faster than their call rate %d times (latency includes those pauses: add -hosts, or raise -host-calls-per-second)\n", lt.at(r), r.HostPaced)
			}
			if r.AskedAgain > 0 {
				fmt.Fprintf(w, "at %s: runs asked their operator again %d times for an answer the server had acknowledged\n", lt.at(r), r.AskedAgain)
			}
			if r.FirstError != "" {
				fmt.Fprintf(w, "first error at %s: %s\n", lt.at(r), r.FirstError)
			}
		}
	}
	return rep, ctx.Err()
}

// countsNow returns the server's counters so far; false when they cannot
// be read (an external server, or its metrics failed).
func (d *driver) countsNow() (serverCounts, bool) {
	if d.counts == nil {
		return serverCounts{}, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := d.counts(ctx)
	if err != nil {
		d.log.Warn("reading the server's counters", "err", err)
		return serverCounts{}, false
	}
	return c, true
}
