package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

// Serverless ("HTTP") hosts, PROTOCOL.md §3.5. An admin registers a URL; the
// server checks it by POSTing {"httpHostId"} (the host declares its routes
// through POST /api/hosts/declare and answers 2xx), at start, at
// registration and periodically. When an operator runs an action or opens a
// page that no websocket host serves, the server POSTs {"requestId"} to an
// ONLINE HTTP host and waits for a websocket host to initialize with that
// request id, then starts the transaction (or opens the page) on it.

// Defaults of the serverless host options.
const (
	DefaultHTTPHostTimeout       = 60 * time.Second
	DefaultHTTPHostCheckInterval = 5 * time.Minute
	DefaultHTTPHostRetryInterval = 30 * time.Second
)

// Limits of the requests to HTTP hosts.
const (
	// httpCheckTimeout bounds one check of an HTTP host (its declaration
	// included).
	httpCheckTimeout = 30 * time.Second
	// httpRequestMaxAge is how long after its creation a request id is
	// accepted by INITIALIZE_HOST, as in Interval.
	httpRequestMaxAge = time.Minute
	// httpAnswerGrace is how long the server waits for a host's HTTP answer
	// once the request's connection closed; an unfinished transaction
	// fails after httpFailGrace of it, with the answer if it came.
	httpAnswerGrace = 10 * time.Second
	httpFailGrace   = 2 * time.Second
	// maxHTTPHostURL bounds a registered URL.
	maxHTTPHostURL = 2048
	// httpAnswerSnippet bounds the part of an error answer kept for logs
	// and the console.
	httpAnswerSnippet = 300
)

// Statuses of an HTTP host (API.md HTTPHost.status).
const (
	httpHostChecking    = "CHECKING"
	httpHostUnreachable = "UNREACHABLE"
)

// errHTTPHost wraps a failed request to an HTTP host.
var errHTTPHost = errors.New("serverless host")

// httpHost is a registered serverless host (hb.mu guards it).
type httpHost struct {
	rec        store.HTTPHost
	status     string
	lastErr    string
	checkedAt  time.Time
	declaredAt time.Time
	checking   bool
	sdkName    string
	sdkVersion string
	impl       *protocol.Implementation // what the host says it is, when it says
	actions    map[string]protocol.ActionDefinition
	pages      map[string]protocol.PageDefinition
	active     int // requests in flight
}

// httpRequest is one run request sent to an HTTP host (hb.mu guards it).
type httpRequest struct {
	id        string
	hh        *httpHost
	env       string
	createdAt time.Time
	txID      string // the transaction it starts, or
	pageKey   string // the page it opens
	used      bool   // a socket initialized with it
	answered  bool   // the host answered the POST
	answerErr error  // and how
	done      bool   // failed or ended: refused from now on
	failMsg   string // why it failed
	sock      *host
	ready     chan struct{} // closed once sock may be used, or on failure
	sockEnded chan struct{} // closed when sock closed
}

// serverless runs the server's outbound work, each piece in a goroutine
// that ends when the server does: requests to HTTP hosts, and the
// notification emails and Slack posts (deliverNotification).
type serverless struct {
	ctx    context.Context
	cancel context.CancelFunc
	client *http.Client
	tr     *http.Transport

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

func newServerless() *serverless {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	sl := &serverless{tr: tr, client: &http.Client{Transport: tr,
		// A serverless host answers where it is registered; following a
		// redirect would POST to another address.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	sl.ctx, sl.cancel = context.WithCancel(context.Background())
	return sl
}

// spawn runs f in a goroutine that the server waits for; false when the
// server is closing.
func (sl *serverless) spawn(f func(ctx context.Context)) bool {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.closed {
		return false
	}
	sl.wg.Add(1)
	go func() {
		defer sl.wg.Done()
		f(sl.ctx)
	}()
	return true
}

// stop cancels every request and waits for them.
func (sl *serverless) stop() {
	sl.mu.Lock()
	sl.closed = true
	sl.mu.Unlock()
	sl.cancel()
	sl.wg.Wait()
	sl.tr.CloseIdleConnections()
}

// post POSTs body to u and returns nil for a 2xx answer.
func (sl *serverless) post(ctx context.Context, u string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%w: %v", errHTTPHost, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := sl.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is shown elsewhere
		}
		return fmt.Errorf("%w unreachable: %w", errHTTPHost, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, httpAnswerSnippet))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := strings.TrimSpace(strings.ToValidUTF8(string(snippet), "?"))
		if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode < 400 {
			msg = "redirected to " + protocol.Clip(logURL(loc), 200) + "; register the final URL"
		}
		if msg == "" {
			return fmt.Errorf("%w answered HTTP %d", errHTTPHost, resp.StatusCode)
		}
		return fmt.Errorf("%w answered HTTP %d: %s", errHTTPHost, resp.StatusCode, msg)
	}
	return nil
}

