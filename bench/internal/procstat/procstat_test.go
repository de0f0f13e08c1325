package procstat

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// A process's context switches are read from its threads: a thread that
// sleeps in the kernel gives up the CPU, so the count grows; no process,
// no count.
func TestSwitches(t *testing.T) {
	if Switches(0) != 0 {
		t.Fatal("switches counted for no process")
	}
	pid := os.Getpid()
	before := Switches(pid)
	for range 5 {
		// A system call that sleeps, not time.Sleep, which may park the
		// goroutine without the thread ever sleeping.
		syscall.Nanosleep(&syscall.Timespec{Nsec: int64(time.Millisecond)}, nil)
	}
	if after := Switches(pid); before <= 0 || after < before+5 {
		t.Fatalf("switches of this process: %d, then %d after five sleeps", before, after)
	}
}

// A process's CPU time grows while it computes, and its resident memory
// grows by what it touches; no process, no figures.
func TestCPUAndRSS(t *testing.T) {
	if CPU(0) != 0 || RSS(0) != 0 {
		t.Fatal("figures for no process")
	}
	pid := os.Getpid()
	before := CPU(pid)
	for start := time.Now(); time.Since(start) < 100*time.Millisecond; {
		// spin: CPU time, not sleep
	}
	if after := CPU(pid); after < before+0.05 {
		t.Fatalf("CPU of this process: %.3f s, then %.3f s after spinning 100 ms", before, after)
	}
	rss := RSS(pid)
	b := make([]byte, 64<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1 // touched, so resident
	}
	if grown := RSS(pid); rss <= 0 || grown < rss+48<<20 {
		t.Fatalf("RSS of this process: %d, then %d after touching 64 MiB", rss, grown)
	}
	_ = b[len(b)-1]
}
