// Package procstat reads what the benchmark programs report of a process
// from Linux's /proc.
package procstat

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Switches returns how many times the threads of process pid gave up
// the CPU (voluntary and not: a thread that blocks or is woken costs a
// context switch each time), summed over its threads alive now; 0 when it
// cannot be read.
func Switches(pid int) int64 {
	if pid == 0 {
		return 0
	}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0
	}
	var n int64
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, t.Name()))
		if err != nil {
			continue // the thread ended meanwhile
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
				k, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				n += k
			} else if v, ok := strings.CutPrefix(line, "nonvoluntary_ctxt_switches:"); ok {
				k, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				n += k
			}
		}
	}
	return n
}
