package server

import (
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/interval-go/sdk/server/store"
)

// BenchmarkMetricsPerRun is the metrics work of one run with one answered
// IO call: created, started, answered, rendered, completed, and the store
// writes such a run makes (create, four updates), each timed. Divided by
// BenchmarkTransaction's CPU per run, it is the share of a run's CPU the
// metrics take (docs/operations.md).
func BenchmarkMetricsPerRun(b *testing.B) {
	e := newEnv(b, Options{})
	m := e.s.metrics
	is := &instrumentedStore{m: m}
	t := &txn{rec: store.Transaction{Slug: "bench", Env: store.EnvProduction, CreatedAt: time.Now(), ResultStatus: "SUCCESS"}}
	var err error
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.created(t)
		is.observe("create_transaction", true, time.Now(), &err)
		m.started(t)
		is.observe("update_transaction", true, time.Now(), &err)
		is.observe("update_transaction", true, time.Now(), &err)
		m.answered(t)
		is.observe("update_transaction", true, time.Now(), &err)
		m.rendered(t)
		m.completed(t)
		is.observe("update_transaction", true, time.Now(), &err)
	}
}

// BenchmarkMetricsScrape is one scrape of /metrics (a server with some
// series), which Prometheus makes every 15 s or so, whatever the load.
func BenchmarkMetricsScrape(b *testing.B) {
	e := newEnv(b, Options{})
	m := e.s.metrics
	for i := 0; i < 50; i++ {
		t := &txn{rec: store.Transaction{Slug: "a" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Env: store.EnvProduction, CreatedAt: time.Now(), ResultStatus: "SUCCESS"}}
		m.created(t)
		m.completed(t)
	}
	h := e.s.MetricsHandler()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", MetricsPath, nil))
		io.Copy(io.Discard, w.Body)
	}
}
