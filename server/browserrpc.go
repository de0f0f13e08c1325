package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	wsa "github.com/interval-go/sdk/internal/isocket"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/internal/markup"
	"github.com/interval-go/sdk/server/store"
)

// pageOpenTimeout bounds the wait for a host's answer to OPEN_PAGE.
const pageOpenTimeout = 15 * time.Second

// maxPageKey bounds the key a browser picks for a page (a UUID).
const maxPageKey = 128

// startBrowser sets up a console socket and starts the goroutine that
// serves it until it ends: the socket's reader, its only goroutine while
// it is idle, which calls done at the end. sess is the hash of the session
// cookie it was opened with.
//
// The setup runs on the caller's goroutine (the HTTP handler's, which then
// returns), so that the socket's goroutine starts afresh in endpoint.run:
// its stack holds the read path only, not what the setup needed.
func (s *Server) startBrowser(ws *wsa.Socket, sess string, u store.User, done func()) {
	b := &browser{user: u, txs: map[string]*txn{}, sid: newSocketID()}
	b.sess = sess
	log := s.log.With("browser", u.ID)
	b.log = log
	b.e = newEndpoint(ws, s.wsConfig(), true, s.browserRate, func(method string, data json.RawMessage) (any, error) {
		return s.browserCall(b, method, data)
	}, log, slog.LevelDebug, func() { s.metrics.limited(limitBrowserSocket) })
	if !s.register(b.e) {
		b.e.closeWith(1012, restartReason)
		go func() {
			defer done()
			b.e.run()
		}()
		return
	}
	b.e.deferredMethod = protocol.MethodRequestPage
	b.e.deferred = func(method string, data json.RawMessage) (func() any, bool) {
		if method != protocol.MethodRequestPage {
			return nil, false
		}
		var in protocol.RequestPageInputs
		if err := decode(data, &in); err != nil {
			return nil, false // refused by browserCall
		}
		wait := s.hub.openPage(b, in)
		return func() any { return wait() }, true
	}
	s.hub.addBrowser(b)
	go func() {
		defer done()
		b.e.run()
		s.hub.removeBrowser(b)
		s.unregister(b.e)
	}()
}

// endSessions closes the console sockets of userID opened with a session
// other than keep (a hash): the password changed, and those sessions are
// gone. The console then asks its user to log in again.
func (hb *hub) endSessions(userID, keep string) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	for b := range hb.browsers[userID] {
		if b.sess != keep {
			b.closeWith(1008, "Your password was changed: this session ended; please log in again.")
		}
	}
}

// addBrowser makes b reachable for its user's notifications.
func (hb *hub) addBrowser(b *browser) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	m := hb.browsers[b.user.ID]
	if m == nil {
		m = map[*browser]struct{}{}
		hb.browsers[b.user.ID] = m
	}
	m[b] = struct{}{}
	hb.sids[b.sid] = b
}

func (s *Server) browserCall(b *browser, method string, data json.RawMessage) (any, error) {
	switch method {
	case protocol.MethodInitializeClient:
		return true, nil
	case protocol.MethodConnectToTransactionAsClient:
		var in protocol.ConnectToTransactionInputs
		if err := decode(data, &in); err != nil {
			b.log.Warn("refusing call with invalid input", "method", method, "err", err)
			return false, nil
		}
		if s.cl != nil && b.peer == "" {
			if ok, handled := s.cl.connect(b, in.TransactionID); handled {
				return ok, nil
			}
		}
		return s.hub.connect(b, in.TransactionID), nil
	case protocol.MethodRespondToIOCall:
		var in protocol.RespondToIOCallInputs
		if err := decode(data, &in); err != nil {
			b.log.Warn("refusing call with invalid input", "method", method, "err", err)
			return false, nil
		}
		if owner := s.hub.remoteOwner(b, in.TransactionID); owner != "" {
			return s.cl.forward(b, owner, method, data)
		}
		return s.hub.respond(b, in), nil
	case protocol.MethodLeaveTransaction:
		var in protocol.TransactionRef
		if err := decode(data, &in); err != nil {
			b.log.Warn("refusing call with invalid input", "method", method, "err", err)
			return false, nil
		}
		if owner := s.hub.remoteOwner(b, in.TransactionID); owner != "" {
			return s.cl.forward(b, owner, method, data)
		}
		return s.hub.leave(b, in.TransactionID), nil
	case protocol.MethodRequestPage:
		var in protocol.RequestPageInputs
		if err := decode(data, &in); err != nil {
			b.log.Warn("refusing call with invalid input", "method", method, "err", err)
			return protocol.OpenPageReturns{Type: "ERROR", Message: "Invalid request."}, nil
		}
		return s.hub.requestPage(b, in), nil
	case protocol.MethodLeavePage:
		var in protocol.PageKeyRef
		if err := decode(data, &in); err != nil {
			b.log.Warn("refusing call with invalid input", "method", method, "err", err)
			return false, nil
		}
		if owner := s.hub.remoteOwner(b, in.PageKey); owner != "" {
			out, err := s.cl.forward(b, owner, method, data)
			s.hub.mu.Lock()
			delete(b.remote, in.PageKey)
			s.hub.mu.Unlock()
			return out, err
		}
		return s.hub.leavePage(b, in.PageKey), nil
	}
	return nil, fmt.Errorf("%w %q from browser", errUnknownMethod, protocol.Clip(method, 64))
}