// logURL is u as logs show it: without its query and fragment, which may
// carry a secret (an Azure Functions ?code= key, a signed URL), nor user
// information.
func logURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	if p.RawQuery != "" || p.ForceQuery {
		p.RawQuery, p.ForceQuery = "…", false
	}
	p.Fragment, p.RawFragment, p.User = "", "", nil
	return p.String()
}

func (s *Server) httpHostTimeout() time.Duration {
	if s.opts.HTTPHostTimeout > 0 {
		return s.opts.HTTPHostTimeout
	}
	return DefaultHTTPHostTimeout
}

// --- checks ---

// httpHostLoop loads the registered HTTP hosts, checks them all, then checks
// ONLINE ones every HTTPHostCheckInterval and the others every
// HTTPHostRetryInterval, until ctx ends; then it stops every request.
func (hb *hub) httpHostLoop(ctx context.Context) {
	defer hb.sl.stop()
	check := hb.s.opts.HTTPHostCheckInterval
	if check <= 0 {
		check = DefaultHTTPHostCheckInterval
	}
	retry := hb.s.opts.HTTPHostRetryInterval
	if retry <= 0 {
		retry = DefaultHTTPHostRetryInterval
	}
	hb.syncHTTPHosts(ctx, false)
	tick := min(retry, check)
	for {
		now := time.Now()
		hb.mu.Lock()
		var due []string
		for id, hh := range hb.httpHosts {
			every := check
			if hh.status != hostOnline {
				every = retry
			}
			if !hh.checking && now.Sub(hh.checkedAt) >= every {
				due = append(due, id)
			}
		}
		hb.mu.Unlock()
		for _, id := range due {
			hb.sl.spawn(func(ctx context.Context) { hb.checkHTTPHost(ctx, id) })
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(tick):
		}
	}
}

// syncHTTPHosts loads the registered HTTP hosts from the store; with
// prune, it also forgets those no longer registered (another replica
// registered or removed one).
func (hb *hub) syncHTTPHosts(ctx context.Context, prune bool) {
	recs, err := hb.s.store.ListHTTPHosts(ctx)
	if err != nil {
		if ctx.Err() == nil {
			hb.s.log.Error("loading serverless hosts", "err", err)
		}
		return
	}
	hb.mu.Lock()
	defer hb.mu.Unlock()
	listed := map[string]bool{}
	for _, rec := range recs {
		listed[rec.ID] = true
		if _, ok := hb.httpHosts[rec.ID]; !ok {
			hb.httpHosts[rec.ID] = newHTTPHost(rec)
		}
	}
	if prune {
		for id := range hb.httpHosts {
			if !listed[id] {
				delete(hb.httpHosts, id) // requests in flight carry on
			}
		}
	}
}

func newHTTPHost(rec store.HTTPHost) *httpHost {
	return &httpHost{rec: rec, status: httpHostChecking,
		actions: map[string]protocol.ActionDefinition{}, pages: map[string]protocol.PageDefinition{}}
}

// checkHTTPHost checks the host with that id unless a check of it is under
// way.
func (hb *hub) checkHTTPHost(ctx context.Context, id string) {
	hb.mu.Lock()
	hh := hb.httpHosts[id]
	if hh == nil || hh.checking {
		hb.mu.Unlock()
		return
	}
	hh.checking = true
	hb.mu.Unlock()
	hb.runCheck(ctx, hh)
}

