package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/internal/markup"
	"github.com/interval-go/sdk/server/store"
)

// Host statuses (API.md Host.status).
const (
	hostOnline       = "ONLINE"
	hostShuttingDown = "SHUTTING_DOWN"
	hostReconnecting = "RECONNECTING"
)

// host is one connected (or dropped and awaited) host instance.
type host struct {
	e           *endpoint
	id          string // x-instance-id
	key         store.APIKey
	owner       store.User
	sdkName     string
	sdkVersion  string
	impl        *protocol.Implementation
	status      string
	initialized bool
	actions     map[string]protocol.ActionDefinition // by full slug
	pages       map[string]protocol.PageDefinition
	active      int // transactions running on it
	connectedAt time.Time
	gone        bool
	leftAt      time.Time // when its socket ended (hub.left)
	// request is the serverless request this socket was opened for
	// (INITIALIZE_HOST with a requestId): it runs that request only and
	// is never picked for other work nor listed.
	request *httpRequest
	// replica is set for a host connected to another replica (listed in
	// the store; e is nil): runs for it are handed to that replica.
	replica string
}

func (h *host) env() string { return h.key.Env }

// atLeast compares sdkVersion lexicographically, as Interval's server does
// (PROTOCOL.md §8.5).
func (h *host) atLeast(v string) bool { return h.sdkVersion >= v }

// browser is one console socket, or (peer set) the stand-in for a console
// socket of another replica watching a transaction this replica holds
// (cluster.go).
type browser struct {
	e     *endpoint // nil for a stand-in
	user  store.User
	txs   map[string]*txn
	pages map[string]*pageSess
	sess  string // hash of the session the socket was opened with
	log   *slog.Logger
	// sid names the socket across replicas.
	sid string
	// peer is the replica of the socket a stand-in stands for; cl sends
	// to it, and pctx ends when the stand-in is dropped.
	peer  string
	cl    *cluster
	pctx  context.Context
	pstop context.CancelFunc
	// remote are the transactions this socket watches that another
	// replica holds, by id: its calls for them go to that replica (hb.mu).
	// pages and remote are nil until their first entry (setRemote,
	// addPage): most console sockets never have one.
	remote map[string]string
}

// setRemote records that the transaction id this socket watches is held by
// the replica owner (hb.mu held).
func (b *browser) setRemote(id, owner string) {
	if b.remote == nil {
		b.remote = map[string]string{}
	}
	b.remote[id] = owner
}

// addPage records a page open on this socket (hb.mu held).
func (b *browser) addPage(p *pageSess) {
	if b.pages == nil {
		b.pages = map[string]*pageSess{}
	}
	b.pages[p.key] = p
}

// call queues a call to the console socket (through the bus for a
// stand-in, whose done is never called); false when it is closed.
func (b *browser) call(method string, in any, done func(json.RawMessage, error)) bool {
	if b.peer != "" {
		if b.pctx.Err() != nil {
			return false
		}
		b.cl.push(b.peer, b.sid, method, in)
		return true
	}
	return b.e.call(method, in, done)
}

// callFree is call for a call that carries no stored state: a local
// socket writes it without waiting for the store (endpoint.callFree).
func (b *browser) callFree(method string, in any, done func(json.RawMessage, error)) bool {
	if b.peer != "" {
		return b.call(method, in, done)
	}
	return b.e.callFree(method, in, done)
}

// closeWith closes a local console socket; a stand-in's replica closes its
// own (user events reach every replica).
func (b *browser) closeWith(code websocket.StatusCode, reason string) {
	if b.e != nil {
		b.e.closeWith(code, reason)
	}
}

// ctx ends when the socket (or the stand-in) does.
func (b *browser) ctx() context.Context {
	if b.e == nil {
		return b.pctx
	}
	return b.e.ctx
}

// txn is the live state of an unfinished transaction (or a finished one a
// browser still shows, whose host keeps state until CLOSE_TRANSACTION).
type txn struct {
	rec            store.Transaction
	user           store.User
	keyID          string // API key of the host it started on ("" for runs stored without it)
	backgroundable bool
	host           *host // current socket of the owning host; nil when dropped or not started
	counted        *host // host whose active count includes this transaction
	browser        *browser
	render         string // pending ioCall
	renderID       string
	groupKey       string
	loading        *protocol.LoadingState
	redirect       *protocol.RedirectInputs // kept until a browser receives it
	redirected     bool
	identityAt     time.Time     // when a pending CONFIRM_IDENTITY was rendered
	identityGrace  time.Duration // its gracePeriodMs
	droppedAt      time.Time
	detachedAt     time.Time
	nextLog        int
	logLines       int  // lines stored, for runLogLimit
	logBytes       int  // and their bytes
	logCapped      bool // the limit was reached: further lines are dropped
	closedOnHost   bool
	// endedByHost is set when the host ended the run itself
	// (MARK_TRANSACTION_COMPLETE): it knows the run is over
	// (endedWhileAway).
	endedByHost bool
	// forgotten marks a finished run the server held no more, rebuilt
	// from the store for a host's late call (ownedBy).
	forgotten bool
	// retainedAt is set when a run that ended while its host was away,
	// unknown to it, is kept after its console left (forget), so that
	// the host learns it as it comes back (endedWhileAway); it is dropped
	// once told, or after HostDropGrace (sweep).
	retainedAt time.Time
	viaHTTP    *httpRequest // a serverless host was asked to run it
	// hostHas is set once the host proved it has the transaction: it
	// answered START_TRANSACTION or acted for it. awaiting is set while
	// its last render waits on the operator, from SEND_IO_CALL until the
	// host answered the IO_RESPONSE returning it (an answer still in
	// flight may not have reached the host); renders counts SEND_IO_CALLs,
	// so that the answer to an older call does not clear a newer one's
	// awaiting. With hostHas and not awaiting, a host dropping it was
	// computing: reinitializing, it has nothing to re-send for it, so it
	// continues then (reviveComputing).
	hostHas  bool
	awaiting bool
	renders  uint64
	// answeredAt is when the operator's answer to the current render
	// arrived, until the host renders again (metrics.rendered).
	answeredAt time.Time
	// starts counts the START_TRANSACTIONs sent for t (sendStart).
	starts uint64
	// hops counts the replicas t was handed to as it started (handOff).
	hops int
	// answered is the IO call whose answer the host acknowledged: the SDKs
	// keep re-sending their last call after a reconnection until the next
	// one, so the same call again is not shown to the operator again.
	answered string
}

