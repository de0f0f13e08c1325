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