// runCheck POSTs {"httpHostId"} to a host whose checking flag it holds: a
// 2xx answer after the host declared its routes makes it ONLINE, anything
// else UNREACHABLE.
func (hb *hub) runCheck(ctx context.Context, hh *httpHost) {
	id, u := hh.rec.ID, hh.rec.URL // immutable
	start := time.Now()
	cctx, cancel := context.WithTimeout(ctx, httpCheckTimeout)
	err := hb.sl.post(cctx, u, map[string]string{"httpHostId": id})
	cancel()

	hb.mu.Lock()
	defer hb.mu.Unlock()
	hh.checking = false
	if ctx.Err() != nil {
		return // abandoned (the server is closing): the answer says nothing
	}
	if err == nil && hh.declaredAt.Before(start) {
		err = fmt.Errorf("%w answered without declaring its routes (is it an Interval serverless host with a live API key?)", errHTTPHost)
	}
	was := hh.status
	hh.checkedAt = time.Now()
	if err != nil {
		hh.status, hh.lastErr = httpHostUnreachable, err.Error()
		if was != httpHostUnreachable {
			hb.s.log.Warn("serverless host unreachable", "httpHost", id, "url", logURL(u), "err", err)
		} else {
			hb.s.log.Debug("serverless host still unreachable", "httpHost", id, "url", logURL(u), "err", err)
		}
		return
	}
	hh.status, hh.lastErr = hostOnline, ""
	if was != hostOnline {
		hb.s.log.Info("serverless host online", "httpHost", id, "url", logURL(u), "actions", len(hh.actions), "pages", len(hh.pages))
	}
}

// declareHTTPHost records the routes a serverless host declared (POST
// /api/hosts/declare). It returns false for an unknown host or another
// environment's key.
func (hb *hub) declareHTTPHost(k store.APIKey, in protocol.DeclareHostInputs, actions map[string]protocol.ActionDefinition, pages map[string]protocol.PageDefinition) bool {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	hh := hb.httpHosts[in.HTTPHostID]
	if hh == nil || hh.rec.Env != k.Env {
		return false
	}
	hh.actions, hh.pages = actions, pages
	hh.sdkName, hh.sdkVersion, hh.impl = in.SDKName, in.SDKVersion, in.Implementation
	hh.declaredAt = time.Now()
	return true
}

// --- choosing and running ---

// pickHTTPHost chooses the ONLINE HTTP host serving slug in env with the
// fewest requests in flight, rotating among equally busy ones (hb.mu held).
func (hb *hub) pickHTTPHost(env, slug string, page bool) *httpHost {
	var cands []*httpHost
	for _, hh := range hb.httpHosts {
		if hh.status != hostOnline || hh.rec.Env != env {
			continue
		}
		if page {
			if p, ok := hh.pages[slug]; !ok || !p.HasHandler {
				continue
			}
		} else if _, ok := hh.actions[slug]; !ok {
			continue
		}
		cands = append(cands, hh)
	}
	if len(cands) == 0 {
		return nil
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].rec.ID < cands[j].rec.ID })
	least := cands[:0:0]
	for _, hh := range cands {
		switch {
		case len(least) == 0 || hh.active < least[0].active:
			least = append(least[:0], hh)
		case hh.active == least[0].active:
			least = append(least, hh)
		}
	}
	hh := least[hb.rr%uint64(len(least))]
	hb.rr++
	return hh
}

// newRequest records a run request to hh (hb.mu held) and starts sending
// it; nil when the server is closing.
func (hb *hub) newRequest(hh *httpHost, env, txID, pageKey string) *httpRequest {
	r := &httpRequest{id: uuid.NewString(), hh: hh, env: env, createdAt: time.Now(), txID: txID, pageKey: pageKey,
		ready: make(chan struct{}), sockEnded: make(chan struct{})}
	if !hb.sl.spawn(func(ctx context.Context) { hb.runRequest(ctx, r) }) {
		return nil
	}
	hb.requests[r.id] = r
	hh.active++
	hb.s.log.Info("asking a serverless host to run", "httpHost", hh.rec.ID, "url", logURL(hh.rec.URL), "request", r.id,
		"transaction", txID, "page", pageKey)
	return r
}

