package server

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/interval-go/sdk/server/store"
)

// MetricsPath is where MetricsHandler serves the Prometheus metrics, and
// where the main listener serves them when Options.MetricsToken is set.
const MetricsPath = "/metrics"

// DefaultMetricsMaxActions is the default of Options.MetricsMaxActions.
const DefaultMetricsMaxActions = 200

// OtherAction is the action label of the runs of actions beyond
// Options.MetricsMaxActions distinct ones. No slug has parentheses.
const OtherAction = "(other)"

// maxLabelSlug is the longest slug used as a label value; longer ones
// count as OtherAction.
const maxLabelSlug = 128

// metrics are the server's Prometheus metrics, on a registry of its own
// (two servers in one process do not collide).
type metrics struct {
	reg *prometheus.Registry

	runsCreated    *prometheus.CounterVec
	runsStarted    *prometheus.CounterVec
	runsCompleted  *prometheus.CounterVec
	runDuration    *prometheus.HistogramVec
	answerToRender *prometheus.HistogramVec
	storeWrite     *prometheus.HistogramVec
	storeErrors    *prometheus.CounterVec
	rateLimited    *prometheus.CounterVec
	authRefused    *prometheus.CounterVec
	labelOverflow  prometheus.Counter

	// actions are the action slugs used as label values, at most max:
	// hosts declare slugs, and a key holder could declare without end.
	mu      sync.Mutex
	max     int
	actions map[string]struct{}
	// seen are the (action, environment) pairs ever run or declared, for
	// interval_server_action_hosts_online to report 0 when no host is
	// left for one.
	seen map[[2]string]struct{}
}

// Label values of interval_server_rate_limited_total{limit}.
const (
	limitHostSocket    = "host_socket"
	limitBrowserSocket = "browser_socket"
	limitHostAPI       = "host_api"
	limitLogin         = "login"
)

// Label values of interval_server_auth_refusals_total{reason}.
const (
	refusedAPIKey   = "api_key" // a host socket or host API call with an unknown or revoked key
	refusedNoAPIKey = "no_api_key"
	refusedSession  = "session" // a browser socket with an unknown or expired session
	refusedOrigin   = "origin"  // a browser socket from another origin
	refusedPassword = "password"
	refusedRole     = "role" // a console API call above the user's role
	refusedMetrics  = "metrics_token"
)

func newMetrics(s *Server, maxActions int) *metrics {
	m := &metrics{
		reg:     prometheus.NewRegistry(),
		max:     maxActions,
		actions: map[string]struct{}{},
		seen:    map[[2]string]struct{}{},
		runsCreated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "interval_server_runs_created_total",
			Help: "Runs (transactions) created by operators in the console.",
		}, []string{"action", "environment"}),
		runsStarted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "interval_server_runs_started_total",
			Help: "START_TRANSACTION calls sent to hosts (a run given to another host after a failed delivery counts again).",
		}, []string{"action", "environment"}),
		runsCompleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "interval_server_runs_completed_total",
			Help: "Runs finished, by result status (SUCCESS, FAILURE, CANCELED, REDIRECTED).",
		}, []string{"action", "environment", "status"}),
		runDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "interval_server_run_duration_seconds",
			Help:    "Time from a run's creation to its end, operator's time included.",
			Buckets: []float64{0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 3600, 4 * 3600},
		}, []string{"action", "environment", "status"}),
		answerToRender: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "interval_server_answer_to_render_seconds",
			Help:    "Time from an operator's answer reaching the server to the host's next render (or the run's end): the host's computing time plus two network trips.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"action", "environment"}),
		storeWrite: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "interval_server_store_write_duration_seconds",
			Help:    "Duration of the store's writes, failed or not, by operation.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5},
		}, []string{"operation"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "interval_server_store_errors_total",
			Help: "Store calls that failed (not found and conflict answers are not failures), by operation.",
		}, []string{"operation"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "interval_server_rate_limited_total",
			Help: "Requests and sockets held back by a rate limit: host_socket (seconds a host socket was read no faster than its limit), browser_socket (sockets closed), host_api (HTTP 429), login (password logins throttled).",
		}, []string{"limit"}),
		authRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "interval_server_auth_refusals_total",
			Help: "Authentication and authorization refusals, by reason: api_key, no_api_key, session, origin, password, role, metrics_token.",
		}, []string{"reason"}),
		labelOverflow: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "interval_server_metrics_action_overflow_total",
			Help: "Observations labelled action=\"(other)\" because more distinct actions than Options.MetricsMaxActions were seen.",
		}),
	}
	m.reg.MustRegister(m.runsCreated, m.runsStarted, m.runsCompleted, m.runDuration, m.answerToRender,
		m.storeWrite, m.storeErrors, m.rateLimited, m.authRefused, m.labelOverflow,
		&hubCollector{s: s, m: m},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, l := range []string{limitHostSocket, limitBrowserSocket, limitHostAPI, limitLogin} {
		m.rateLimited.WithLabelValues(l)
	}
	for _, r := range []string{refusedAPIKey, refusedNoAPIKey, refusedSession, refusedOrigin, refusedPassword, refusedRole, refusedMetrics} {
		m.authRefused.WithLabelValues(r)
	}
	return m
}

