package server

import (
	"os"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"sync"
)

// DefaultGCHeadroom is Options.GCHeadroom's default: 16 MiB.
const DefaultGCHeadroom = 16 << 20

// maxGCPercent bounds the GC percent the headroom sets: a live heap so
// small that the headroom would need more is still collected at least
// this often (64 KiB live: a 6.5 MiB goal).
const maxGCPercent = 10000

// The GC headroom keeps the heap's goal at least a fixed number of bytes
// above the live heap. GOGC alone sets the goal at a percentage of the
// live heap (100: twice it, but at least 4 MiB): the server's live heap is
// small (a few MiB until thousands of sockets are open) and what it
// allocates per run is short-lived, so under load the collector ran tens
// of times a second, scanning every goroutine's stack each time, for
// little to collect. After each collection the headroom sets the GC
// percent to whichever is larger: GOGC's (the percent found at start), or
// the one that puts the goal headroom bytes above what was live. A large
// live heap is collected exactly as GOGC says; a GOMEMLIMIT still caps the
// heap (the runtime collects harder near it, whatever the percent).
//
// It is one per process, shared by the servers running in it (the largest
// headroom of those running wins); the percent found at start is put back
// when the last one ends. It leaves the collector alone when the GOGC
// environment variable is set, or the collector is off.
var gcHeadroom struct {
	mu      sync.Mutex
	servers map[*Server]int64 // running servers and their headroom
	base    int               // the GC percent found when the first started
	gen     uint64            // bumped at each start: an older sentinel ends
	samples []rtmetrics.Sample
	percent int // the last percent set
}

// startGCHeadroom counts s among the servers keeping a headroom of bytes
// (no-op for bytes <= 0, or when GOGC is set in the environment).
func startGCHeadroom(s *Server, bytes int64) {
	if bytes <= 0 || os.Getenv("GOGC") != "" {
		return
	}
	g := &gcHeadroom
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.servers) == 0 {
		g.base = debug.SetGCPercent(100)
		debug.SetGCPercent(g.base)
		if g.base < 0 {
			return // the collector is off: nothing to tune
		}
		g.servers = map[*Server]int64{}
		g.samples = []rtmetrics.Sample{{Name: "/gc/heap/live:bytes"}}
		g.percent = g.base
		g.gen++
		armGCHeadroom(g.gen)
	}
	g.servers[s] = bytes
	tuneGCHeadroom()
}

// stopGCHeadroom ends s's part in the headroom; the last server out puts
// the GC percent back.
func stopGCHeadroom(s *Server) {
	g := &gcHeadroom
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.servers[s]; !ok {
		return
	}
	delete(g.servers, s)
	if len(g.servers) == 0 {
		g.gen++ // the armed sentinel does not re-arm
		debug.SetGCPercent(g.base)
		g.percent = g.base
	}
}

// gcSentinel is an object nothing refers to: its finalizer runs after the
// collection that found it unreachable, once per cycle.
type gcSentinel struct {
	gen uint64
	_   [16]byte // not a tiny allocation: those share a block and linger
}

// armGCHeadroom makes the next collection call afterGC.
func armGCHeadroom(gen uint64) {
	runtime.SetFinalizer(&gcSentinel{gen: gen}, afterGC)
}

// afterGC runs on the finalizer goroutine after a collection: it tunes the
// percent for the next one and arms the next sentinel, unless the servers
// ended meanwhile.
func afterGC(sn *gcSentinel) {
	g := &gcHeadroom
	g.mu.Lock()
	defer g.mu.Unlock()
	if sn.gen != g.gen || len(g.servers) == 0 {
		return
	}
	tuneGCHeadroom()
	armGCHeadroom(g.gen)
}

// tuneGCHeadroom sets the GC percent from the live heap of the last
// collection (gcHeadroom.mu held).
func tuneGCHeadroom() {
	g := &gcHeadroom
	var headroom int64
	for _, b := range g.servers {
		headroom = max(headroom, b)
	}
	rtmetrics.Read(g.samples)
	live := int64(0)
	if v := g.samples[0].Value; v.Kind() == rtmetrics.KindUint64 {
		live = int64(v.Uint64())
	}
	p := gcPercentFor(live, headroom, g.base)
	// A change of a few percent is not worth the controller's update.
	if p != g.percent && (p > g.percent+g.percent/16 || p < g.percent-g.percent/16 || p == g.base) {
		debug.SetGCPercent(p)
		g.percent = p
	}
}

// gcPercentFor returns the GC percent that puts the heap's goal headroom
// bytes above live, never below base nor above maxGCPercent.
func gcPercentFor(live, headroom int64, base int) int {
	if live <= 0 {
		live = 1 << 20
	}
	p := headroom * 100 / live
	if p > maxGCPercent {
		p = maxGCPercent
	}
	return max(int(p), base)
}