// remoteOwner returns the replica holding run (or page) id that local
// console socket b watches, or "" when it is held here.
func (hb *hub) remoteOwner(b *browser, id string) string {
	if b.peer != "" || hb.s.cl == nil {
		return ""
	}
	hb.mu.Lock()
	defer hb.mu.Unlock()
	return b.remote[id]
}

func mayView(u store.User, t *txn) bool {
	return t.rec.UserID == u.ID || u.Role == store.RoleAdmin
}

// connect attaches b to a transaction, starting it on a host on the first
// connect, and replays its state.
func (hb *hub) connect(b *browser, id string) bool {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	t, ok := hb.txs[id]
	if !ok {
		ctx, cancel := hb.ctx()
		rec, err := hb.s.store.Transaction(ctx, id)
		cancel()
		if err != nil || (rec.UserID != b.user.ID && b.user.Role != store.RoleAdmin) {
			return false
		}
		if hb.s.cl != nil && rec.Status != store.StatusCompleted && rec.Status != store.StatusCanceled {
			// Unfinished and held by no replica that could be reached
			// (cluster.connect): watching it here would show nothing
			// of it, for good. The console reconnects and looks again.
			b.log.Warn("a run not held here was opened; reconnecting the console", "transaction", id)
			if b.peer != "" {
				hb.s.cl.send(b.peer, busMsg{Kind: kindRecon, Sid: b.sid})
			} else {
				b.closeWith(1012, reconnectReason)
			}
			return false
		}
		hb.replayLogs(b, id)
		if rec.Status == store.StatusCompleted || rec.Status == store.StatusCanceled {
			b.call(protocol.MethodTransactionCompleted, protocol.TransactionCompletedInputs{
				TransactionID: id, ResultStatus: rec.ResultStatus, Result: rec.Result, ResultHTML: markup.ResultHTML(rec.Result)}, nil)
		}
		return true
	}
	if !mayView(b.user, t) {
		return false
	}
	if t.browser != nil && t.browser != b {
		old := t.browser
		delete(old.txs, id)
		old.call(protocol.MethodClientUsurped, protocol.TransactionRef{TransactionID: id}, nil)
	}
	t.browser = b
	t.detachedAt = time.Time{}
	b.txs[id] = t
	if t.rec.Status == store.StatusPending {
		hb.start(t)
		return true
	}
	hb.replayLogs(b, id)
	if t.redirect != nil {
		b.call(protocol.MethodRedirect, *t.redirect, nil)
		t.redirect = nil
	}
	if t.finished() {
		b.call(protocol.MethodTransactionCompleted, protocol.TransactionCompletedInputs{
			TransactionID: id, ResultStatus: t.rec.ResultStatus, Result: t.rec.Result, ResultHTML: markup.ResultHTML(t.rec.Result)}, nil)
		return true
	}
	// A form whose answer was taken (kept until the host's next call) is
	// not shown again: the console shows the run waiting for its host,
	// rather than a form the operator already answered.
	if t.render != "" && t.rec.PendingAnswer == "" {
		b.call(protocol.MethodRender, protocol.RenderInputs{TransactionID: id, ToRender: t.render}, nil)
	}
	if t.loading != nil {
		b.call(protocol.MethodLoadingState, protocol.LoadingStateInputs{TransactionID: id, LoadingState: *t.loading}, nil)
	}
	// Last, so that the console shows the form it last had as waiting.
	if t.rec.Status == store.StatusHostDropped {
		b.call(protocol.MethodHostClosedUnexpectedly, protocol.TransactionRef{TransactionID: id}, nil)
	}
	return true
}

