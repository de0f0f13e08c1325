package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

const metricsToken = "scrape-secret"

// scrape is one parsed scrape of /metrics.
type scrape map[string]*dto.MetricFamily

// scrapeURL fetches url (with the bearer token when not empty) and parses
// the text exposition format.
func scrapeURL(t *testing.T, url, token string) scrape {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: HTTP %d %s", url, resp.StatusCode, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	return scrape(fams)
}

func (e *env) scrape(t *testing.T) scrape {
	t.Helper()
	return scrapeURL(t, e.hs.URL+MetricsPath, metricsToken)
}

// metric returns the sample of name whose labels include the pairs
// (name, value, name, value...), or nil.
func (s scrape) metric(name string, pairs ...string) *dto.Metric {
	f, ok := s[name]
	if !ok {
		return nil
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(pairs); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		return m
	}
	return nil
}

// value is a counter's or gauge's value (-1 when absent).
func (s scrape) value(name string, pairs ...string) float64 {
	m := s.metric(name, pairs...)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return -1
}

// count is a histogram's sample count (-1 when absent).
func (s scrape) count(name string, pairs ...string) int {
	m := s.metric(name, pairs...)
	if m == nil || m.Histogram == nil {
		return -1
	}
	return int(m.Histogram.GetSampleCount())
}

func (s scrape) want(t *testing.T, got, want float64, what string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// Real runs move the counters and histograms a scrape of /metrics shows:
// runs created, started and completed by status and action, their
// duration, the answer→render latency, hosts, browsers, open runs and
// store writes.
func TestMetricsAfterRuns(t *testing.T) {
	e := newEnv(t, Options{MetricsToken: metricsToken})
	admin := e.admin()
	h := e.host(admin.key(store.EnvDevelopment), "", action("job"))
	b := admin.browser()
	dev := []string{"action", "job", "environment", store.EnvDevelopment}

	// Run 1 waits on the operator, who answers; the host renders again
	// and completes.
	id := admin.startRun(b, h, "job", store.EnvDevelopment)
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("r1", "g1", "INPUT_TEXT")})
	b.next(protocol.MethodRender)
	m := e.scrape(t)
	m.want(t, m.value("interval_server_runs_open", "status", store.StatusAwaitingInput), 1, "runs_open{AWAITING_INPUT}")
	m.want(t, m.value("interval_server_browser_sockets"), 1, "browser_sockets")
	m.want(t, m.value("interval_server_hosts_online", "environment", store.EnvDevelopment), 1, "hosts_online{development}")
	m.want(t, m.value("interval_server_hosts_online", "environment", store.EnvProduction), 0, "hosts_online{production}")
	m.want(t, m.value("interval_server_action_hosts_online", dev...), 1, "action_hosts_online{job}")
	m.want(t, m.value("interval_server_host_sockets", "status", hostOnline), 1, "host_sockets{ONLINE}")
	if n := m.count("interval_server_answer_to_render_seconds", dev...); n > 0 {
		t.Fatalf("answer_to_render observed %d times before any answer", n)
	}
	b.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id,
		IOResponse: ioResponse(id, "r1", "g1", protocol.KindReturn, "hi")})
	h.next(protocol.MethodIOResponse)
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("r2", "g2", "DISPLAY_HEADING")})
	complete(t, h, id, "done")
	b.next(protocol.MethodTransactionCompleted)

	// Run 2 is canceled by the operator.
	id2 := admin.startRun(b, h, "job", store.EnvDevelopment)
	admin.do("POST", "/api/console/transactions/"+id2+"/cancel", nil, http.StatusNoContent, nil)
	b.next(protocol.MethodTransactionCompleted)

	m = e.scrape(t)
	m.want(t, m.value("interval_server_runs_created_total", dev...), 2, "runs_created_total")
	m.want(t, m.value("interval_server_runs_started_total", dev...), 2, "runs_started_total")
	m.want(t, m.value("interval_server_runs_completed_total", append(dev, "status", "SUCCESS")...), 1, "runs_completed_total{SUCCESS}")
	m.want(t, m.value("interval_server_runs_completed_total", append(dev, "status", "CANCELED")...), 1, "runs_completed_total{CANCELED}")
	m.want(t, float64(m.count("interval_server_run_duration_seconds", append(dev, "status", "SUCCESS")...)), 1, "run_duration_seconds{SUCCESS} count")
	m.want(t, float64(m.count("interval_server_run_duration_seconds", append(dev, "status", "CANCELED")...)), 1, "run_duration_seconds{CANCELED} count")
	m.want(t, float64(m.count("interval_server_answer_to_render_seconds", dev...)), 1, "answer_to_render_seconds count")
	m.want(t, m.value("interval_server_runs_open", "status", store.StatusAwaitingInput), 0, "runs_open{AWAITING_INPUT} after the runs")
	if n := m.count("interval_server_store_write_duration_seconds", "operation", "create_transaction"); n != 2 {
		t.Errorf("store writes create_transaction: %d, want 2", n)
	}
	// The runs' state changes (started, awaiting, running, completed) are
	// committed in batches.
	if n := m.count("interval_server_store_write_duration_seconds", "operation", "write_batch"); n < 1 {
		t.Errorf("store writes write_batch: %d, want at least 1", n)
	}
	m.want(t, m.value("interval_server_store_errors_total", "operation", "write_batch"), -1, "store_errors_total{write_batch} (no error yet)")
	if m.metric("go_goroutines") == nil || m.metric("process_cpu_seconds_total") == nil {
		t.Error("Go runtime and process collectors missing")
	}

	// The host leaves: the action has no host (what an alert watches).
	h.close()
	waitFor(t, func() bool {
		return e.scrape(t).value("interval_server_action_hosts_online", dev...) == 0
	}, "action_hosts_online{job} to drop to 0")
	m = e.scrape(t)
	m.want(t, m.value("interval_server_hosts_online", "environment", store.EnvDevelopment), 0, "hosts_online after the host left")
}