func (t *txn) finished() bool {
	return t.rec.Status == store.StatusCompleted || t.rec.Status == store.StatusCanceled
}

type pageSess struct {
	key       string
	slug      string
	host      *host // nil while its host is away
	hostID    string
	keyID     string
	browser   *browser
	droppedAt time.Time
}

// pageOwnedBy returns the page key if host h serves it, reattaching a page
// whose host instance came back (hb.mu held).
func (hb *hub) pageOwnedBy(h *host, key string) *pageSess {
	p, ok := hb.pages[key]
	switch {
	case !ok:
		return nil
	case p.host == h:
		return p
	case p.host == nil && p.hostID == h.id && p.keyID == h.key.ID:
		p.host, p.droppedAt = h, time.Time{}
		if p.browser != nil {
			p.browser.call(protocol.MethodHostReconnected, protocol.TransactionRef{TransactionID: key}, nil)
		}
		return p
	}
	return nil
}

// hub holds the in-memory state of hosts, browsers, transactions and
// pages. One mutex guards it; store writes are queued under it (save) so
// that the order of the store is the order of events, and committed
// outside it. Nothing under the mutex waits on the network: calls to peers
// are queued on their endpoints.
type hub struct {
	s     *Server
	mu    sync.Mutex
	hosts map[string]*host // connected, by instance id
	gone  map[string]*host // dropped with transactions waiting for them
	// left are the initialized hosts whose socket ended (without
	// BEGIN_HOST_SHUTDOWN) less than HostReturnWait ago, by instance id: a run of an action one of them
	// served waits for a host (awaitHost) rather than fail at once, as
	// the host is likely reconnecting.
	left  map[string]*host
	txs   map[string]*txn
	pages map[string]*pageSess
	rr    uint64
	// browsers are the open console sockets by user id, for pushing
	// notifications.
	browsers map[string]map[*browser]struct{}
	// passwordAt is when each user last proved their password (login),
	// for CONFIRM_IDENTITY.
	passwordAt map[string]time.Time
	// Serverless hosts (httphosts.go): registered hosts by id, and run
	// requests in flight by request id.
	httpHosts map[string]*httpHost
	requests  map[string]*httpRequest
	sl        *serverless
	// The latest state of transactions whose last store write failed is
	// kept by the group commit (s.saves): sweep writes them again until it
	// works (and the server's end once more), so a run that finished while
	// the store failed does not stay RUNNING in the history.
	// With replicas (cluster.go): the local console sockets by sid, the
	// stand-ins of other replicas' sockets by replica/sid, and the hosts
	// of the other replicas by instance id.
	sids        map[string]*browser
	standIns    map[string]*browser
	remoteHosts map[string]*host
	// moving are the runs being handed to another replica: out of
	// memory, still this replica's in the database until it took them.
	moving map[string]bool
}

func newHub(s *Server) *hub {
	return &hub{s: s, hosts: map[string]*host{}, gone: map[string]*host{}, left: map[string]*host{},
		txs: map[string]*txn{}, pages: map[string]*pageSess{}, passwordAt: map[string]time.Time{},
		browsers:  map[string]map[*browser]struct{}{},
		httpHosts: map[string]*httpHost{}, requests: map[string]*httpRequest{}, sl: newServerless(),
		sids: map[string]*browser{}, standIns: map[string]*browser{}, remoteHosts: map[string]*host{},
		moving: map[string]bool{}}
}

// storeTimeout bounds one store call the hub makes, most of them under
// its lock: a store that stops answering (a PostgreSQL server gone silent
// behind a dead connection) must fail the call, logged, rather than hold
// the lock, and with it every host and browser, forever. A variable for
// tests.
var storeTimeout = 30 * time.Second

// ctx is the context of a store call of the hub: not tied to any socket
// (a write must not be abandoned half-way because one closed), bounded by
// storeTimeout.
func (hb *hub) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), storeTimeout)
}

// recover loads unfinished transactions after a (re)start. Those that had
// started wait for their host as HOST_DROPPED; PENDING ones stay pending.
func (hb *hub) recover(ctx context.Context) error {
	txs, err := hb.s.store.UnfinishedTransactions(ctx)
	if err != nil {
		return fmt.Errorf("server: recovering transactions: %w", err)
	}
	now := time.Now()
	for _, rec := range txs {
		t, err := hb.loadRec(ctx, rec, now)
		if err != nil {
			return err
		}
		if t.rec.Status != rec.Status {
			if err := hb.s.store.UpdateTransaction(ctx, t.rec); err != nil {
				return fmt.Errorf("server: recovering transaction %s: %w", rec.ID, err)
			}
		}
		if t.finished() {
			hb.s.log.Warn("failed a serverless run interrupted by the restart", "transaction", rec.ID)
			continue
		}
		hb.txs[rec.ID] = t
	}
	if len(txs) > 0 {
		hb.s.log.Info("recovered unfinished transactions", "count", len(txs))
	}
	return nil
}