func (hb *hub) replayLogs(b *browser, id string) {
	ctx, cancel := hb.ctx()
	defer cancel()
	logs, err := hb.s.store.Logs(ctx, id)
	if err != nil {
		hb.s.log.Error("reading logs", "transaction", id, "err", err)
		return
	}
	for _, l := range logs {
		d := l.Data
		b.call(protocol.MethodLog, protocol.LogInputs{TransactionID: id, Data: &d, Index: l.Index, Timestamp: l.Timestamp}, nil)
	}
}

// respond forwards an operator's answer to the transaction's (or page's)
// host.
func (hb *hub) respond(b *browser, in protocol.RespondToIOCallInputs) bool {
	resp, err := protocol.DecodeIOResponse(in.IOResponse)
	if err != nil {
		b.log.Warn("refusing RESPOND_TO_IO_CALL", "err", err)
		return false
	}
	// audit, if set, stores an audit event once the hub's lock is let go
	// (it waits for the store), before the operator hears the outcome.
	var audit func()
	hb.mu.Lock()
	defer func() {
		hb.mu.Unlock()
		if audit != nil {
			audit()
		}
	}()
	if p, ok := hb.pages[in.TransactionID]; ok {
		// The host routes by the transactionId inside the response: it
		// must be this page's key.
		if p.browser != b || p.host == nil || resp.TransactionID != p.key {
			b.log.Warn("refusing RESPOND_TO_IO_CALL for a page", "page", protocol.Clip(in.TransactionID, 64),
				"reason", refusal(p.browser != b, p.host == nil))
			return false
		}
		p.host.e.call(protocol.MethodIOResponse, protocol.IOResponseInputs{Value: in.IOResponse, TransactionID: p.key}, nil)
		return true
	}
	t, ok := hb.txs[in.TransactionID]
	if !ok || !mayView(b.user, t) || t.browser != b || t.host == nil || resp.TransactionID != t.rec.ID {
		b.log.Warn("refusing RESPOND_TO_IO_CALL", "transaction", protocol.Clip(in.TransactionID, 64),
			"reason", refusal(!ok || !mayView(b.user, t) || t.browser != b, ok && t.host == nil))
		return false
	}
	if resp.Kind == protocol.KindCanceled {
		canceled := !t.finished()
		hb.cancel(t)
		if canceled {
			id, detail := t.rec.ID, map[string]any{"slug": t.rec.Slug, "env": t.rec.Env}
			audit = func() { hb.s.audit(context.Background(), nil, b.user, auditRunCanceled, id, detail) }
		}
		return true
	}
	// Hosts drop answers to another input group as stale (and route an
	// answer without a key to the current call).
	current := resp.InputGroupKey == "" || resp.InputGroupKey == t.groupKey
	if resp.Kind == protocol.KindReturn && !current {
		// An answer to a form that moved on, or to one this server has
		// not seen since it took the run over (the host sends its call
		// again): acknowledged, it would be an answer the operator saw
		// taken and is asked again for. The console shows the form
		// the host sends.
		b.log.Warn("refusing RESPOND_TO_IO_CALL", "transaction", t.rec.ID, "reason", "not the current form")
		return false
	}
	if !t.identityAt.IsZero() && resp.Kind == protocol.KindReturn {
		// CONFIRM_IDENTITY: anything but a plain "false" only after the
		// operator proved their password (POST /api/auth/login). The
		// check stays pending until the current call is answered: a
		// stale "false" must not clear it for the "true" that follows.
		var yes bool
		declined := len(resp.Values) == 1 && json.Unmarshal(resp.Values[0], &yes) == nil && !yes
		if !declined && !hb.identityConfirmed(t, b.user) {
			b.log.Warn("refusing CONFIRM_IDENTITY without a fresh password login", "transaction", t.rec.ID)
			return false
		}
		if current {
			t.identityAt = time.Time{}
		}
	}
	var delivered func(json.RawMessage, error)
	dirty := false
	if resp.Kind == protocol.KindReturn && current && t.awaiting {
		// The run waits on the operator no more once its host answered
		// the IO_RESPONSE: before, the answer may be lost with the socket
		// or with the server's process. It is stored before the operator
		// hears it was taken, and delivered again when the host re-sends
		// the call it answers (sendIOCall): an answer the operator saw
		// acknowledged is never lost, nor asked for again.
		t.rec.PendingAnswer = in.IOResponse
		dirty = true
		delivered = hb.answerDelivered(t, t.renders, t.render)
	}
	if resp.Kind == protocol.KindReturn && current {
		hb.s.metrics.answered(t)
	}
	if resp.Kind == protocol.KindReturn && current && t.rec.Status == store.StatusAwaitingInput {
		t.rec.Status = store.StatusRunning
		dirty = true
	}
	if dirty {
		hb.save(t)
	}
	// The answer goes to the host without waiting for its write: a host
	// that has it needs it stored no more, and the operator hears it was
	// taken (the RESPONSE to this call) only once it is written.
	t.host.e.callFree(protocol.MethodIOResponse, protocol.IOResponseInputs{Value: in.IOResponse, TransactionID: t.rec.ID}, delivered)
	if b.log.Enabled(context.Background(), slog.LevelDebug) { // the arguments cost an allocation a run otherwise
		b.log.Debug("operator's answer sent to the host", "transaction", t.rec.ID, "kind", resp.Kind, "stored", delivered != nil, "render", t.renders)
	}
	return true
}