// waitFor polls cond until it holds, failing the test after wait.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s", what)
		}
	}
}

// The main listener never serves metrics to a browser: without
// MetricsToken not at all, with it only to the bearer token (a console
// session, even an admin's, is not enough). MetricsHandler serves them on
// a listener of its own.
func TestMetricsAuthorization(t *testing.T) {
	t.Run("no token", func(t *testing.T) {
		e := newEnv(t, Options{})
		admin := e.admin()
		resp, err := admin.http.Get(e.hs.URL + MetricsPath)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), "interval_server_") {
			t.Fatalf("main listener served metrics without MetricsToken: HTTP %d", resp.StatusCode)
		}
		sep := httptest.NewServer(e.s.MetricsHandler())
		defer sep.Close()
		m := scrapeURL(t, sep.URL+MetricsPath, "")
		if m.metric("interval_server_runs_created_total") == nil && m.metric("interval_server_hosts_online") == nil {
			t.Fatal("MetricsHandler serves no server metrics")
		}
		for _, p := range []string{HealthzPath, ReadyzPath} {
			if code, body := get(t, sep.URL+p); code != http.StatusOK || body != "ok" {
				t.Fatalf("MetricsHandler %s: %d %q", p, code, body)
			}
		}
	})
	t.Run("token", func(t *testing.T) {
		e := newEnv(t, Options{MetricsToken: metricsToken})
		admin := e.admin()
		// The admin's browser session, with the console header.
		if code := admin.try("GET", MetricsPath, nil, nil); code != http.StatusUnauthorized {
			t.Fatalf("metrics with a console session: HTTP %d, want 401", code)
		}
		for _, auth := range []string{"", "Bearer wrong", "Bearer " + metricsToken + "x", "Basic " + metricsToken} {
			req, _ := http.NewRequest("GET", e.hs.URL+MetricsPath, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("Authorization %q: HTTP %d, want 401", auth, resp.StatusCode)
			}
		}
		m := e.scrape(t)
		m.want(t, m.value("interval_server_auth_refusals_total", "reason", refusedMetrics), 5, "auth_refusals_total{metrics_token}")
	})
}

// Hosts declare slugs, so the action label is capped: past
// MetricsMaxActions distinct actions, runs count under OtherAction.
func TestMetricsActionCap(t *testing.T) {
	e := newEnv(t, Options{MetricsToken: metricsToken, MetricsMaxActions: 2})
	admin := e.admin()
	h := e.host(admin.key(store.EnvDevelopment), "", action("a"), action("b"), action("c"), action("d"))
	b := admin.browser()
	for _, slug := range []string{"a", "b", "c", "d"} {
		id := admin.startRun(b, h, slug, store.EnvDevelopment)
		complete(t, h, id, nil)
		b.next(protocol.MethodTransactionCompleted)
	}
	m := e.scrape(t)
	labelled := map[string]float64{}
	for _, s := range m["interval_server_runs_completed_total"].GetMetric() {
		for _, l := range s.Label {
			if l.GetName() == "action" {
				labelled[l.GetValue()] += s.Counter.GetValue()
			}
		}
	}
	if len(labelled) != 3 || labelled[OtherAction] != 2 {
		t.Fatalf("runs_completed_total by action: %v; want 2 actions and 2 runs under %s", labelled, OtherAction)
	}
	if n := len(m["interval_server_action_hosts_online"].GetMetric()); n != 2 {
		t.Fatalf("action_hosts_online has %d series, want 2", n)
	}
	if v := m.value("interval_server_metrics_action_overflow_total"); v <= 0 {
		t.Fatalf("action_overflow_total %v", v)
	}
}