// startViaHTTP asks hh to run t (hb.mu held). The operator sees the
// transaction starting meanwhile.
func (hb *hub) startViaHTTP(t *txn, hh *httpHost) {
	if d, ok := hh.actions[t.rec.Slug]; ok {
		if !canAccess(t.user, d.Access) {
			hb.fail(t, "Forbidden", "You do not have access to this action.")
			return
		}
		t.backgroundable = boolOr(d.Backgroundable, false)
	}
	r := hb.newRequest(hh, t.rec.Env, t.rec.ID, "")
	if r == nil {
		hb.fail(t, "ServerClosing", "The server is shutting down.")
		return
	}
	t.viaHTTP = r
	t.rec.ViaHTTPHost = true
	hb.save(t)
	ls := protocol.LoadingState{Label: "Starting the serverless host…"}
	t.loading = &ls
	if t.browser != nil {
		t.browser.call(protocol.MethodLoadingState, protocol.LoadingStateInputs{TransactionID: t.rec.ID, LoadingState: ls}, nil)
	}
}

// runRequest POSTs {"requestId"} to the request's host and follows the
// request until it is over: the host's socket initialized with it and
// ended, or the host failed, or it did not connect in time.
func (hb *hub) runRequest(ctx context.Context, r *httpRequest) {
	rctx, cancel := context.WithCancel(ctx)
	answer := make(chan error, 1)
	go func() { answer <- hb.sl.post(rctx, r.hh.rec.URL, map[string]string{"requestId": r.id}) }()
	answered := false
	defer func() {
		cancel()
		if !answered {
			<-answer
		}
		hb.endRequest(r)
	}()
	timeout := hb.s.httpHostTimeout()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	// fail fails the request unless the host connected meanwhile.
	fail := func(hostFault bool, msg string) bool { return hb.failRequest(r, hostFault, msg) }
	pending := answer
wait:
	for {
		select {
		case <-r.ready:
			break wait
		case err := <-pending:
			answered, pending = true, nil
			if err != nil {
				if fail(true, fmt.Sprintf("The serverless host failed: %s.", strings.TrimPrefix(err.Error(), errHTTPHost.Error()+" "))) {
					return
				}
				break wait
			}
			// A 2xx answer before connecting: a host that works
			// asynchronously may still connect.
		case <-timer.C:
			msg := fmt.Sprintf("The serverless host did not connect within %v.", timeout)
			if answered {
				msg = fmt.Sprintf("The serverless host answered but did not connect within %v.", timeout)
			}
			if fail(false, msg) {
				return
			}
			break wait
		case <-ctx.Done():
			if fail(false, "The server is shutting down.") {
				return
			}
			break wait
		}
	}
	if hb.requestFailed(r) {
		return
	}
	// Connected: the socket runs the work; the HTTP answer comes at the end.
	if answered {
		return
	}
	select {
	case err := <-answer:
		answered = true
		hb.logAnswer(r, err)
		hb.noteAnswer(r, err)
		return
	case <-r.sockEnded:
	case <-ctx.Done():
		return
	}
	// The socket closed first: its transaction, if unfinished, fails with
	// the host's answer when it comes soon.
	grace := time.NewTimer(httpAnswerGrace)
	defer grace.Stop()
	failAt := time.NewTimer(httpFailGrace)
	defer failAt.Stop()
	for !answered {
		select {
		case err := <-answer:
			answered = true
			hb.logAnswer(r, err)
			hb.noteAnswer(r, err)
		case <-failAt.C:
			hb.mu.Lock()
			hb.failLostRequest(r)
			hb.mu.Unlock()
		case <-grace.C:
			hb.s.log.Info("serverless host did not answer after its connection closed; dropping the request", "request", r.id, "url", logURL(r.hh.rec.URL))
			return
		case <-ctx.Done():
			return
		}
	}
}

// noteAnswer records the host's HTTP answer and fails the request's
// transaction if its socket closed before it finished.
func (hb *hub) noteAnswer(r *httpRequest, err error) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	r.answered, r.answerErr = true, err
	select {
	case <-r.sockEnded:
		hb.failLostRequest(r)
	default:
	}
}

// failLostRequest fails the unfinished transaction of a request whose
// socket closed (hb.mu held): a serverless request is not resumed.
func (hb *hub) failLostRequest(r *httpRequest) {
	t := hb.txs[r.txID]
	if r.txID == "" || t == nil || t.viaHTTP != r || t.finished() {
		return
	}
	msg := "The serverless host closed its connection before the action finished."
	if r.answerErr != nil {
		msg += " " + strings.TrimPrefix(r.answerErr.Error(), errHTTPHost.Error()+" ")
	}
	hb.s.log.Warn("serverless host closed its connection before the action finished", "transaction", t.rec.ID, "request", r.id, "url", logURL(r.hh.rec.URL), "answer", r.answerErr)
	hb.fail(t, "ServerlessHostClosed", msg)
}