// answerDelivered returns the done function of an IO_RESPONSE carrying the
// operator's answer to t's render number renders, ioCall: once the host
// answered it, the host has the answer, so t no longer waits on the
// operator and a re-send of ioCall is not shown again (hb.mu not held).
// The stored answer stays until the host's next call or the run's end: a
// host that re-sends ioCall after reconnecting to a replica that adopted
// the run, or to this server restarted, knows nothing of this delivery
// there, and gets the stored answer again (it drops one it had) instead of
// the operator being asked again.
func (hb *hub) answerDelivered(t *txn, renders uint64, ioCall string) func(json.RawMessage, error) {
	return func(_ json.RawMessage, err error) {
		if err != nil {
			return
		}
		hb.mu.Lock()
		defer hb.mu.Unlock()
		if t.renders != renders {
			return
		}
		t.awaiting = false
		t.answered = ioCall
	}
}

// refusal says why an answer was refused, for the log.
func refusal(notTheirs, noHost bool) string {
	switch {
	case notTheirs:
		return "not connected to this browser"
	case noHost:
		return "its host is not connected"
	default:
		return "the response names another transaction"
	}
}

// leave detaches b from a transaction: finished ones are closed on their
// host, unfinished ones canceled unless backgroundable.
func (hb *hub) leave(b *browser, id string) bool {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	t, ok := b.txs[id]
	if !ok || t.browser != b {
		return false
	}
	hb.detach(t, true)
	return true
}

// detach removes t's browser (hb.mu held). leaving is an explicit
// LEAVE_TRANSACTION; a dropped socket lets the transaction wait for the
// operator to come back (up to HostDropGrace).
func (hb *hub) detach(t *txn, leaving bool) {
	if t.browser != nil {
		delete(t.browser.txs, t.rec.ID)
	}
	t.browser = nil
	t.detachedAt = time.Now()
	switch {
	case t.finished():
		hb.forget(t)
	case leaving && !t.backgroundable:
		hb.cancel(t)
		hb.forget(t)
	}
}