// action returns slug as a label value: itself while fewer than max
// distinct slugs were seen, OtherAction beyond.
func (m *metrics) action(slug string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.actions[slug]; ok {
		return slug
	}
	if len(m.actions) >= m.max || len(slug) > maxLabelSlug {
		m.labelOverflow.Inc()
		return OtherAction
	}
	m.actions[slug] = struct{}{}
	return slug
}

// see notes that slug runs in env, for interval_server_action_hosts_online.
func (m *metrics) see(slug, env string) {
	if slug == OtherAction {
		return
	}
	m.mu.Lock()
	m.seen[[2]string{slug, env}] = struct{}{}
	m.mu.Unlock()
}

// declared notes the actions a websocket host declared (hb.mu held).
func (m *metrics) declared(h *host) {
	if h.request != nil {
		return
	}
	for slug := range h.actions {
		m.see(m.action(slug), h.env())
	}
}

// created counts a run an operator created.
func (m *metrics) created(t *txn) {
	a := m.action(t.rec.Slug)
	m.see(a, t.rec.Env)
	m.runsCreated.WithLabelValues(a, t.rec.Env).Inc()
}

// started counts a START_TRANSACTION sent.
func (m *metrics) started(t *txn) {
	m.runsStarted.WithLabelValues(m.action(t.rec.Slug), t.rec.Env).Inc()
}

// completed counts a run's end (hb.mu held, t.rec already final).
func (m *metrics) completed(t *txn) {
	m.rendered(t)
	a := m.action(t.rec.Slug)
	m.runsCompleted.WithLabelValues(a, t.rec.Env, t.rec.ResultStatus).Inc()
	end := time.Now()
	if t.rec.CompletedAt != nil {
		end = *t.rec.CompletedAt
	}
	m.runDuration.WithLabelValues(a, t.rec.Env, t.rec.ResultStatus).Observe(end.Sub(t.rec.CreatedAt).Seconds())
}

// answered notes when an operator's answer to t's current render reached
// the server (hb.mu held).
func (m *metrics) answered(t *txn) { t.answeredAt = time.Now() }

// rendered observes the time since the last answer, if any, when t's host
// renders again or t ends (hb.mu held).
func (m *metrics) rendered(t *txn) {
	if t.answeredAt.IsZero() {
		return
	}
	m.answerToRender.WithLabelValues(m.action(t.rec.Slug), t.rec.Env).Observe(time.Since(t.answeredAt).Seconds())
	t.answeredAt = time.Time{}
}

func (m *metrics) limited(limit string)  { m.rateLimited.WithLabelValues(limit).Inc() }
func (m *metrics) refused(reason string) { m.authRefused.WithLabelValues(reason).Inc() }

// hubCollector reads the hub's state at scrape time: hosts, browser
// sockets, unfinished runs and queued actions cost nothing between
// scrapes.
type hubCollector struct {
	s *Server
	m *metrics
}

var (
	descHostsOnline = prometheus.NewDesc("interval_server_hosts_online",
		"Hosts that take new runs (websocket hosts connected, initialized and not shutting down; serverless hosts whose last check succeeded).",
		[]string{"environment"}, nil)
	descActionHosts = prometheus.NewDesc("interval_server_action_hosts_online",
		"Online hosts serving an action, for every action run or declared since the server started (0: runs of it fail with NoHostOnline).",
		[]string{"action", "environment"}, nil)
	descBrowsers = prometheus.NewDesc("interval_server_browser_sockets",
		"Console sockets open.", nil, nil)
	descHostSockets = prometheus.NewDesc("interval_server_host_sockets",
		"Host websockets open, by status (ONLINE, SHUTTING_DOWN).", []string{"status"}, nil)
	descRunsOpen = prometheus.NewDesc("interval_server_runs_open",
		"Unfinished runs the server holds, by status (PENDING, RUNNING, AWAITING_INPUT, HOST_DROPPED).",
		[]string{"status"}, nil)
	descQueued = prometheus.NewDesc("interval_server_queued_actions",
		"Actions queued for operators (POST /api/actions/enqueue) and not dequeued yet.",
		[]string{"environment"}, nil)
)

