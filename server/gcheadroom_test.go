package server

import (
	"runtime"
	rtmetrics "runtime/metrics"
	"testing"
)

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live, headroom int64
		base, want     int
	}{
		{2 * mib, 32 * mib, 100, 1600},           // a small heap: the headroom decides
		{64 * mib, 32 * mib, 100, 100},           // a large one: GOGC does
		{32 * mib, 32 * mib, 200, 200},           // never below the percent found
		{1024, 32 * mib, 100, maxGCPercent},      // bounded
		{0, 32 * mib, 100, 3200},                 // no collection yet: 1 MiB assumed
		{10 * mib, 32 * mib, 50, 320},            // a GOGC below 100 still gets the headroom
		{300 * mib, DefaultGCHeadroom, 100, 100}, // thousands of sockets open
	} {
		if got := gcPercentFor(c.live, c.headroom, c.base); got != c.want {
			t.Errorf("gcPercentFor(%d, %d, %d) = %d, want %d", c.live, c.headroom, c.base, got, c.want)
		}
	}
}

// gogc reads the GC percent in force.
func gogc() int {
	s := []rtmetrics.Sample{{Name: "/gc/gogc:percent"}}
	rtmetrics.Read(s)
	return int(s[0].Value.Uint64())
}

// A running server keeps the heap's goal its headroom above the live heap:
// after a collection the GC percent is the one that does it; once the
// server ends the percent found before is back. With GOGC set in the
// environment the collector is left alone.
func TestGCHeadroomWhileServing(t *testing.T) {
	t.Setenv("GOGC", "") // as if unset, whatever the test process was started with
	before := gogc()
	const headroom = 512 << 20 // far above this test process's live heap
	e := newEnv(t, Options{GCHeadroom: headroom})
	runtime.GC()
	waitFor(t, func() bool {
		runtime.GC() // the tuning follows a collection
		return gogc() > before
	}, "the GC percent to follow the headroom")
	s := []rtmetrics.Sample{{Name: "/gc/heap/live:bytes"}}
	rtmetrics.Read(s)
	live := int64(s[0].Value.Uint64())
	if p, want := gogc(), gcPercentFor(live, headroom, before); p < want*3/4 || p > want*5/4 {
		t.Fatalf("GC percent %d with %d bytes live, want about %d", p, live, want)
	}
	var cycles0 = gcCycles()
	sink := make([][]byte, 64)
	for i := range 64 << 10 { // 64 MiB of short-lived garbage, 1 KiB at a time
		sink[i%len(sink)] = make([]byte, 1024)
	}
	if n := gcCycles() - cycles0; n > 1 {
		t.Errorf("%d collections for 64 MiB of garbage under a 512 MiB headroom", n)
	}
	e.stop()
	if p := gogc(); p != before {
		t.Fatalf("GC percent %d after the server ended, want %d back", p, before)
	}

	t.Setenv("GOGC", "100")
	newEnv(t, Options{GCHeadroom: headroom})
	runtime.GC()
	runtime.GC()
	if p := gogc(); p != before {
		t.Fatalf("GC percent %d with GOGC set in the environment", p)
	}
}

func gcCycles() uint64 {
	s := []rtmetrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	rtmetrics.Read(s)
	return s[0].Value.Uint64()
}
