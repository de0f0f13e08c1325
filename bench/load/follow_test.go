package main

import (
	"bytes"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestDuplicatesCounted: a second start of one run is a duplicate, told
// with the run's id; starts of different runs are not.
func TestDuplicatesCounted(t *testing.T) {
	var logs bytes.Buffer
	s := starts{log: slog.New(slog.NewTextHandler(&logs, nil))}
	for _, id := range []string{"a", "b", "a", "c", "a"} {
		s.start(id)
	}
	if got := s.duplicates(); got != 2 {
		t.Fatalf("duplicates %d, want 2", got)
	}
	if got := logs.String(); strings.Count(got, `msg="a host started a run again" run=a`) != 2 || strings.Contains(got, "run=b") {
		t.Fatalf("log:\n%s", got)
	}
	if (*starts)(nil).duplicates() != 0 {
		t.Fatal("no hosts of ours: no duplicates")
	}
}

// TestReconnectDelay: the console's back-off, 500 ms doubling to 8 s, ±20 %.
func TestReconnectDelay(t *testing.T) {
	for n, want := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second} {
		if d := reconnectDelay(n); d < want*8/10 || d > want*12/10 {
			t.Errorf("attempt %d: %v, want %v ±20%%", n, d, want)
		}
	}
}

// TestArrivals: even arrivals are spaced by 1/rate; Poisson arrivals vary
// and average 1/rate.
func TestArrivals(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	even := arrivals(1000, false, rng)
	for range 10 {
		if g := even(); g != time.Millisecond {
			t.Fatalf("even gap %v, want 1ms", g)
		}
	}
	poisson := arrivals(1000, true, rng)
	var sum time.Duration
	distinct := map[time.Duration]bool{}
	const n = 20000
	for range n {
		g := poisson()
		sum += g
		distinct[g] = true
	}
	if mean := sum / n; mean < 950*time.Microsecond || mean > 1050*time.Microsecond || len(distinct) < n/2 {
		t.Fatalf("poisson: mean gap %v over %d, %d distinct", mean, n, len(distinct))
	}
}