// failingLogStore fails every log write at once.
type failingLogStore struct{ store.Store }

func (failingLogStore) AppendLog(context.Context, string, store.Log) error {
	return errors.New("disk I/O error")
}

// A store write that fails counts in store_errors_total and its duration
// is observed all the same.
func TestMetricsStoreErrors(t *testing.T) {
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, Options{Store: failingLogStore{st}, MetricsToken: metricsToken})
	admin := e.admin()
	h := e.host(admin.key(store.EnvDevelopment), "", action("job"))
	b := admin.browser()
	id := admin.startRun(b, h, "job", store.EnvDevelopment)
	for i := 0; i < 3; i++ {
		var ok bool
		if err := h.call(protocol.MethodSendLog, protocol.SendLogInputs{TransactionID: id, Data: fmt.Sprint("line ", i)}, &ok); err != nil || ok {
			t.Fatalf("SEND_LOG to a failing store: %v %v", err, ok)
		}
	}
	m := e.scrape(t)
	m.want(t, m.value("interval_server_store_errors_total", "operation", "append_log"), 3, "store_errors_total{append_log}")
	m.want(t, float64(m.count("interval_server_store_write_duration_seconds", "operation", "append_log")), 3, "store_write_duration_seconds{append_log} count")
	// Not-found answers are no errors.
	admin.do("GET", "/api/console/transactions/nope", nil, http.StatusNotFound, nil)
	m = e.scrape(t)
	m.want(t, m.value("interval_server_store_errors_total", "operation", "transaction"), -1, "store_errors_total{transaction} after a not-found")
}

// Refusals count by reason and rate limits by limit.
func TestMetricsRefusalsAndLimits(t *testing.T) {
	e := newEnv(t, Options{MetricsToken: metricsToken})
	admin := e.admin()
	// A host with an unknown key.
	if _, err := dialHost(t, e, "not-a-key", ""); err == nil {
		t.Fatal("host with an unknown key connected")
	}
	// A wrong password, and a member asking for the users list.
	var out struct{ LoginLink string }
	admin.do("POST", "/api/console/users", map[string]any{"email": "m@example.com", "role": store.RoleMember, "teams": []string{}}, http.StatusCreated, &out)
	member := e.login(out.LoginLink)
	if code := member.try("POST", "/api/auth/login", map[string]string{"email": "m@example.com", "password": "wrong"}, nil); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: HTTP %d", code)
	}
	if code := member.try("GET", "/api/console/users", nil, nil); code != http.StatusForbidden {
		t.Fatalf("member lists users: HTTP %d", code)
	}
	// A browser flooding its socket is closed.
	b := admin.browser()
	for i := 0; i < 100000; i++ {
		if err := b.conn.Send(context.Background(), string(protocol.AppendEnvelope(nil, protocol.Envelope{
			ID: "x", Kind: "CALL", MethodName: protocol.MethodInitializeClient}))); err != nil {
			break
		}
	}
	<-b.conn.Done()
	if code, _ := closeStatus(b.conn.Err()); code != websocket.StatusPolicyViolation {
		t.Fatalf("flooding browser closed with %v", b.conn.Err())
	}
	// The host API beyond its rate.
	key := admin.key(store.EnvProduction)
	for calls := 0; ; calls++ {
		if calls > 30*hostAPIBurst {
			t.Fatal("host API never limited")
		}
		if code, _ := hostAPI(t, e, key, "/api/actions/dequeue", map[string]any{"id": "nope"}); code == http.StatusTooManyRequests {
			break
		}
	}
	m := e.scrape(t)
	m.want(t, m.value("interval_server_auth_refusals_total", "reason", refusedAPIKey), 1, "auth_refusals_total{api_key}")
	m.want(t, m.value("interval_server_auth_refusals_total", "reason", refusedPassword), 1, "auth_refusals_total{password}")
	m.want(t, m.value("interval_server_auth_refusals_total", "reason", refusedRole), 1, "auth_refusals_total{role}")
	m.want(t, m.value("interval_server_auth_refusals_total", "reason", refusedSession), 0, "auth_refusals_total{session}")
	m.want(t, m.value("interval_server_rate_limited_total", "limit", limitBrowserSocket), 1, "rate_limited_total{browser_socket}")
	m.want(t, m.value("interval_server_rate_limited_total", "limit", limitHostAPI), 1, "rate_limited_total{host_api}")
	m.want(t, m.value("interval_server_rate_limited_total", "limit", limitHostSocket), 0, "rate_limited_total{host_socket}")
}
