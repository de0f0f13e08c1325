package store

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkCommitLatency commits batches like the server's under load (a
// run's creation with its audit event and four updates of other runs) one
// after the other on an SQLite file, and reports the commit's p50, p99 and
// worst latency: the checkpoints that copy the WAL into the database show
// in the tail.
func BenchmarkCommitLatency(b *testing.B) {
	ctx := context.Background()
	st, err := OpenFile(ctx, filepath.Join(b.TempDir(), FileName))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const active = 64
	for i := range active {
		if err := st.CreateTransaction(ctx, newTx(fmt.Sprint("live", i))); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		c := newTx(fmt.Sprint("new", i))
		ev := AuditEvent{At: ts(i), ActorEmail: "a@example.com", Action: "run.started", Target: c.ID, Detail: []byte(`{"slug":"act"}`)}
		ws := []Write{{Create: &c, Audit: &ev}}
		for k := range 4 {
			u := newTx(fmt.Sprint("live", (i*4+k)%active))
			u.Status, u.Result = StatusRunning, fmt.Sprint("step ", i)
			ws = append(ws, Write{Tx: &u})
		}
		errs := make([]error, len(ws))
		start := time.Now()
		if err := st.WriteBatch(ctx, ws, errs); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(q(0.5), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
}