func (hb *hub) removeBrowser(b *browser) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if b.peer == "" && hb.sids[b.sid] == b {
		delete(hb.sids, b.sid)
		if hb.s.cl != nil {
			hb.s.cl.socketGone(b)
		}
	}
	if m := hb.browsers[b.user.ID]; m != nil {
		delete(m, b)
		if len(m) == 0 {
			delete(hb.browsers, b.user.ID)
		}
	}
	for _, t := range b.txs {
		if t.browser == b {
			hb.detach(t, false)
		}
	}
	for k, p := range b.pages {
		delete(hb.pages, k)
		if p.host != nil {
			p.host.e.call(protocol.MethodClosePage, protocol.ClosePageInputs{PageKey: k}, nil)
		}
	}
}

// requestPage opens a page on a host and waits for its answer.
func (hb *hub) requestPage(b *browser, in protocol.RequestPageInputs) protocol.OpenPageReturns {
	return hb.openPage(b, in)()
}

// openPage registers a page of b and asks its host to open it; the
// function it returns waits for the host's answer (up to pageOpenTimeout,
// or longer for a serverless host to connect), so the browser socket runs
// it off its inbox: one slow host must not stall the operator's other
// calls. Registering first keeps the order of a LEAVE_PAGE that follows.
func (hb *hub) openPage(b *browser, in protocol.RequestPageInputs) func() protocol.OpenPageReturns {
	fail := func(msg string) func() protocol.OpenPageReturns {
		b.log.Warn("refusing REQUEST_PAGE", "page", protocol.Clip(in.PageSlug, 64), "err", msg)
		return func() protocol.OpenPageReturns { return protocol.OpenPageReturns{Type: "ERROR", Message: msg} }
	}
	env := in.OrganizationEnvironmentID
	if env == "" {
		env = store.EnvProduction
	}
	if in.PageKey == "" || len(in.PageKey) > maxPageKey || !validEnv(env) {
		return fail("Invalid request.")
	}
	for _, v := range in.Params {
		switch v.(type) {
		case map[string]any, []any:
			// Hosts ignore an OPEN_PAGE with such params (as a run's).
			return fail("Page params must be strings, numbers, booleans or null.")
		}
	}
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if _, ok := hb.pages[in.PageKey]; ok {
		return fail("Page key already in use.")
	}
	if _, ok := hb.txs[in.PageKey]; ok {
		// Hosts route loading states, redirects and answers by this key
		// as by a transaction id: a page must not take a run's, or it
		// would receive what that run's host sends for it.
		return fail("Page key already in use.")
	}
	var def *protocol.PageDefinition
	for _, h := range hb.visibleHosts(env, b.user) {
		if p, ok := h.pages[in.PageSlug]; ok {
			def = &p
			break
		}
	}
	for _, hh := range hb.httpHostsIn(env) {
		if p, ok := hh.pages[in.PageSlug]; ok && def == nil {
			def = &p
		}
	}
	if def == nil {
		return fail("Page not found.")
	}
	if !canAccess(b.user, def.Access) {
		return fail("You do not have access to this page.")
	}
	h := hb.pickHost(env, b.user.ID, in.PageSlug, true, false)
	var hh *httpHost
	if h == nil {
		if r := hb.pickHost(env, b.user.ID, in.PageSlug, true, true); r != nil && r.replica != "" && b.peer == "" {
			return hb.openRemotePage(b, r.replica, in)
		}
		if hh = hb.pickHTTPHost(env, in.PageSlug, true); hh == nil {
			return fail("No host is online for this page.")
		}
	}
	p := &pageSess{key: in.PageKey, slug: in.PageSlug, browser: b}
	hb.pages[p.key] = p
	b.addPage(p)
	if hh == nil {
		answer := hb.sendOpenPage(b, p, h, env, in)
		return func() protocol.OpenPageReturns { return hb.awaitOpenPage(b, p, answer) }
	}
	return func() protocol.OpenPageReturns {
		// No websocket host serves it: ask a serverless host to connect
		// for it, then open it on that connection.
		hb.mu.Lock()
		if hb.pages[p.key] != p {
			hb.mu.Unlock()
			return protocol.OpenPageReturns{Type: "ERROR", Message: "The page was closed."}
		}
		h, msg := hb.awaitRequestHost(b, p, hh, env)
		if h == nil {
			if hb.pages[p.key] == p {
				delete(hb.pages, p.key)
				delete(b.pages, p.key)
			}
			hb.mu.Unlock()
			return protocol.OpenPageReturns{Type: "ERROR", Message: msg}
		}
		answer := hb.sendOpenPage(b, p, h, env, in)
		hb.mu.Unlock()
		return hb.awaitOpenPage(b, p, answer)
	}
}