func (hb *hub) logAnswer(r *httpRequest, err error) {
	if err != nil {
		hb.s.log.Warn("serverless host answered with an error after connecting", "request", r.id, "url", logURL(r.hh.rec.URL), "err", err)
		return
	}
	hb.s.log.Debug("serverless host finished the request", "request", r.id)
}

func (hb *hub) requestFailed(r *httpRequest) bool {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	return r.failMsg != ""
}

// failRequest fails a request whose host did not connect: its transaction
// fails with msg, its page's opener gets msg. hostFault marks the host
// UNREACHABLE until its next check. It returns false, doing nothing, when
// the host connected meanwhile (or the request is over).
func (hb *hub) failRequest(r *httpRequest, hostFault bool, msg string) bool {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	return hb.failRequestLocked(r, hostFault, msg)
}

// failRequestLocked is failRequest with hb.mu held.
func (hb *hub) failRequestLocked(r *httpRequest, hostFault bool, msg string) bool {
	if r.done || r.sock != nil {
		return false
	}
	r.done, r.failMsg = true, msg
	close(r.ready)
	hb.s.log.Warn("serverless request failed", "httpHost", r.hh.rec.ID, "url", logURL(r.hh.rec.URL), "request", r.id,
		"transaction", r.txID, "page", r.pageKey, "err", msg)
	if hostFault {
		r.hh.status, r.hh.lastErr, r.hh.checkedAt = httpHostUnreachable, msg, time.Now()
	}
	if t := hb.txs[r.txID]; t != nil && t.viaHTTP == r && !t.finished() {
		hb.fail(t, "ServerlessHostFailed", msg)
	}
	return true
}

// endRequest forgets a request that is over.
func (hb *hub) endRequest(r *httpRequest) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if hb.requests[r.id] == r {
		delete(hb.requests, r.id)
		r.hh.active--
	}
	r.done = true
}

// requestSocketEnded notes that the socket of a request closed (hb.mu
// held).
func (hb *hub) requestSocketEnded(r *httpRequest) {
	select {
	case <-r.sockEnded:
	default:
		close(r.sockEnded)
	}
}

// initRequestHost answers INITIALIZE_HOST with a requestId: the socket of a
// serverless host dialing in for a request. It validates the request (it
// exists, its key's environment matches, it was not used, it is less than
// a minute old) but registers no routes: the socket runs that request only.
// The work starts once the answer reached the host (startRequest).
func (s *Server) initRequestHost(h *host, in protocol.InitializeHostInputs) protocol.InitializeHostReturns {
	if in.SDKName == "" || in.SDKVersion == "" {
		return protocol.InitializeHostReturns{Type: "error", Message: "Unsupported SDK version"}
	}
	actions, pages, invalid := parseRoutes(in)
	hb := s.hub
	hb.mu.Lock()
	r := hb.requests[in.RequestID]
	var why string
	switch {
	case r == nil:
		why = "unknown or finished request"
	case r.done:
		why = "request failed or ended"
	case r.used:
		why = "request already used"
	case time.Since(r.createdAt) > httpRequestMaxAge:
		why = "request older than a minute"
	case h.key.Env != r.env:
		why = "API key of another environment (serverless hosts need a live key)"
	}
	if why != "" {
		hb.mu.Unlock()
		h.e.log.Warn("refusing serverless host initialization", "request", protocol.Clip(in.RequestID, 64), "err", why)
		return protocol.InitializeHostReturns{Type: "error", Message: "Invalid action request"}
	}
	r.used, r.sock = true, h
	h.request = r
	h.sdkName, h.sdkVersion, h.impl = in.SDKName, in.SDKVersion, in.Implementation
	h.actions, h.pages = actions, pages
	h.initialized = true
	hb.mu.Unlock()
	h.e.afterInitResponse(func(err error) { hb.startRequest(r, h, err) })
	h.e.log.Info("serverless host connected for its request", "request", r.id, "sdk", in.SDKName, "version", in.SDKVersion)
	return protocol.InitializeHostReturns{
		Type:           "success",
		Environment:    h.env(),
		InvalidSlugs:   invalid,
		Organization:   &protocol.Organization{Name: s.org.Name, Slug: s.org.Slug},
		DashboardURL:   s.baseURL(nil) + "/",
		Warnings:       []string{},
		Implementation: serverImplementation,
	}
}