// loadRec makes the live state of unfinished transaction rec, read from
// the store after a restart or taken from another replica: a started one
// waits for its host (HOST_DROPPED), a serverless one fails (its request's
// connection never comes back). The caller saves it when its status
// changed.
func (hb *hub) loadRec(ctx context.Context, rec store.Transaction, now time.Time) (*txn, error) {
	u, err := hb.s.store.UserByID(ctx, rec.UserID)
	if err != nil {
		u = store.User{ID: rec.UserID, Email: rec.UserEmail, Role: store.RoleMember, Teams: []string{}}
	}
	t := &txn{rec: rec, user: u, detachedAt: now, keyID: rec.HostKeyID}
	logs, err := hb.s.store.Logs(ctx, rec.ID)
	if err == nil && len(logs) > 0 {
		t.nextLog = logs[len(logs)-1].Index + 1
	}
	for _, l := range logs {
		t.logLines, t.logBytes = t.logLines+1, t.logBytes+len(l.Data)
	}
	t.logCapped = t.logLines > runLogLimit.lines || t.logBytes > runLogLimit.bytes
	if rec.ViaHTTPHost {
		// A serverless host's request connection never comes back:
		// fail the run now rather than wait HostDropGrace for it.
		done := now
		t.rec.Status, t.rec.ResultStatus = store.StatusCompleted, protocol.StatusFailure
		t.rec.Result = failureResult("ServerRestarted", "The server restarted while a serverless host ran this action; run it again.")
		t.rec.UpdatedAt, t.rec.CompletedAt = now, &done
		return t, nil
	}
	if rec.Status != store.StatusPending {
		t.rec.Status = store.StatusHostDropped
		t.rec.UpdatedAt = now
		t.droppedAt = now
	}
	return t, nil
}

// save queues t's state for the store (hb.mu held) and returns at once:
// the group commit writes it, with the other runs' writes of the moment,
// outside the lock, in the order of the saves; nothing a socket or an
// HTTP response sends afterwards goes out before it is written
// (savequeue.go). When the write fails it is logged and written again by
// the sweep.
func (hb *hub) save(t *txn) {
	t.rec.UpdatedAt = time.Now()
	hb.s.saves.Queue(t.rec, hb.s.replicaID())
}

// saveLazy queues t's state as save does, for a change nothing sent
// afterwards depends on (a render's status): what goes out next does not
// wait for it, and
// it is committed with the next write that must be, or within the group
// commit's LazyDelay (savequeue.go). Lost with the process, it costs
// nothing: the host sends its IO call again when it reconnects.
func (hb *hub) saveLazy(t *txn) {
	t.rec.UpdatedAt = time.Now()
	hb.s.saves.QueueLazy(t.rec, hb.s.replicaID())
}

// retrySaves writes again the transactions whose last write failed
// (hb.mu held), and returns how many are still unsaved.
func (hb *hub) retrySaves() int {
	ctx, cancel := hb.ctx()
	defer cancel()
	return hb.s.saves.Retry(ctx)
}

// --- hosts ---

// addHost registers a newly authenticated host socket, closing an older
// socket with the same instance id. It refuses (false) to let another API
// key take over a connected instance id.
func (hb *hub) addHost(h *host) bool {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if old, ok := hb.hosts[h.id]; ok && old != h {
		if old.key.ID != h.key.ID {
			return false
		}
		old.e.closeWith(1008, "New connection established for same ID, closing previous connection.")
		old.gone = true
		hb.noteLeft(old, time.Now()) // until the new socket initializes
	}
	hb.hosts[h.id] = h
	return true
}

// removeHost handles the end of a host socket: its unfinished transactions
// wait for it (HOST_DROPPED), unless it had begun shutting down (then they
// fail at once); so do its open pages.
func (hb *hub) removeHost(h *host) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if hb.hosts[h.id] == h {
		delete(hb.hosts, h.id)
	}
	h.gone = true
	if h.request != nil {
		hb.requestSocketEnded(h.request)
	}
	waiting := false
	now := time.Now()
	for _, t := range hb.txs {
		if t.host != h {
			continue
		}
		t.host = nil
		hb.uncount(t)
		if t.finished() {
			continue
		}
		if h.status == hostShuttingDown {
			// It said it was leaving: it will not come back for this.
			hb.fail(t, "HostShutDown", "The host shut down before the action finished.")
			continue
		}
		if h.request != nil {
			// A serverless request's connection is not resumed: the
			// transaction fails with the host's answer (runRequest),
			// at once when it came already.
			if h.request.done || h.request.answered {
				hb.failLostRequest(h.request)
			}
			continue
		}
		waiting = true
		t.rec.Status = store.StatusHostDropped
		t.droppedAt = now
		hb.save(t)
		if t.browser != nil {
			t.browser.call(protocol.MethodHostClosedUnexpectedly, protocol.TransactionRef{TransactionID: t.rec.ID}, nil)
		}
	}
	for k, p := range hb.pages {
		if p.host != h {
			continue
		}
		// The page waits for its host like a transaction does.
		p.host, p.droppedAt = nil, now
		if p.browser != nil {
			p.browser.call(protocol.MethodHostClosedUnexpectedly, protocol.TransactionRef{TransactionID: k}, nil)
		}
	}
	if h2 := hb.hosts[h.id]; h2 != nil && h2 != h && h2.initialized && !h2.gone {
		// The host reconnected, and initialized, before this socket's
		// end was noticed (a half-open connection): what it was computing
		// continues on the new socket, as when it initializes later.
		hb.reviveComputing(h2)
	}
	if hb.hosts[h.id] == nil {
		if waiting {
			hb.gone[h.id] = h
		}
		hb.noteLeft(h, now)
		if waiting || (h.initialized && h.status != hostShuttingDown) {
			h.status = hostReconnecting
		}
	}
}