func (c *hubCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descHostsOnline, descActionHosts, descBrowsers, descHostSockets, descRunsOpen, descQueued} {
		ch <- d
	}
}

func (c *hubCollector) Collect(ch chan<- prometheus.Metric) {
	envs := []string{store.EnvDevelopment, store.EnvProduction}
	hb := c.s.hub
	online := map[string]int{}
	serving := map[[2]string]int{}
	sockets := map[string]int{hostOnline: 0, hostShuttingDown: 0}
	runs := map[string]int{store.StatusPending: 0, store.StatusRunning: 0, store.StatusAwaitingInput: 0, store.StatusHostDropped: 0}
	hb.mu.Lock()
	for _, h := range hb.hosts {
		if h.gone || h.request != nil {
			continue
		}
		sockets[h.status]++
		if !h.initialized || h.status != hostOnline {
			continue
		}
		online[h.env()]++
		for slug := range h.actions {
			serving[[2]string{slug, h.env()}]++
		}
	}
	for _, hh := range hb.httpHosts {
		if hh.status != hostOnline {
			continue
		}
		online[hh.rec.Env]++
		for slug := range hh.actions {
			serving[[2]string{slug, hh.rec.Env}]++
		}
	}
	browsers := 0
	for _, bs := range hb.browsers {
		browsers += len(bs)
	}
	for _, t := range hb.txs {
		if !t.finished() {
			runs[t.rec.Status]++
		}
	}
	hb.mu.Unlock()

	for _, env := range envs {
		ch <- prometheus.MustNewConstMetric(descHostsOnline, prometheus.GaugeValue, float64(online[env]), env)
	}
	c.m.mu.Lock()
	for k := range c.m.seen {
		ch <- prometheus.MustNewConstMetric(descActionHosts, prometheus.GaugeValue, float64(serving[k]), k[0], k[1])
	}
	c.m.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(descBrowsers, prometheus.GaugeValue, float64(browsers))
	for st, n := range sockets {
		ch <- prometheus.MustNewConstMetric(descHostSockets, prometheus.GaugeValue, float64(n), st)
	}
	for st, n := range runs {
		ch <- prometheus.MustNewConstMetric(descRunsOpen, prometheus.GaugeValue, float64(n), st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	for _, env := range envs {
		// Through the instrumented store: a failure counts in
		// interval_server_store_errors_total and the gauge is left out.
		if q, err := c.s.store.ListQueued(ctx, env); err == nil {
			ch <- prometheus.MustNewConstMetric(descQueued, prometheus.GaugeValue, float64(len(q)), env)
		}
	}
}

// MetricsHandler serves the server's Prometheus metrics (text exposition
// format) to anyone who reaches it, with HealthzPath and ReadyzPath: mount
// it on a listener of its own that only the monitoring network reaches
// (cmd/interval-server's -metrics-addr). The main listener serves metrics
// only with Options.MetricsToken.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(MetricsPath, s.promHandler())
	mux.HandleFunc(HealthzPath, func(w http.ResponseWriter, r *http.Request) { s.serveHealth(w, r) })
	mux.HandleFunc(ReadyzPath, func(w http.ResponseWriter, r *http.Request) { s.serveHealth(w, r) })
	return mux
}

// MetricsGatherer is the registry of the server's metrics, for a program
// that embeds the server and serves its own metrics beside them
// (prometheus.Gatherers{prometheus.DefaultGatherer, s.MetricsGatherer()}).
// It includes the Go runtime and process collectors.
func (s *Server) MetricsGatherer() prometheus.Gatherer { return s.metrics.reg }

func (s *Server) promHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{ErrorLog: slogPromLogger{s}})
}

// serveMetricsAuthorized serves MetricsPath on the main listener: only
// with Options.MetricsToken set and presented as a bearer token (404
// without the option, so the path reveals nothing).
func (s *Server) serveMetricsAuthorized(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path != MetricsPath {
		return false
	}
	if s.opts.MetricsToken == "" {
		return false // the console's not-found page, as for any unknown path
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.opts.MetricsToken)) != 1 {
		s.metrics.refused(refusedMetrics)
		s.log.Warn("metrics refused: missing or wrong bearer token", "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
		writeErr(w, http.StatusUnauthorized, "Metrics need the metrics bearer token.")
		return true
	}
	w.Header().Set("Cache-Control", "no-store")
	s.promHandler().ServeHTTP(w, r)
	return true
}

// slogPromLogger logs promhttp's errors (a collector that failed).
type slogPromLogger struct{ s *Server }

func (l slogPromLogger) Println(v ...any) {
	l.s.log.Error("serving metrics", "err", strings.TrimSpace(fmt.Sprintln(v...)))
}
