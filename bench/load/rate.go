package main

import (
	"context"
	"math/rand/v2"
	"os"
	"sync"
	"time"
)

// Open-loop load (-rate): runs arrive at a rate that does not depend on
// how fast the server answers, as many independent operators clicking
// Run do. The closed-loop levels (-operators) measure what N operators
// who wait for each run get; they cannot say what the server does at a
// given offered load, since a slower server is offered less. Each
// arrival is run in its own goroutine by the next operator of a pool,
// on whichever of its sockets has calls left in the current second (it
// opens another, up to -max-sockets, when none has), so any number of
// runs overlap. A run's create→completion latency counts from its
// arrival: an arrival that waits for a socket's budget, or a server
// that is slow to create the run, shows in it.

// rateOperators is how many operators (console sessions' tabs) share the
// arrivals of the rate mode, round robin.
const rateOperators = 4

// arrivals returns the gaps between arrivals at rate runs a second:
// exponential (a Poisson process) when poisson is set, even otherwise.
func arrivals(rate float64, poisson bool, rng *rand.Rand) func() time.Duration {
	mean := float64(time.Second) / rate
	if !poisson {
		return func() time.Duration { return time.Duration(mean) }
	}
	return func() time.Duration { return time.Duration(rng.ExpFloat64() * mean) }
}

// rateLevel offers rate runs a second for duration (Poisson arrivals when
// poisson is set, evenly spaced otherwise), waits for every run started
// to end (completed, or lost after the timeout), and reports.
func (d *driver) rateLevel(ctx context.Context, rate float64, poisson bool, duration time.Duration) levelResult {
	d.mu.Lock()
	d.sockets, d.firstErr = 0, ""
	d.mu.Unlock()
	ops := make([]*operator, rateOperators)
	for i := range ops {
		ops[i] = &operator{d: d}
	}
	defer func() {
		for _, o := range ops {
			o.mu.Lock()
			o.close()
			o.mu.Unlock()
		}
	}()
	var t tally
	cpu0, self0 := procCPU(d.pid), procCPU(os.Getpid())
	dup0, rec0, ret0 := d.starts.duplicates(), d.reconnects.Load(), d.retried.Load()
	gap := arrivals(rate, poisson, rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 15)))
	t0 := time.Now()
	end := t0.Add(duration)
	var wg sync.WaitGroup
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	next := t0
	for i := 0; ctx.Err() == nil; i++ {
		next = next.Add(gap())
		if !next.Before(end) {
			break
		}
		// Sleep to the arrival; one that is already due (the driver fell
		// behind) starts at once, so the offered rate holds on average.
		if w := time.Until(next); w > 0 {
			timer.Reset(w)
			select {
			case <-timer.C:
			case <-ctx.Done():
			}
		}
		arrival := next
		o := ops[i%len(ops)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			o.mu.Lock()
			b, err := o.socket(ctx, callsPerRun)
			o.mu.Unlock()
			if err != nil {
				d.noteErr(err)
				t.add(sample{outcome: failed})
				return
			}
			t.add(d.run(ctx, o, b, arrival))
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	cpu := procCPU(d.pid) - cpu0
	r := levelResult{DriverCPUSeconds: procCPU(os.Getpid()) - self0, Mode: "rate", Rate: rate, Operators: len(ops),
		Completed: t.n[completed], Wrong: t.n[wrong], Lost: t.n[lost], Failed: t.n[failed],
		Seconds: elapsed.Seconds(), CPUSeconds: cpu, RSSMiB: float64(procRSS(d.pid)) / (1 << 20), LoadAvg: loadAverage()}
	r.Arrivals = "even"
	if poisson {
		r.Arrivals = "poisson"
	}
	r.Runs = r.Completed + r.Wrong + r.Lost + r.Failed
	r.Duplicated = d.starts.duplicates() - dup0
	r.Reconnects, r.Retried = int(d.reconnects.Load()-rec0), int(d.retried.Load()-ret0)
	r.RunsPerS = float64(r.Completed) / elapsed.Seconds()
	if r.Completed > 0 {
		r.CPUPerRun = cpu * 1000 / float64(r.Completed)
	}
	r.AnswerP50, r.AnswerP99, r.AnswerMax = ms(t.answers)
	r.RenderP50, r.RenderP99, _ = ms(t.renders)
	r.TotalP50, r.TotalP99, r.TotalMax = ms(t.totals)
	d.mu.Lock()
	r.Sockets, r.FirstError = d.sockets, d.firstErr
	d.mu.Unlock()
	return r
}