// noteLeft records that initialized host h is away (hb.mu held), unless it
// shut down or another socket of its instance initialized.
func (hb *hub) noteLeft(h *host, now time.Time) {
	if !h.initialized || h.request != nil || h.status == hostShuttingDown {
		return
	}
	if h2 := hb.hosts[h.id]; h2 != nil && h2 != h && h2.initialized {
		return
	}
	h.leftAt = now
	hb.left[h.id] = h
}

// serves reports whether h declared action slug for env and, in
// development, for developer devID.
func serves(h *host, env, devID, slug string) bool {
	if !h.initialized || h.request != nil || h.env() != env || (env == store.EnvDevelopment && h.key.UserID != devID) {
		return false
	}
	_, ok := h.actions[slug]
	return ok
}

// hadHost reports whether a host served action slug a moment ago (hb.mu
// held): one whose socket ended, without shutting down, less than
// HostReturnWait ago, or one still listed whose socket is closing (its
// end not yet handled, so not in left yet).
func (hb *hub) hadHost(env, devID, slug string, now time.Time) bool {
	for _, h := range hb.left {
		if now.Sub(h.leftAt) <= hb.s.opts.HostReturnWait && serves(h, env, devID, slug) {
			return true
		}
	}
	for _, h := range hb.hosts {
		if h.status != hostShuttingDown && (h.gone || h.e.ctx.Err() != nil) && serves(h, env, devID, slug) {
			return true
		}
	}
	return false
}

// awaitHost makes t, which no ONLINE host serves, wait for one (hb.mu
// held): HOST_DROPPED with no host instance, its browser told that the
// host is away. A host initializing with its action starts it
// (startAwaiting), here or on another replica (startAwaitingRemote);
// after HostReturnWait it fails (sweep).
func (hb *hub) awaitHost(t *txn) {
	hb.s.log.Info("no host online for the action; the run waits for one", "transaction", t.rec.ID, "action", t.rec.Slug,
		"wait", hb.s.opts.HostReturnWait)
	hb.uncount(t)
	t.host = nil
	t.rec.HostInstanceID, t.rec.HostKeyID = "", ""
	t.rec.Status = store.StatusHostDropped
	t.droppedAt = time.Now()
	// It may go again to another replica, one that lists a host of its
	// action (startAwaitingRemote, at each heartbeat): a run handed here
	// for a host that was gone when it came would otherwise wait for a
	// host of this replica only, and fail while one serves it elsewhere.
	t.hops = 0
	hb.save(t)
	if t.browser != nil {
		t.browser.call(protocol.MethodHostClosedUnexpectedly, protocol.TransactionRef{TransactionID: t.rec.ID}, nil)
	}
}

// awaitsHost reports whether t waits for any host to start it (awaitHost):
// it was never given to one.
func awaitsHost(t *txn) bool {
	return t.rec.Status == store.StatusHostDropped && t.rec.HostInstanceID == "" && t.viaHTTP == nil
}

// startAwaiting starts the runs that wait for a host (awaitHost) of the
// actions h serves, now that it initialized (hb.mu held).
func (hb *hub) startAwaiting(h *host) {
	if h.request != nil || h.status != hostOnline {
		return
	}
	for _, t := range hb.txs {
		devID := ""
		if t.rec.Env == store.EnvDevelopment {
			devID = t.rec.DeveloperID
		}
		if awaitsHost(t) && serves(h, t.rec.Env, devID, t.rec.Slug) {
			hb.start(t)
		}
	}
}

func (hb *hub) uncount(t *txn) {
	if t.counted != nil {
		t.counted.active--
		t.counted = nil
	}
}

// pickHost chooses the ONLINE host serving slug in env (for development,
// one of the developer's own hosts) with the fewest running transactions,
// rotating among equally loaded ones.
func (hb *hub) pickHost(env, developerID, slug string, page, remote bool) *host {
	var cands []*host
	for _, h := range hb.candidateHosts() {
		if !h.initialized || h.status != hostOnline || h.gone || h.request != nil || h.env() != env || (h.e != nil && h.e.ctx.Err() != nil) ||
			(h.replica != "" && !remote) {
			continue
		}
		if env == store.EnvDevelopment && h.key.UserID != developerID {
			continue
		}
		if page {
			if p, ok := h.pages[slug]; !ok || !p.HasHandler {
				continue
			}
		} else if _, ok := h.actions[slug]; !ok {
			continue
		}
		cands = append(cands, h)
	}
	if len(cands) == 0 {
		return nil
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].id < cands[j].id })
	min := cands[0].active
	for _, h := range cands {
		if h.active < min {
			min = h.active
		}
	}
	var least []*host
	for _, h := range cands {
		if h.active == min {
			least = append(least, h)
		}
	}
	h := least[hb.rr%uint64(len(least))]
	hb.rr++
	return h
}

// candidateHosts are the hosts a run may start on: this replica's and,
// with replicas, the other replicas' (hb.mu held).
func (hb *hub) candidateHosts() []*host {
	out := make([]*host, 0, len(hb.hosts)+len(hb.remoteHosts))
	for _, h := range hb.hosts {
		out = append(out, h)
	}
	for id, h := range hb.remoteHosts {
		if _, here := hb.hosts[id]; !here {
			out = append(out, h)
		}
	}
	return out
}