// openRemotePage opens a page whose host is on replica r (hb.mu held): the
// stand-in of b there opens it, and b's calls for it go there.
func (hb *hub) openRemotePage(b *browser, r string, in protocol.RequestPageInputs) func() protocol.OpenPageReturns {
	b.setRemote(in.PageKey, r)
	return func() protocol.OpenPageReturns {
		out, _ := hb.s.cl.forward(b, r, protocol.MethodRequestPage, rawJSON(in))
		var ret protocol.OpenPageReturns
		if raw, ok := out.(json.RawMessage); !ok || json.Unmarshal(raw, &ret) != nil {
			ret = protocol.OpenPageReturns{Type: "ERROR", Message: "The server of the page's host did not answer."}
		}
		if ret.Type != "SUCCESS" {
			hb.mu.Lock()
			if b.remote[in.PageKey] == r {
				delete(b.remote, in.PageKey)
			}
			hb.mu.Unlock()
		}
		return ret
	}
}

// sendOpenPage gives page p to host h and queues OPEN_PAGE (hb.mu held);
// the answer arrives on the channel.
func (hb *hub) sendOpenPage(b *browser, p *pageSess, h *host, env string, in protocol.RequestPageInputs) chan protocol.OpenPageReturns {
	p.host, p.hostID, p.keyID = h, h.id, h.key.ID
	params, _ := json.Marshal(in.Params)
	if in.Params == nil {
		params = []byte(`{}`)
	}
	answer := make(chan protocol.OpenPageReturns, 1)
	queued := h.e.call(protocol.MethodOpenPage, protocol.OpenPageInputs{PageKey: p.key, Page: protocol.PageRef{Slug: in.PageSlug},
		Environment: env, User: hb.userRef(b.user), Params: params}, func(raw json.RawMessage, err error) {
		var r protocol.OpenPageReturns
		if err != nil {
			r = protocol.OpenPageReturns{Type: "ERROR", Message: "The host did not answer."}
		} else if json.Unmarshal(raw, &r) != nil || (r.Type != "SUCCESS" && r.Type != "ERROR") {
			r = protocol.OpenPageReturns{Type: "ERROR", Message: "The host gave an invalid answer."}
		}
		answer <- r
	})
	if !queued {
		answer <- protocol.OpenPageReturns{Type: "ERROR", Message: "The host is disconnecting."}
	}
	return answer
}

// awaitOpenPage waits for the host's answer to OPEN_PAGE; a page that did
// not open is forgotten.
func (hb *hub) awaitOpenPage(b *browser, p *pageSess, answer chan protocol.OpenPageReturns) protocol.OpenPageReturns {
	var r protocol.OpenPageReturns
	select {
	case r = <-answer:
	case <-time.After(pageOpenTimeout):
		r = protocol.OpenPageReturns{Type: "ERROR", Message: "The host did not answer."}
	case <-b.ctx().Done():
		r = protocol.OpenPageReturns{Type: "ERROR", Message: "Closed."}
	}
	if r.Type != "SUCCESS" {
		hb.mu.Lock()
		if hb.pages[p.key] == p {
			delete(hb.pages, p.key)
			delete(b.pages, p.key)
		}
		hb.mu.Unlock()
		return r
	}
	r.PageKey = p.key
	return r
}

func (hb *hub) leavePage(b *browser, key string) bool {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	p, ok := hb.pages[key]
	if !ok || p.browser != b {
		return false
	}
	delete(hb.pages, key)
	delete(b.pages, key)
	if p.host != nil {
		p.host.e.call(protocol.MethodClosePage, protocol.ClosePageInputs{PageKey: key}, nil)
	}
	return true
}