// startRequest starts a request's work on its socket once the host has
// its INITIALIZE_HOST answer (sent is the error of sending it).
func (hb *hub) startRequest(r *httpRequest, h *host, sent error) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if sent != nil || h.gone || h.e.ctx.Err() != nil {
		r.sock = nil
		hb.failRequestLocked(r, false, "The serverless host's connection closed during initialization.")
		return
	}
	if r.done {
		h.e.closeWith(1000, "Nothing to run: the request is over.")
		return
	}
	if r.txID == "" {
		if p := hb.pages[r.pageKey]; p == nil || p.host != nil {
			hb.s.log.Info("serverless host connected for a page that is closed; closing it", "request", r.id, "page", r.pageKey)
			h.e.closeWith(1000, "Nothing to run: the page was closed.")
		}
		close(r.ready) // requestPage is waiting on it
		return
	}
	close(r.ready)
	t := hb.txs[r.txID]
	if t == nil || t.viaHTTP != r || t.finished() {
		hb.s.log.Info("serverless host connected for a transaction that is over; closing it", "request", r.id, "transaction", r.txID)
		h.e.closeWith(1000, "Nothing to run: the transaction is over.")
		return
	}
	hb.startOn(t, h)
}

// --- console API ---

type httpHostJSON struct {
	ID         string     `json:"id"`
	URL        string     `json:"url"`
	Env        string     `json:"env"`
	Status     string     `json:"status"`
	LastError  string     `json:"lastError,omitempty"`
	CheckedAt  *time.Time `json:"checkedAt,omitempty"`
	DeclaredAt *time.Time `json:"declaredAt,omitempty"`
	SDKName    string     `json:"sdkName,omitempty"`
	SDKVersion string     `json:"sdkVersion,omitempty"`
	// Implementation is the SDK behind the host when it names itself
	// (this project's hosts do): "interval-go 0.1.0".
	Implementation string    `json:"implementation,omitempty"`
	Actions        int       `json:"actions"`
	Pages          int       `json:"pages"`
	CreatedAt      time.Time `json:"createdAt"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// toJSON describes hh (hb.mu held).
func (hh *httpHost) toJSON() httpHostJSON {
	return httpHostJSON{ID: hh.rec.ID, URL: hh.rec.URL, Env: hh.rec.Env, Status: hh.status, LastError: hh.lastErr,
		CheckedAt: timePtr(hh.checkedAt), DeclaredAt: timePtr(hh.declaredAt), SDKName: hh.sdkName, SDKVersion: hh.sdkVersion,
		Implementation: hh.impl.String(), Actions: len(hh.actions), Pages: len(hh.pages), CreatedAt: hh.rec.CreatedAt.UTC()}
}

func (hb *hub) httpHostJSON(id string) (httpHostJSON, bool) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	hh, ok := hb.httpHosts[id]
	if !ok {
		return httpHostJSON{}, false
	}
	return hh.toJSON(), true
}

// validHTTPHostURL checks a URL an admin registers.
func validHTTPHostURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > maxHTTPHostURL {
		return "", fmt.Errorf("%w: url is required (at most %d characters)", ErrInvalid, maxHTTPHostURL)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w: url must be an absolute http or https URL", ErrInvalid)
	}
	if u.User != nil || u.Fragment != "" {
		return "", fmt.Errorf("%w: url must not contain credentials or a fragment", ErrInvalid)
	}
	return u.String(), nil
}

func (s *Server) apiListHTTPHosts(w http.ResponseWriter, r *http.Request, _ store.User) {
	hb := s.hub
	hb.mu.Lock()
	out := []httpHostJSON{}
	for _, hh := range hb.httpHosts {
		out = append(out, hh.toJSON())
	}
	hb.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].URL < out[j].URL
	})
	writeJSON(w, http.StatusOK, map[string]any{"httpHosts": out})
}

// apiCreateHTTPHost registers a serverless host (production, as in
// Interval) and checks it at once.
func (s *Server) apiCreateHTTPHost(w http.ResponseWriter, r *http.Request, u store.User) {
	var in struct {
		URL string `json:"url"`
	}
	if !s.readJSON(w, r, &in) {
		return
	}
	clean, err := validHTTPHostURL(in.URL)
	if err != nil {
		writeErr(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
		return
	}
	rec := store.HTTPHost{ID: uuid.NewString(), URL: clean, Env: store.EnvProduction, CreatedBy: u.ID, CreatedAt: time.Now()}
	if err := s.store.CreateHTTPHost(r.Context(), rec); errors.Is(err, store.ErrConflict) {
		writeErr(w, http.StatusConflict, "This URL is registered already.")
		return
	} else if err != nil {
		internalErr(s, w, err)
		return
	}
	hb := s.hub
	hh := newHTTPHost(rec)
	hh.checking = true // checked below, not by the loop meanwhile
	hb.mu.Lock()
	hb.httpHosts[rec.ID] = hh
	hb.mu.Unlock()
	s.log.Info("serverless host registered", "httpHost", rec.ID, "url", logURL(rec.URL), "by", u.Email)
	s.httpHostsChanged()
	hb.runCheck(r.Context(), hh)
	out, _ := hb.httpHostJSON(rec.ID)
	resp := map[string]any{"httpHost": out}
	if !s.hasLiveKey(r.Context()) {
		resp["warning"] = "No production API key exists yet: the serverless host needs one to declare its routes and connect."
	}
	writeJSON(w, http.StatusCreated, resp)
}

func (s *Server) hasLiveKey(ctx context.Context) bool {
	keys, err := s.store.ListAPIKeys(ctx)
	if err != nil {
		return true // do not warn on a guess
	}
	for _, k := range keys {
		if k.Env == store.EnvProduction && k.RevokedAt == nil {
			return true
		}
	}
	return false
}

func (s *Server) apiDeleteHTTPHost(w http.ResponseWriter, r *http.Request, u store.User) {
	id := chi.URLParam(r, "id")
	if err := s.store.DeleteHTTPHost(r.Context(), id); errors.Is(err, store.ErrNotFound) {
		writeErr(w, http.StatusNotFound, "Unknown serverless host.")
		return
	} else if err != nil {
		internalErr(s, w, err)
		return
	}
	hb := s.hub
	hb.mu.Lock()
	delete(hb.httpHosts, id) // requests in flight carry on
	hb.mu.Unlock()
	s.log.Info("serverless host removed", "httpHost", id, "by", u.Email)
	s.httpHostsChanged()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiCheckHTTPHost(w http.ResponseWriter, r *http.Request, _ store.User) {
	id := chi.URLParam(r, "id")
	if _, ok := s.hub.httpHostJSON(id); !ok {
		writeErr(w, http.StatusNotFound, "Unknown serverless host.")
		return
	}
	s.hub.checkHTTPHost(r.Context(), id)
	out, ok := s.hub.httpHostJSON(id)
	if !ok {
		writeErr(w, http.StatusNotFound, "Unknown serverless host.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"httpHost": out})
}

// httpHostsIn returns the registered HTTP hosts of env, by id (hb.mu held).
func (hb *hub) httpHostsIn(env string) []*httpHost {
	var out []*httpHost
	for _, hh := range hb.httpHosts {
		if hh.rec.Env == env {
			out = append(out, hh)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rec.ID < out[j].rec.ID })
	return out
}

// awaitRequestHost asks hh to connect for page p and waits for its socket,
// bounded by HTTPHostTimeout and b's socket (hb.mu held, released while
// waiting). It returns the socket, or nil and why not.
func (hb *hub) awaitRequestHost(b *browser, p *pageSess, hh *httpHost, env string) (*host, string) {
	r := hb.newRequest(hh, env, "", p.key)
	if r == nil {
		return nil, "The server is shutting down."
	}
	hb.mu.Unlock()
	select {
	case <-r.ready:
	case <-b.ctx().Done():
	}
	hb.mu.Lock()
	msg := ""
	switch {
	case r.failMsg != "":
		return nil, r.failMsg
	case r.sock == nil || r.sock.gone:
		return nil, "The serverless host's connection closed."
	case b.ctx().Err() != nil:
		msg = "Closed."
	case hb.pages[p.key] != p:
		msg = "The page was closed."
	default:
		return r.sock, ""
	}
	r.sock.e.closeWith(1000, "Nothing to run: the page was closed.")
	return nil, msg
}