// visibleHosts are the hosts (connected or awaited) whose routes user sees
// in env.
func (hb *hub) visibleHosts(env string, u store.User) []*host {
	var out []*host
	add := func(h *host) {
		if h.initialized && h.request == nil && h.env() == env && (env != store.EnvDevelopment || h.key.UserID == u.ID) {
			out = append(out, h)
		}
	}
	for _, h := range hb.hosts {
		if !h.gone {
			add(h)
		}
	}
	for id, h := range hb.remoteHosts {
		if _, here := hb.hosts[id]; !here {
			add(h)
		}
	}
	seen := map[*host]bool{}
	for _, m := range []map[string]*host{hb.gone, hb.left} {
		for id, h := range m {
			if h2 := hb.hosts[id]; !seen[h] && (h2 == nil || !h2.initialized || h2.gone) {
				seen[h] = true
				add(h)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// findAction returns the definition of slug visible to u in env and
// whether an ONLINE host (websocket or serverless) serves it.
func (hb *hub) findAction(env string, u store.User, slug string) (protocol.ActionDefinition, bool, bool) {
	var def protocol.ActionDefinition
	found, online := false, false
	see := func(d protocol.ActionDefinition, on bool) {
		if !found || on {
			def = d
		}
		found = true
		online = online || on
	}
	for _, h := range hb.visibleHosts(env, u) {
		if d, ok := h.actions[slug]; ok {
			see(d, h.status == hostOnline)
		}
	}
	for _, hh := range hb.httpHostsIn(env) {
		if d, ok := hh.actions[slug]; ok {
			see(d, hh.status == hostOnline)
		}
	}
	return def, found, online
}

// canAccess applies team access rules: unrestricted actions are open to
// everyone, restricted ones to members of a listed team and to admins.
func canAccess(u store.User, a *protocol.Access) bool {
	if a == nil || a.EntireOrganization || u.Role == store.RoleAdmin {
		return true
	}
	for _, t := range a.Teams {
		for _, ut := range u.Teams {
			if t == ut {
				return true
			}
		}
	}
	return false
}

// --- transactions ---

func (hb *hub) userRef(u store.User) protocol.User {
	var first, last *string
	if u.FirstName != "" {
		first = &u.FirstName
	}
	if u.LastName != "" {
		last = &u.LastName
	}
	teams := u.Teams
	if teams == nil {
		teams = []string{}
	}
	return protocol.User{Email: u.Email, FirstName: first, LastName: last, Role: u.Role, Teams: teams}
}

// start sends START_TRANSACTION to a chosen host, or asks a serverless
// host to connect for it when no websocket host serves it (hb.mu held).
func (hb *hub) start(t *txn) {
	if t.viaHTTP != nil {
		return // a serverless host is connecting for it
	}
	devID := ""
	if t.rec.Env == store.EnvDevelopment {
		devID = t.rec.DeveloperID
	}
	h := hb.pickHost(t.rec.Env, devID, t.rec.Slug, false, t.hops < maxHops)
	if h == nil {
		if hh := hb.pickHTTPHost(t.rec.Env, t.rec.Slug, false); hh != nil {
			hb.startViaHTTP(t, hh)
			return
		}
		// A run that used its hand-off may not go to another replica's
		// host at once (two replicas each listing the host on the other
		// would hand it back and forth): it waits, and goes there at the
		// next heartbeat (reloadHosts, startAwaitingRemote).
		if hb.hadHost(t.rec.Env, devID, t.rec.Slug, time.Now()) ||
			t.hops >= maxHops && hb.pickHost(t.rec.Env, devID, t.rec.Slug, false, true) != nil {
			hb.awaitHost(t)
			return
		}
		hb.fail(t, "NoHostOnline", "No host is online for this action.")
		return
	}
	if h.replica != "" {
		hb.handOff(t, h)
		return
	}
	hb.startOn(t, h)
}

// startOn sends START_TRANSACTION for t to h (hb.mu held).
func (hb *hub) startOn(t *txn, h *host) {
	if d, ok := h.actions[t.rec.Slug]; ok && !canAccess(t.user, d.Access) {
		hb.fail(t, "Forbidden", "You do not have access to this action.")
		return
	}
	if d, ok := h.actions[t.rec.Slug]; ok && d.Backgroundable != nil {
		t.backgroundable = *d.Backgroundable
	}
	if awaitsHost(t) {
		hb.s.log.Info("a host for the action is online; the run starts", "transaction", t.rec.ID, "host", h.id)
		t.droppedAt = time.Time{}
		if t.browser != nil {
			t.browser.call(protocol.MethodHostReconnected, protocol.TransactionRef{TransactionID: t.rec.ID}, nil)
		}
	}
	t.host = h
	h.active++
	t.counted = h
	t.keyID = h.key.ID
	t.rec.HostInstanceID, t.rec.HostKeyID = h.id, h.key.ID
	t.rec.Status = store.StatusRunning
	t.hostHas, t.awaiting = false, false
	hb.save(t)
	hb.s.metrics.started(t)
	hb.sendStart(t, h, true)
}

// sendStart queues START_TRANSACTION for t on h (hb.mu held). first is
// set for the first start of t: no socket can have had it before, so one
// that closes without writing it lets t start on another host (restart).
// A start sent again (resendStarts) may have reached the host on an
// earlier socket: t then waits for that instance only.
func (hb *hub) sendStart(t *txn, h *host, first bool) {
	in := protocol.StartTransactionInputs{
		TransactionID: t.rec.ID,
		ActionName:    t.rec.Slug,
		Action:        protocol.ActionRef{Slug: t.rec.Slug, URL: hb.s.baseURL(nil) + "/actions/" + t.rec.Slug},
		Environment:   t.rec.Env,
		User:          hb.userRef(t.user),
		Params:        t.rec.Params,
		ParamsMeta:    t.rec.ParamsMeta,
	}
	if len(in.Params) == 0 {
		in.Params = json.RawMessage(`{}`)
	}
	if h.atLeast("0.38.0") {
		yes := true
		in.DisplayResolvesImmediately = &yes
	}
	t.starts++
	n := t.starts
	if !h.e.call(protocol.MethodStartTransaction, in, func(_ json.RawMessage, err error) {
		hb.mu.Lock()
		defer hb.mu.Unlock()
		switch {
		case err == nil:
			// The host answered: it has the transaction.
			if t.rec.HostInstanceID == h.id {
				t.hostHas = true
			}
		case errors.Is(err, errNotSent) && first && t.starts == n:
			hb.restart(t, h)
		}
	}) && first {
		hb.restart(t, h)
	}
}

// restart starts t again on another host when its START_TRANSACTION was
// never written to h's socket (hb.mu held): no host can have run it.
func (hb *hub) restart(t *txn, h *host) {
	if t.finished() || t.rec.HostInstanceID != h.id || (t.host != h && t.host != nil) || hb.txs[t.rec.ID] != t {
		// Over, started elsewhere, or no longer held here (handed to
		// another replica, or dropped with a lost lease: another
		// replica may hold it and start it; starting it here too would
		// run it twice).
		return
	}
	hb.s.log.Info("transaction not delivered to its host; starting it on another", "transaction", t.rec.ID, "host", h.id)
	hb.uncount(t)
	t.host = nil
	t.viaHTTP = nil
	t.rec.HostInstanceID, t.rec.HostKeyID = "", ""
	if t.rec.Status != store.StatusHostDropped {
		t.rec.Status = store.StatusPending
	} // else its browser was told the host dropped: it now waits for any host (awaitsHost), and hears when one starts it
	hb.start(t)
}

func failureResult(name, msg string) string {
	data, _ := json.Marshal(protocol.ErrorData{Error: name, Message: msg})
	res, _ := json.Marshal(protocol.ActionResult{SchemaVersion: 1, Status: protocol.StatusFailure, Data: data})
	return string(res)
}

// fail completes t with a FAILURE result made by the server.
func (hb *hub) fail(t *txn, name, msg string) {
	hb.complete(t, store.StatusCompleted, protocol.StatusFailure, failureResult(name, msg))
}

// complete finishes t (hb.mu held): store, release the host, tell the
// browser; with no browser left, the host forgets the transaction.
func (hb *hub) complete(t *txn, status, resultStatus, result string) {
	if t.finished() {
		return
	}
	now := time.Now()
	t.rec.Status = status
	if t.redirected && resultStatus == protocol.StatusSuccess {
		resultStatus = protocol.StatusRedirected
	}
	t.rec.ResultStatus = resultStatus
	t.rec.Result = result
	t.rec.CompletedAt = &now
	t.rec.PendingAnswer = ""
	t.render, t.loading = "", nil
	hb.save(t)
	hb.s.metrics.completed(t)
	hb.uncount(t)
	if t.browser != nil {
		t.browser.call(protocol.MethodTransactionCompleted, protocol.TransactionCompletedInputs{
			TransactionID: t.rec.ID, ResultStatus: resultStatus, Result: result, ResultHTML: markup.ResultHTML(result)}, nil)
		return
	}
	hb.forget(t)
}

// forget sends CLOSE_TRANSACTION (once) and drops t from memory.
func (hb *hub) forget(t *txn) {
	if t.host != nil && !t.closedOnHost && t.host.atLeast("0.38.0") {
		t.closedOnHost = true
		t.host.e.call(protocol.MethodCloseTransaction, protocol.CloseTransactionInputs{TransactionID: t.rec.ID}, nil)
	}
	if t.browser != nil {
		delete(t.browser.txs, t.rec.ID)
		t.browser = nil
	}
	if t.host == nil && t.hostHas && t.viaHTTP == nil && endedUnknown(t) {
		// Its host, away, may still compute it: kept until it is told.
		if t.retainedAt.IsZero() {
			t.retainedAt = time.Now()
		}
		return
	}
	delete(hb.txs, t.rec.ID)
}

// cancel cancels an unfinished transaction: the host gets a CANCELED
// IO_RESPONSE and CLOSE_TRANSACTION (PROTOCOL.md §4.3).
func (hb *hub) cancel(t *txn) {
	if t.finished() {
		return
	}
	if h := t.host; h != nil {
		hb.cancelOnHost(t, h, t.renderID, t.groupKey)
	}
	hb.complete(t, store.StatusCanceled, protocol.StatusCanceled, "")
}

// cancelOnHost tells host h that t is canceled (hb.mu held): the IO call
// renderID of input group groupKey gets a CANCELED answer (a handler
// waiting on it returns), and CLOSE_TRANSACTION follows for hosts that
// know it.
func (hb *hub) cancelOnHost(t *txn, h *host, renderID, groupKey string) {
	if renderID == "" {
		renderID = "UNKNOWN"
	}
	if groupKey == "" {
		groupKey = "UNKNOWN"
	}
	v, _ := json.Marshal(map[string]any{"id": renderID, "inputGroupKey": groupKey, "transactionId": t.rec.ID,
		"kind": protocol.KindCanceled, "values": []any{}})
	h.e.call(protocol.MethodIOResponse, protocol.IOResponseInputs{Value: string(v), TransactionID: t.rec.ID}, nil)
	if h.atLeast("0.38.0") {
		t.closedOnHost = true
		h.e.call(protocol.MethodCloseTransaction, protocol.CloseTransactionInputs{TransactionID: t.rec.ID}, nil)
	}
	if !t.retainedAt.IsZero() {
		// Kept only for this (forget): the host knows now.
		t.retainedAt = time.Time{}
		if t.browser == nil && hb.txs[t.rec.ID] == t {
			delete(hb.txs, t.rec.ID)
		}
	}
}

// endedUnknown reports whether t ended while its host may not know it:
// the server ended it (canceled, failed) and has not told the host since,
// or the run is forgotten and the host still acts for it.
func endedUnknown(t *txn) bool {
	return t.finished() && !t.endedByHost && (!t.closedOnHost || t.forgotten)
}

// ownedBy returns the transaction id if host h may act for it, attaching
// h as its host (a reconnected instance revives a dropped transaction).
func (hb *hub) ownedBy(h *host, id string) (*txn, string) {
	t, ok := hb.txs[id]
	if !ok {
		// A finished transaction the server no longer holds: late calls
		// (a re-render after the operator left, a result after a cancel)
		// are accepted and dropped, as by Interval's server, which keeps
		// every transaction. Refusing them would make the Node SDK throw.
		ctx, cancel := hb.ctx()
		rec, err := hb.s.store.Transaction(ctx, id)
		cancel()
		if err != nil || (rec.Status != store.StatusCompleted && rec.Status != store.StatusCanceled) {
			return nil, "Transaction not found."
		}
		if rec.HostInstanceID != h.id || (rec.HostKeyID != "" && rec.HostKeyID != h.key.ID) {
			return nil, "Unauthorized."
		}
		return &txn{rec: rec, closedOnHost: true, forgotten: true}, ""
	}
	if !servedBy(t, h) {
		return nil, "Unauthorized."
	}
	if t.host != h && !t.finished() {
		hb.attach(t, h)
		delete(hb.gone, h.id)
	} else if t.host != h {
		t.host = h
	}
	t.hostHas = true
	return t, ""
}

// servedBy reports whether host h is the instance t runs on, with the API
// key (and for development, the developer) it started with.
func servedBy(t *txn, h *host) bool {
	return t.rec.HostInstanceID == h.id && h.env() == t.rec.Env && (t.keyID == "" || t.keyID == h.key.ID) &&
		(t.rec.Env != store.EnvDevelopment || h.key.UserID == t.rec.DeveloperID)
}

// attach makes h the host of unfinished t (hb.mu held); a transaction
// that waited for its host (HOST_DROPPED) continues: RUNNING again, and
// its browser gets HOST_RECONNECTED.
func (hb *hub) attach(t *txn, h *host) {
	hb.uncount(t)
	t.host = h
	h.active++
	t.counted = h
	if t.rec.Status != store.StatusHostDropped {
		return
	}
	t.rec.Status = store.StatusRunning
	t.droppedAt = time.Time{}
	hb.save(t)
	if t.browser != nil {
		t.browser.call(protocol.MethodHostReconnected, protocol.TransactionRef{TransactionID: t.rec.ID}, nil)
	}
	hb.s.log.Info("host reconnected; transaction continues", "transaction", t.rec.ID, "host", h.id)
}

// reviveComputing continues, when host h (re)initializes, the transactions
// that wait for its instance and that it was computing when it dropped
// (hb.mu held): it has no IO call to re-send for them, which would
// otherwise revive them, and they would fail after HostDropGrace while it
// still runs them. Those that waited on the operator, or whose last
// answer may not have reached it, continue as before when the host acts
// for them (ownedBy): re-sending the IO call proves it still has them.
//
// A transaction whose START_TRANSACTION the host never acknowledged (it
// was written into a connection that stalled and died, or the server
// restarted since) is started on it again: a host that never got it
// would otherwise never run it, and one that did ignores a start of a
// transaction it has (the Go SDK keeps it until CLOSE_TRANSACTION, and
// remembers the last 4,096 that ended).
//
// Only a host that re-delivers its calls after a reconnection and ignores
// a duplicate start (this project's Go SDK, protocol.GoSDKName) is
// trusted this way: the official Node SDK fails a call made while
// disconnected, so a run it finished meanwhile would never send its
// result and, revived, would show as running for good; and it runs a
// START_TRANSACTION it gets twice twice. Its runs wait for it to act, or
// fail after the grace.
func (hb *hub) reviveComputing(h *host) {
	if h.request != nil || h.impl == nil || h.impl.Name != protocol.GoSDKName {
		return
	}
	for _, t := range hb.txs {
		if t.rec.Status != store.StatusHostDropped || t.host != nil || t.viaHTTP != nil || !servedBy(t, h) {
			continue
		}
		switch {
		case !t.hostHas:
			hb.s.log.Info("host back; sending again a start it never acknowledged", "transaction", t.rec.ID, "host", h.id)
			hb.attach(t, h)
			hb.sendStart(t, h, false)
		case !t.awaiting:
			hb.attach(t, h)
		}
	}
}

// endedWhileAway ends on host h, as it (re)initializes, the runs it was
// computing that ended while it was away (canceled by the operator, failed
// after HostDropGrace; hb.mu held): told nothing, it would compute them to
// their end, doing what the operator canceled. Such a run is held in
// memory for its host after its console left (forget: txn.retainedAt),
// up to HostDropGrace. A run it shows an IO call for is ended when it
// sends the call again (sendIOCall); one the server no longer holds (it
// restarted since, or the host was away longer) is not known here, and is
// ended when the host reports its progress or logs a line (sendLoading,
// sendLog).
func (hb *hub) endedWhileAway(h *host) {
	if h.request != nil {
		return
	}
	for _, t := range hb.txs {
		if endedUnknown(t) && t.hostHas && !t.awaiting && servedBy(t, h) {
			hb.s.log.Info("host back; ending a run it computed that ended while it was away", "transaction", t.rec.ID,
				"host", h.id, "status", t.rec.Status)
			hb.cancelOnHost(t, h, t.renderID, t.groupKey)
		}
	}
}

// sweepLoop fails transactions whose host did not come back in time,
// cancels abandoned ones and, hourly, deletes expired sessions and old
// uploads, until ctx ends.
func (hb *hub) sweepLoop(ctx context.Context) {
	grace := hb.s.opts.HostDropGrace
	every := min(grace/10, hb.s.opts.HostReturnWait/4)
	if every < 10*time.Millisecond {
		every = 10 * time.Millisecond
	}
	if every > 30*time.Second {
		every = 30 * time.Second
	}
	tk := time.NewTicker(every)
	defer tk.Stop()
	var lastCleanup time.Time
	for {
		if now := time.Now(); now.Sub(lastCleanup) >= time.Hour {
			lastCleanup = now
			if err := hb.s.store.DeleteExpired(ctx, now); err != nil && ctx.Err() == nil {
				hb.s.log.Warn("deleting expired sessions", "err", err)
			}
			hb.s.sweepUploads(now)
		}
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		hb.sweep(time.Now())
	}
}

// pendingGrace is how long a created transaction waits for a browser to
// open it (and so start it) before it is canceled.
const pendingGrace = time.Minute

func (hb *hub) sweep(now time.Time) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	hb.retrySaves()
	grace := hb.s.opts.HostDropGrace
	for _, t := range hb.txs {
		switch {
		case !t.retainedAt.IsZero() && t.browser == nil && now.Sub(t.retainedAt) > grace:
			// Its host did not come back to be told it ended.
			delete(hb.txs, t.rec.ID)
		case awaitsHost(t) && now.Sub(t.droppedAt) > hb.s.opts.HostReturnWait:
			hb.s.log.Warn("no host came online for the action; failing the run", "transaction", t.rec.ID, "action", t.rec.Slug)
			hb.fail(t, "NoHostOnline", fmt.Sprintf("No host is online for this action (waited %v for one to come back).", hb.s.opts.HostReturnWait))
		case t.rec.Status == store.StatusHostDropped && now.Sub(t.droppedAt) > grace:
			hb.s.log.Warn("host did not come back; failing transaction", "transaction", t.rec.ID, "host", t.rec.HostInstanceID)
			hb.fail(t, "HostDropped", fmt.Sprintf("The host running this action disconnected and did not come back within %v.", grace))
		case t.rec.Status == store.StatusPending && t.browser == nil && !t.detachedAt.IsZero() && now.Sub(t.detachedAt) > min(grace, pendingGrace):
			// Created, but no browser opened it (the page was left while
			// the create request was in flight): it never started.
			hb.s.log.Info("canceling transaction no browser opened", "transaction", t.rec.ID)
			hb.cancel(t)
		case !t.finished() && t.browser == nil && !t.backgroundable && !t.detachedAt.IsZero() && now.Sub(t.detachedAt) > grace:
			hb.s.log.Info("canceling transaction left without a browser", "transaction", t.rec.ID)
			hb.cancel(t)
		}
	}
	for k, p := range hb.pages {
		// Only a page whose host dropped: one still waiting for a
		// serverless host to connect for it has no host yet either, and
		// its wait has its own bound (HTTPHostTimeout).
		if p.host == nil && !p.droppedAt.IsZero() && now.Sub(p.droppedAt) > grace {
			delete(hb.pages, k)
			if p.browser != nil {
				delete(p.browser.pages, k)
			}
		}
	}
	for id, h := range hb.left {
		if h2 := hb.hosts[id]; now.Sub(h.leftAt) > hb.s.opts.HostReturnWait || (h2 != nil && h2.initialized) {
			delete(hb.left, id)
		}
	}
	for id := range hb.gone {
		waiting := false
		for _, t := range hb.txs {
			if t.rec.HostInstanceID == id && t.rec.Status == store.StatusHostDropped {
				waiting = true
				break
			}
		}
		if !waiting || hb.hosts[id] != nil {
			delete(hb.gone, id)
		}
	}
}

// disconnectUser closes the sockets of a deleted user: hosts using their
// keys, and their open consoles.
func (hb *hub) disconnectUser(userID string) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	for _, h := range hb.hosts {
		if h.key.UserID == userID {
			h.e.closeWith(1008, "API key revoked.")
		}
	}
	for b := range hb.browsers[userID] {
		b.closeWith(1008, "User deleted.")
	}
}

// refreshUser closes the console sockets of a user whose role or teams
// changed: each socket acts with the user it was opened with, so the
// console reconnects and acts with the new ones (a demoted admin keeps no
// admin socket). A user made a member also loses the hosts of their
// development keys, which keyAuth refuses from now on.
func (hb *hub) refreshUser(userID, role string) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	for b := range hb.browsers[userID] {
		b.closeWith(1012, "Your role or teams changed; reconnecting.")
	}
	if role != store.RoleMember {
		return
	}
	for _, h := range hb.hosts {
		if h.key.UserID == userID && h.key.Env == store.EnvDevelopment {
			h.e.closeWith(1008, "The API key's owner may no longer develop.")
		}
	}
}

// disconnectKey closes the sockets of hosts using a revoked key.
func (hb *hub) disconnectKey(keyID string) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	for _, h := range hb.hosts {
		if h.key.ID == keyID {
			h.e.closeWith(1008, "API key revoked.")
		}
	}
}

// identityConfirmed reports whether u proved their password after t's
// CONFIRM_IDENTITY was rendered, or within its grace period before (hb.mu
// held).
func (hb *hub) identityConfirmed(t *txn, u store.User) bool {
	at, ok := hb.passwordAt[u.ID]
	return ok && !at.Before(t.identityAt.Add(-t.identityGrace))
}
