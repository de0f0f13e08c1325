package main

import (
	"context"
	"math/rand/v2"
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
	gap := arrivals(rate, poisson, rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 15)))
	start := d.startLevel()
	t0 := start.t0
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
	r := d.endLevel(start, &t, "rate", len(ops))
	r.Rate = rate
	r.Arrivals = "even"
	if poisson {
		r.Arrivals = "poisson"
	}
	return r
}
