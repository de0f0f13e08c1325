package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	wsa "github.com/interval-go/sdk/internal/isocket"
	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/internal/markup"
	"github.com/interval-go/sdk/server/store"
)

// Errors logged for refused calls.
var (
	errUnknownMethod = errors.New("unknown method")
	errBadInput      = errors.New("invalid input")
)

var (
	actionSlugRe = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	groupSlugRe  = regexp.MustCompile(`^[A-Za-z0-9_./-]+$`)
)

func validGroupSlug(s string) bool {
	return s != "" && groupSlugRe.MatchString(s) && !strings.Contains(s, "//") &&
		!strings.HasPrefix(s, "/") && !strings.HasSuffix(s, "/")
}

func (s *Server) wsConfig() wsa.Config {
	// The endpoint writes the ACKs held with its answers (flushHeld).
	return wsa.Config{ReadLimit: s.opts.MaxMessageBytes, PingInterval: s.opts.PingInterval, Pinger: s.pinger, AckHold: ackHold}
}

// closeReasonMax is the longest close reason a close frame carries.
const closeReasonMax = 123

func (s *Server) refuse(ws *wsa.Socket, reason string) {
	if len(reason) > closeReasonMax {
		reason = reason[:closeReasonMax]
	}
	ws.Close(websocket.StatusPolicyViolation, reason)
}

// serveHost runs a host socket (x-api-key) until it ends.
func (s *Server) serveHost(ws *wsa.Socket, r *http.Request, apiKey string) {
	ctx, cancel := context.WithTimeout(r.Context(), storeAnswerTimeout)
	defer cancel()
	k, owner, err := s.keyAuth(ctx, apiKey)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		// Not a refusal of the key: the host reconnects (1013, try
		// again later).
		s.log.Warn("host socket closed: the store did not answer its API key", "remote", r.RemoteAddr, "err", err)
		ws.Close(websocket.StatusTryAgainLater, storeUnavailableMsg)
		return
	}
	if err != nil {
		s.log.Warn("host refused: invalid API key", "remote", r.RemoteAddr, "err", err)
		s.metrics.refused(refusedAPIKey)
		msg := "Invalid API key, please check the apiKey property."
		if b := s.baseURL(r); len(msg)+len(b)+40 <= closeReasonMax {
			msg += " Get an API key at " + b + "/settings/keys."
		}
		s.refuse(ws, msg)
		return
	}
	id := r.Header.Get("x-instance-id")
	if id == "" || len(id) > 200 {
		id = uuid.NewString()
	}
	h := &host{id: id, key: k, owner: owner, status: hostOnline, connectedAt: time.Now(),
		actions: map[string]protocol.ActionDefinition{}, pages: map[string]protocol.PageDefinition{}}
	log := s.log.With("host", id, "env", k.Env)
	h.e = newEndpoint(ws, s.wsConfig(), false, s.hostRate, func(method string, data json.RawMessage) (any, error) {
		return s.hostCall(h, method, data)
	}, log, slog.LevelWarn, func() { s.metrics.limited(limitHostSocket) })
	if !s.register(h.e) {
		h.e.closeWith(1012, restartReason)
		h.e.run()
		return
	}
	defer s.unregister(h.e)
	if !s.hub.addHost(h) {
		log.Warn("host refused: instance id in use by a host with another API key")
		h.e.closeWith(1008, "Another host is connected with this instance id.")
		h.e.run()
		return
	}
	if err := h.e.conn.SendAuthenticated(ctx); err != nil {
		log.Warn("host did not acknowledge authentication", "err", err)
		h.e.closeWith(1008, "Failed confirming authentication.")
	} else {
		log.Info("host connected")
	}
	h.e.run()
	s.hub.removeHost(h)
	if s.cl != nil {
		s.cl.hostsChanged()
	}
	log.Info("host disconnected", "err", h.e.conn.Err())
}

func decode(data json.RawMessage, v any) error {
	if len(data) == 0 {
		data = json.RawMessage(`{}`)
	}
	if decodeFlat(data, v) {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %w", errBadInput, err)
	}
	return nil
}

// decodeFlat decodes the inputs of the calls every run makes (flat
// objects of strings and booleans) without encoding/json's reflection, and
// reports whether it did; v is left zeroed when it did not, for
// encoding/json. The fields listed must be every field of their type
// (TestFlatInputsComplete): a key missing here would be ignored.
func decodeFlat(data []byte, v any) bool {
	switch in := v.(type) {
	case *protocol.SendIOCallInputs:
		if protocol.DecodeFlat(data, protocol.FlatField{Name: "transactionId", S: &in.TransactionID},
			protocol.FlatField{Name: "ioCall", S: &in.IOCall}, protocol.FlatField{Name: "skipClientCall", B: &in.SkipClientCall}) {
			return true
		}
		*in = protocol.SendIOCallInputs{}
	case *protocol.MarkTransactionCompleteInputs:
		if protocol.DecodeFlat(data, protocol.FlatField{Name: "transactionId", S: &in.TransactionID},
			protocol.FlatField{Name: "resultStatus", S: &in.ResultStatus}, protocol.FlatField{Name: "result", S: &in.Result},
			protocol.FlatField{Name: "skipClientCall", B: &in.SkipClientCall}) {
			return true
		}
		*in = protocol.MarkTransactionCompleteInputs{}
	case *protocol.RespondToIOCallInputs:
		if protocol.DecodeFlat(data, protocol.FlatField{Name: "transactionId", S: &in.TransactionID},
			protocol.FlatField{Name: "ioResponse", S: &in.IOResponse}) {
			return true
		}
		*in = protocol.RespondToIOCallInputs{}
	case *protocol.TransactionRef:
		if protocol.DecodeFlat(data, protocol.FlatField{Name: "transactionId", S: &in.TransactionID}) {
			return true
		}
		*in = protocol.TransactionRef{}
	}
	return false
}

// hostCall answers one call from a host. Refused calls are logged by the
// RPC peer (it sends no RESPONSE for an error) or answered false.
func (s *Server) hostCall(h *host, method string, data json.RawMessage) (any, error) {
	hb := s.hub
	switch method {
	case protocol.MethodInitializeHost:
		var in protocol.InitializeHostInputs
		if err := decode(data, &in); err != nil {
			h.e.log.Warn("refusing call with invalid input", "method", method, "err", err)
			return protocol.InitializeHostReturns{Type: "error", Message: "Invalid INITIALIZE_HOST request."}, nil
		}
		if in.RequestID != "" {
			return s.initRequestHost(h, in), nil
		}
		return s.initHost(h, in), nil
	case protocol.MethodBeginHostShutdown:
		hb.mu.Lock()
		h.status = hostShuttingDown
		hb.mu.Unlock()
		if s.cl != nil {
			s.cl.hostsChanged()
		}
		h.e.log.Info("host shutting down; out of rotation")
		return protocol.TypedResult{Type: "success"}, nil
	case protocol.MethodSendIOCall:
		var in protocol.SendIOCallInputs
		if err := decode(data, &in); err != nil {
			h.e.log.Warn("refusing call with invalid input", "method", method, "err", err)
			return s.ioCallErr(h, "Invalid SEND_IO_CALL request."), nil
		}
		return s.sendIOCall(h, in), nil
	case protocol.MethodSendLoadingCall:
		var in protocol.SendLoadingCallInputs
		if err := decode(data, &in); err != nil {
			h.e.log.Warn("refusing call with invalid input", "method", method, "err", err)
			return false, nil
		}
		return s.sendLoading(h, in), nil
	case protocol.MethodSendLog:
		var in protocol.SendLogInputs
		if err := decode(data, &in); err != nil {
			h.e.log.Warn("refusing call with invalid input", "method", method, "err", err)
			return false, nil
		}
		return s.sendLog(h, in), nil
	case protocol.MethodSendRedirect:
		var in protocol.SendRedirectInputs
		if err := decode(data, &in); err != nil {
			h.e.log.Warn("refusing call with invalid input", "method", method, "err", err)
			return false, nil
		}
		return s.sendRedirect(h, in), nil
	case protocol.MethodNotify:
		var in protocol.NotifyInputs
		if err := decode(data, &in); err != nil {
			h.e.log.Warn("refusing call with invalid input", "method", method, "err", err)
			return false, nil
		}
		if err := s.notify(h.e.ctx, h.key, in); err != nil {
			h.e.log.Warn("refusing NOTIFY", "err", err)
			return false, nil
		}
		return true, nil
	case protocol.MethodSendPage:
		var in protocol.SendPageInputs
		if err := decode(data, &in); err != nil {
			h.e.log.Warn("refusing call with invalid input", "method", method, "err", err)
			return false, nil
		}
		return s.sendPage(h, in), nil
	case protocol.MethodMarkTransactionComplete:
		var in protocol.MarkTransactionCompleteInputs
		if err := decode(data, &in); err != nil {
			h.e.log.Warn("refusing call with invalid input", "method", method, "err", err)
			return false, nil
		}
		return s.markComplete(h, in), nil
	}
	return nil, fmt.Errorf("%w %q from host", errUnknownMethod, protocol.Clip(method, 64))
}

// parseRoutes keeps the valid routes a host declared, by full slug, and
// lists the invalid slugs.
func parseRoutes(in protocol.InitializeHostInputs) (map[string]protocol.ActionDefinition, map[string]protocol.PageDefinition, []string) {
	actions := map[string]protocol.ActionDefinition{}
	pages := map[string]protocol.PageDefinition{}
	invalid := []string{}
	for _, a := range in.Actions {
		full := a.FullSlug()
		if !actionSlugRe.MatchString(a.Slug) || (a.GroupSlug != "" && !validGroupSlug(a.GroupSlug)) {
			invalid = append(invalid, full)
			continue
		}
		actions[full] = a
	}
	for _, p := range in.Groups {
		if !validGroupSlug(p.Slug) {
			invalid = append(invalid, p.Slug)
			continue
		}
		if p.HasIndex != nil && *p.HasIndex {
			p.HasHandler = true
		}
		pages[p.Slug] = p
	}
	for _, slug := range in.CallableActionNames {
		if actionSlugRe.MatchString(slug) {
			if _, ok := actions[slug]; !ok {
				actions[slug] = protocol.ActionDefinition{Slug: slug}
			}
		}
	}
	return actions, pages, invalid
}

// teamWarnings warns about team slugs in access rules that name no team.
func (s *Server) teamWarnings(actions map[string]protocol.ActionDefinition, pages map[string]protocol.PageDefinition) []string {
	warnings := []string{}
	ctx, cancel := s.hub.ctx()
	defer cancel()
	if teams, err := s.store.ListTeams(ctx); err == nil {
		known := map[string]bool{}
		for _, t := range teams {
			known[t.Slug] = true
		}
		seen := map[string]bool{}
		check := func(a *protocol.Access) {
			if a == nil {
				return
			}
			for _, t := range a.Teams {
				if !known[t] && !seen[t] {
					seen[t] = true
					warnings = append(warnings, fmt.Sprintf("Team %q does not exist; only admins can run the actions restricted to it.", t))
				}
			}
		}
		for _, a := range actions {
			check(a.Access)
		}
		for _, p := range pages {
			check(p.Access)
		}
	}
	return warnings
}

func (s *Server) initHost(h *host, in protocol.InitializeHostInputs) protocol.InitializeHostReturns {
	if in.SDKName == "" || in.SDKVersion == "" {
		return protocol.InitializeHostReturns{Type: "error", Message: "Unsupported SDK version"}
	}
	actions, pages, invalid := parseRoutes(in)
	warnings := s.teamWarnings(actions, pages)
	if s.cl != nil {
		// Its runs held by another replica (it was connected there)
		// come here first, so that the calls it re-sends find them.
		s.cl.claimForHost(h)
		defer s.cl.hostsChanged()
	}
	hb := s.hub
	hb.mu.Lock()
	h.sdkName, h.sdkVersion, h.impl = in.SDKName, in.SDKVersion, in.Implementation
	h.actions, h.pages = actions, pages
	h.initialized = true
	delete(hb.gone, h.id)
	delete(hb.left, h.id)
	hb.reviveComputing(h)
	hb.endedWhileAway(h)
	s.metrics.declared(h)
	hb.startAwaiting(h)
	hb.mu.Unlock()
	h.e.log.Info("host initialized", "sdk", in.SDKName, "version", in.SDKVersion, "actions", len(actions), "pages", len(pages), "invalid", len(invalid))
	return protocol.InitializeHostReturns{
		Type:           "success",
		Environment:    h.env(),
		InvalidSlugs:   invalid,
		Organization:   &protocol.Organization{Name: s.org.Name, Slug: s.org.Slug},
		DashboardURL:   s.baseURL(nil) + "/",
		Warnings:       warnings,
		Implementation: serverImplementation,
	}
}

// serverImplementation names this server in INITIALIZE_HOST answers: a Go
// host then knows its finished development transactions are kept when it
// disconnects (protocol.GoServerName).
var serverImplementation = &protocol.Implementation{Name: protocol.GoServerName, Version: "0.1.0"}

func (s *Server) ioCallErr(h *host, msg string) protocol.SendIOCallReturns {
	if h.atLeast("1.4.0") {
		return protocol.SendIOCallReturns{Message: msg}
	}
	return protocol.SendIOCallReturns{}
}

// awaitsInput reports whether an IO call asks the operator for input: it has
// a component other than a display.
func awaitsInput(r protocol.IORender) bool {
	for _, c := range r.ToRender {
		if !strings.HasPrefix(c.MethodName, "DISPLAY_") {
			return true
		}
	}
	return false
}

func (s *Server) sendIOCall(h *host, in protocol.SendIOCallInputs) protocol.SendIOCallReturns {
	render, err := protocol.DecodeIORender(in.IOCall)
	if err == nil && markup.MayRewrite(in.IOCall) {
		// What reaches a browser holds no script or event handler: the
		// host's HTML and markdown are sanitized here, once (an IO call
		// with none, well-formed as decoding showed, is kept as it is).
		in.IOCall, err = markup.IOCall(in.IOCall)
	}
	if err != nil {
		h.e.log.Warn("refusing SEND_IO_CALL", "transaction", protocol.Clip(in.TransactionID, 64), "err", err)
		return s.ioCallErr(h, "Invalid IO call.")
	}
	for _, c := range render.ToRender {
		if c.MethodName == "CREDENTIALS" {
			return s.ioCallErr(h, "IO method io.experimental.credentials is not currently supported.")
		}
	}
	hb := s.hub
	hb.mu.Lock()
	defer hb.mu.Unlock()
	t, msg := hb.ownedBy(h, in.TransactionID)
	if t == nil {
		h.e.log.Warn("refusing SEND_IO_CALL", "transaction", in.TransactionID, "err", msg)
		return s.ioCallErr(h, msg)
	}
	if t.finished() {
		if !awaitsInput(render) {
			// Append UI: stateful displays keep rendering after completion.
			if t.browser != nil && !in.SkipClientCall && t.rec.Status == store.StatusCompleted {
				t.browser.call(protocol.MethodRender, protocol.RenderInputs{TransactionID: t.rec.ID, ToRender: in.IOCall}, nil)
			}
			return protocol.SendIOCallReturns{OK: true}
		}
		// A handler waits for the operator in a run that ended without
		// it: canceled, or failed after HostDropGrace, while its host was
		// away (the host sends again the call it shows once it is back).
		// Told nothing, it would wait for an answer for good: the call is
		// answered CANCELED and the run closed on the host.
		h.e.log.Info("host sent an IO call for a run that ended while it was away; canceling it on the host",
			"transaction", t.rec.ID, "status", t.rec.Status)
		hb.cancelOnHost(t, h, render.ID, render.InputGroupKey)
		return protocol.SendIOCallReturns{OK: true}
	}
	if t.answered != "" {
		if in.IOCall == t.answered {
			// The host re-sent, after reconnecting, the call whose
			// answer it acknowledged: it has the answer.
			h.e.log.Debug("host re-sent an IO call it had the answer to; not shown again", "transaction", t.rec.ID)
			return protocol.SendIOCallReturns{OK: true}
		}
		t.answered = ""
	}
	dirty := false
	if t.rec.PendingAnswer != "" {
		pa, err := protocol.DecodeIOResponse(t.rec.PendingAnswer)
		if err == nil && pa.ID == render.ID && (pa.InputGroupKey == "" || pa.InputGroupKey == render.InputGroupKey) {
			// The host re-sent the call the operator answered: the
			// answer did not reach it (its connection, or the server's
			// process, ended first). It gets the answer again; the
			// operator, who saw it acknowledged, is not asked again.
			t.renderID, t.groupKey, t.loading = render.ID, render.InputGroupKey, nil
			t.renders++
			t.awaiting = true
			if t.rec.Status != store.StatusRunning {
				t.rec.Status = store.StatusRunning
				hb.save(t)
			}
			h.e.log.Info("host re-sent an answered IO call; delivering the answer again", "transaction", t.rec.ID)
			h.e.call(protocol.MethodIOResponse, protocol.IOResponseInputs{Value: t.rec.PendingAnswer, TransactionID: t.rec.ID},
				hb.answerDelivered(t, t.renders, in.IOCall))
			return protocol.SendIOCallReturns{OK: true}
		}
		t.rec.PendingAnswer = "" // another call: the host had the answer
		dirty = true
	}
	s.metrics.rendered(t)
	t.render, t.renderID, t.groupKey, t.loading, t.redirect = in.IOCall, render.ID, render.InputGroupKey, nil, nil
	t.identityAt, t.identityGrace = time.Time{}, 0
	for _, c := range render.ToRender {
		if c.MethodName == "CONFIRM_IDENTITY" {
			var props struct {
				GracePeriodMs float64 `json:"gracePeriodMs"`
			}
			json.Unmarshal(c.Props, &props)
			t.identityAt = time.Now()
			if props.GracePeriodMs > 0 && props.GracePeriodMs < float64(24*time.Hour/time.Millisecond) {
				t.identityGrace = time.Duration(props.GracePeriodMs) * time.Millisecond
			}
		}
	}
	status := store.StatusRunning
	if awaitsInput(render) {
		status = store.StatusAwaitingInput
	}
	// A host that does not resolve displays at once (before 0.38.0)
	// waits for the operator on them too.
	t.awaiting = status == store.StatusAwaitingInput || !h.atLeast("0.38.0")
	t.renders++
	// The render's status is informational (the host sends its call
	// again after a loss): neither it nor the answer to the host waits
	// for the store.
	free := true
	if t.rec.Status != status || dirty {
		was := t.rec.Status
		t.rec.Status = status
		if was == store.StatusRunning || was == store.StatusAwaitingInput {
			hb.saveLazy(t)
		} else {
			hb.save(t)
			free = false
		}
	}
	if free {
		h.e.freeAnswer()
	}
	if h.e.log.Enabled(context.Background(), slog.LevelDebug) { // the arguments cost an allocation a run otherwise
		h.e.log.Debug("IO call shown", "transaction", t.rec.ID, "render", t.renders, "console", t.browser != nil, "answerDropped", dirty)
	}
	if t.browser != nil && !in.SkipClientCall {
		// Nothing stored comes with it (the call lives in the host).
		t.browser.callFree(protocol.MethodRender, protocol.RenderInputs{TransactionID: t.rec.ID, ToRender: in.IOCall}, nil)
	}
	return protocol.SendIOCallReturns{OK: true}
}

func (s *Server) sendLoading(h *host, in protocol.SendLoadingCallInputs) bool {
	hb := s.hub
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if in.Label == "" && in.Title != "" {
		in.Label = in.Title
	}
	if p := hb.pageOwnedBy(h, in.TransactionID); p != nil {
		if p.browser != nil && !in.SkipClientCall {
			p.browser.call(protocol.MethodLoadingState, protocol.LoadingStateInputs{TransactionID: p.key, LoadingState: in.LoadingState}, nil)
		}
		return true
	}
	t, msg := hb.ownedBy(h, in.TransactionID)
	if t == nil {
		h.e.log.Warn("refusing SEND_LOADING_CALL", "transaction", protocol.Clip(in.TransactionID, 64), "err", msg)
		return false
	}
	if t.finished() {
		if endedUnknown(t) {
			// Progress of a run that ended while its host was away:
			// the handler computes on, doing what was canceled.
			hb.cancelOnHost(t, h, t.renderID, t.groupKey)
		}
		return false
	}
	ls := in.LoadingState
	t.loading = &ls
	if t.browser != nil && !in.SkipClientCall {
		t.browser.call(protocol.MethodLoadingState, protocol.LoadingStateInputs{TransactionID: t.rec.ID, LoadingState: ls}, nil)
	}
	return true
}

// maxLogBytes bounds one stored log line.
const maxLogBytes = 64 << 10

// runLogLimit bounds the log lines a run keeps: a host logging in a loop
// would otherwise fill the store. The line that would pass it is replaced
// by a note saying so; later ones are dropped (and answered true, as the
// host could do nothing else with them). A variable for tests.
var runLogLimit = struct{ lines, bytes int }{lines: 10_000, bytes: 32 << 20}

// sendLog stores a log line of one of h's runs and shows it to the run's
// console. The line is queued on the group commit under the hub's lock (in
// order with the run's other writes) and waited for without it, so that a
// host logging does not hold every other socket for a commit; the host
// hears true, and the console gets the line, only once it is committed.
// The host's next call is handled after this one returns (a socket's
// calls are handled in order), so the console sees the line before what
// follows it.
func (s *Server) sendLog(h *host, in protocol.SendLogInputs) bool {
	hb := s.hub
	hb.mu.Lock()
	locked := true
	defer func() {
		if locked {
			hb.mu.Unlock()
		}
	}()
	t, msg := hb.ownedBy(h, in.TransactionID)
	if t == nil {
		h.e.log.Warn("refusing SEND_LOG", "transaction", protocol.Clip(in.TransactionID, 64), "err", msg)
		return false
	}
	if endedUnknown(t) {
		// A line of a run that ended while its host was away: the
		// handler computes on, doing what was canceled. (The line is
		// kept, as any late line.)
		hb.cancelOnHost(t, h, t.renderID, t.groupKey)
	}
	if t.closedOnHost && t.finished() {
		// A late line for a run the server no longer holds: its history
		// is in the store and must not be rewritten (a repeated index
		// replaces a line, and nextLog is not known here).
		ctx, cancel := hb.ctx()
		logs, err := s.store.Logs(ctx, t.rec.ID)
		cancel()
		if err != nil {
			s.log.Error("reading logs", "transaction", t.rec.ID, "err", err)
			return false
		}
		for _, l := range logs {
			if in.Index != nil && l.Index == *in.Index {
				return true // sent already (a resend after a reconnection)
			}
			t.nextLog = max(t.nextLog, l.Index+1)
		}
		if in.Index != nil && *in.Index < t.nextLog {
			in.Index = nil
		}
	}
	l := store.Log{Index: t.nextLog, Timestamp: in.Timestamp, Data: in.Data}
	if in.Index != nil && *in.Index >= 0 && *in.Index < math.MaxInt32 {
		l.Index = *in.Index
	}
	if l.Timestamp <= 0 {
		l.Timestamp = time.Now().UnixMilli()
	}
	if len(l.Data) > maxLogBytes {
		l.Data = l.Data[:maxLogBytes] + "… (truncated)"
	}
	if t.logCapped {
		return true
	}
	if t.logLines >= runLogLimit.lines || t.logBytes+len(l.Data) > runLogLimit.bytes {
		t.logCapped = true
		l.Data = fmt.Sprintf("(Further log lines were dropped: a run keeps at most %d lines and %d MiB of logs.)", runLogLimit.lines, runLogLimit.bytes>>20)
		s.log.Warn("run reached its log limit; further lines are dropped", "transaction", t.rec.ID, "lines", t.logLines, "bytes", t.logBytes)
	}
	t.logLines, t.logBytes = t.logLines+1, t.logBytes+len(l.Data)
	if l.Index >= t.nextLog {
		t.nextLog = l.Index + 1
	}
	id := t.rec.ID
	start := time.Now()
	stored := s.saves.QueueLog(id, l)
	locked = false
	hb.mu.Unlock()
	ctx, cancel := hb.ctx()
	defer cancel()
	err := stored(ctx)
	s.metrics.storeWrite.WithLabelValues("append_log").Observe(time.Since(start).Seconds())
	if err != nil {
		s.metrics.storeErrors.WithLabelValues("append_log").Inc()
		s.log.Error("storing log", "transaction", id, "err", err)
		return false
	}
	if in.SkipClientCall {
		return true
	}
	hb.mu.Lock()
	if t.browser != nil {
		d := l.Data
		t.browser.call(protocol.MethodLog, protocol.LogInputs{TransactionID: id, Data: &d, Index: l.Index, Timestamp: l.Timestamp}, nil)
	}
	hb.mu.Unlock()
	return true
}

func (s *Server) sendRedirect(h *host, in protocol.SendRedirectInputs) bool {
	hb := s.hub
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if in.Action != "" && in.Route == "" {
		in.Route, in.Action = in.Action, ""
	}
	if in.URL == "" && in.Route == "" {
		h.e.log.Warn("refusing SEND_REDIRECT: neither url nor route", "transaction", protocol.Clip(in.TransactionID, 64))
		return false
	}
	if in.URL != "" && !markup.SafeURL(in.URL) {
		// The console checks too, and its CSP forbids such scripts; no
		// browser is sent one.
		h.e.log.Warn("refusing SEND_REDIRECT: a URL that runs script or holds a document", "transaction", protocol.Clip(in.TransactionID, 64), "url", protocol.Clip(in.URL, 64))
		return false
	}
	r := protocol.RedirectInputs{TransactionID: in.TransactionID, Redirect: in.Redirect}
	if p := hb.pageOwnedBy(h, in.TransactionID); p != nil {
		if p.browser != nil && !in.SkipClientCall {
			p.browser.call(protocol.MethodRedirect, r, nil)
		}
		return true
	}
	t, msg := hb.ownedBy(h, in.TransactionID)
	if t == nil {
		h.e.log.Warn("refusing SEND_REDIRECT", "transaction", protocol.Clip(in.TransactionID, 64), "err", msg)
		return false
	}
	t.redirected = true
	if in.SkipClientCall {
		return true
	}
	hb.deliverRedirect(t, r)
	return true
}

// deliverRedirect sends r to t's browser, or keeps it for the next browser
// when there is none or the sending fails (hb.mu held).
func (hb *hub) deliverRedirect(t *txn, r protocol.RedirectInputs) {
	b := t.browser
	if b == nil || !b.call(protocol.MethodRedirect, r, func(_ json.RawMessage, err error) {
		if err == nil {
			return
		}
		hb.mu.Lock()
		defer hb.mu.Unlock()
		if hb.txs[t.rec.ID] != t {
			return
		}
		if t.browser != nil && t.browser != b {
			hb.deliverRedirect(t, r)
		} else {
			t.redirect = &r
		}
	}) {
		t.redirect = &r
	}
}

// Limits of a notification's inputs.
const (
	maxNotifyDeliveries = 100
	maxNotifyTitle      = 500
	maxNotifyMessage    = 20000
)

// errNotify is a notification refused for its inputs; its message is shown
// to the host.
type errNotify struct{ msg string }

func (e errNotify) Error() string { return e.msg }

// Notes on deliveries this server cannot make.
const (
	noteNoMail  = "not delivered: no mail delivery configured"
	noteNoSlack = "not delivered: no Slack delivery configured"
	noteDevOnly = "not delivered: a development key's notifications go to its owner only"
)

// notify stores a notification in the inbox of its recipients (PROTOCOL.md
// §3.4; the console's Notifications page) and shows it as a toast in the
// browser watching its transaction. Recipients: the console user of each
// EMAIL delivery instruction's address; without instructions, the user
// running the transaction, or outside one the development key's owner or,
// with a live key, every admin. A development key's notification goes to
// its owner only, as its runs do: in their console, and by mail when mail
// is configured and it was addressed to them or to no one; its other
// deliveries are kept with a note and neither mailed nor posted. Other
// deliveries (addresses of no user,
// Slack without Options.SlackToken, bad Slack destinations) are kept with a
// note saying they were not delivered; Slack deliveries are posted by the
// server's Slack app. It returns an
// errNotify for bad input, another error when the store fails.
func (s *Server) notify(ctx context.Context, k store.APIKey, in protocol.NotifyInputs) error {
	if strings.TrimSpace(in.Message) == "" {
		return errNotify{"message is required."}
	}
	if len(in.Message) > maxNotifyMessage || len(in.Title) > maxNotifyTitle {
		return errNotify{fmt.Sprintf("title must be at most %d bytes and message at most %d.", maxNotifyTitle, maxNotifyMessage)}
	}
	if len(in.DeliveryInstructions) > maxNotifyDeliveries {
		return errNotify{fmt.Sprintf("at most %d deliveryInstructions.", maxNotifyDeliveries)}
	}
	deliveries := make([]store.NotificationDelivery, 0, len(in.DeliveryInstructions))
	for i, d := range in.DeliveryInstructions {
		m := strings.ToUpper(d.Method)
		if m == "" {
			m = store.DeliveryEmail
		}
		if m != store.DeliveryEmail && m != store.DeliverySlack {
			return errNotify{fmt.Sprintf("deliveryInstructions[%d].method must be EMAIL or SLACK.", i)}
		}
		if strings.TrimSpace(d.To) == "" {
			return errNotify{fmt.Sprintf("deliveryInstructions[%d].to is required.", i)}
		}
		deliveries = append(deliveries, store.NotificationDelivery{To: strings.TrimSpace(d.To), Method: m})
	}

	n := store.Notification{ID: uuid.NewString(), Env: k.Env, IdempotencyKey: in.IdempotencyKey, Title: in.Title,
		Message: in.Message, TransactionID: in.TransactionID, CreatedAt: time.Now()}
	if at, err := time.Parse(time.RFC3339Nano, in.CreatedAt); err == nil && at.Before(n.CreatedAt.Add(time.Minute)) {
		n.CreatedAt = at
	}
	var runner string
	if in.TransactionID != "" {
		s.hub.mu.Lock()
		t, live := s.hub.txs[in.TransactionID]
		var rec store.Transaction
		if live {
			rec = t.rec
		}
		s.hub.mu.Unlock()
		if !live {
			var err error
			rec, err = s.store.Transaction(ctx, in.TransactionID)
			if errors.Is(err, store.ErrNotFound) {
				return errNotify{"Transaction not found."}
			} else if err != nil {
				return fmt.Errorf("notify: %w", err)
			}
		}
		if rec.Env != k.Env || (k.Env == store.EnvDevelopment && rec.DeveloperID != k.UserID) {
			// Development runs are their developer's own, as everywhere.
			return errNotify{"Transaction not found."}
		}
		n.ActionSlug, runner = rec.Slug, rec.UserID
	}

	var recipients []string
	seen := map[string]bool{}
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			recipients = append(recipients, id)
		}
	}
	undelivered := 0
	var mailTo []string // EMAIL deliveries, when mail is configured
	if k.Env == store.EnvDevelopment {
		owner, err := s.store.UserByID(ctx, k.UserID)
		if err != nil {
			return fmt.Errorf("notify: development key's owner: %w", err)
		}
		add(owner.ID)
		for i := range deliveries {
			d := &deliveries[i]
			if d.Method == store.DeliveryEmail && strings.EqualFold(d.To, owner.Email) {
				if s.mail != nil {
					mailTo = []string{owner.Email}
				}
				continue
			}
			d.Note = noteDevOnly
			undelivered++
		}
	} else {
		for i := range deliveries {
			d := &deliveries[i]
			if d.Method == store.DeliverySlack {
				switch msg := slackDestination(d.To); {
				case s.slack == nil:
					d.Note = noteNoSlack
					undelivered++
				case msg != "":
					d.Note = "not delivered: " + msg
					undelivered++
				} // else posted by deliverNotification
				// A console user named by email also finds it in the console.
				if u, err := s.store.UserByEmail(ctx, d.To); err == nil {
					add(u.ID)
				} else if !errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("notify: %w", err)
				}
				continue
			}
			if s.mail != nil {
				mailTo = append(mailTo, d.To)
			}
			u, err := s.store.UserByEmail(ctx, d.To)
			if errors.Is(err, store.ErrNotFound) {
				if s.mail == nil {
					d.Note = noteNoMail
					undelivered++
				}
				continue
			} else if err != nil {
				return fmt.Errorf("notify: %w", err)
			}
			add(u.ID)
		}
	}
	n.Deliveries = deliveries
	if len(deliveries) == 0 && k.Env != store.EnvDevelopment {
		if runner != "" {
			add(runner)
		} else {
			users, err := s.store.ListUsers(ctx)
			if err != nil {
				return fmt.Errorf("notify: %w", err)
			}
			for _, u := range users {
				if u.Role == store.RoleAdmin {
					add(u.ID)
				}
			}
		}
	}

	stored, created, err := s.store.CreateNotification(ctx, n, recipients)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if !created {
		s.log.Info("notification already stored under its idempotency key", "notification", stored.ID, "env", k.Env)
		return nil
	}
	if undelivered > 0 {
		s.log.Info("notification not delivered to some of its addresses (no mail/Slack delivery configured, or a development key's); kept in the console",
			"notification", n.ID, "env", k.Env, "undelivered", undelivered, "recipients", len(recipients))
	}
	if s.mail != nil && len(deliveries) == 0 {
		mailTo = s.recipientEmails(ctx, recipients)
	}
	s.deliverNotification(n, mailTo)

	// Show it at once: in every open console of its recipients, and in
	// the one watching its transaction (once per socket).
	d := in.DeliveryInstructions
	if d == nil {
		d = []protocol.DeliveryInstruction{}
	}
	push := protocol.ClientNotifyInputs{TransactionID: in.TransactionID, Deliveries: d,
		Message: in.Message, Title: in.Title, IdempotencyKey: in.IdempotencyKey}
	hb := s.hub
	hb.mu.Lock()
	defer hb.mu.Unlock()
	told := map[*browser]bool{}
	for _, id := range recipients {
		for b := range hb.browsers[id] {
			told[b] = true
			b.call(protocol.MethodClientNotify, push, nil)
		}
	}
	if s.cl != nil {
		s.cl.send("", busMsg{Kind: kindUser, Data: rawJSON(userEvent{Op: "notify", Users: recipients, Push: &push})})
	}
	if t, ok := hb.txs[in.TransactionID]; ok && in.TransactionID != "" && t.browser != nil && !told[t.browser] {
		t.browser.call(protocol.MethodClientNotify, push, nil)
	}
	return nil
}

func (s *Server) sendPage(h *host, in protocol.SendPageInputs) bool {
	if in.Page != nil {
		var l protocol.Layout
		err := json.Unmarshal([]byte(*in.Page), &l)
		var safe string
		if err == nil {
			safe, err = markup.Page(*in.Page) // as for SEND_IO_CALL
		}
		if err != nil {
			h.e.log.Warn("refusing SEND_PAGE", "page", protocol.Clip(in.PageKey, 64), "err", err)
			return false
		}
		in.Page = &safe
	}
	hb := s.hub
	hb.mu.Lock()
	defer hb.mu.Unlock()
	p := hb.pageOwnedBy(h, in.PageKey)
	if p == nil {
		return false
	}
	if p.browser != nil {
		p.browser.call(protocol.MethodRenderPage, protocol.RenderPageInputs{PageKey: p.key, Page: in.Page, HostInstanceID: h.id}, nil)
	}
	return true
}

func validResultStatus(status string) bool {
	switch status {
	case protocol.StatusSuccess, protocol.StatusFailure, protocol.StatusCanceled, protocol.StatusRedirected:
		return true
	}
	return false
}

// markComplete records a transaction's result. A result that is not JSON
// or has an unknown status is refused (false), but the transaction still
// ends, as a FAILURE saying so: the operator is not left waiting on a run
// whose host believes it finished.
func (s *Server) markComplete(h *host, in protocol.MarkTransactionCompleteInputs) bool {
	status, result := in.ResultStatus, in.Result
	var bad string
	switch {
	case status != "" && !validResultStatus(status):
		bad = "unknown resultStatus"
	case result != "" && !json.Valid([]byte(result)):
		bad = "result is not JSON"
	case status == "":
		status = protocol.StatusSuccess
		var r protocol.ActionResult
		if json.Unmarshal([]byte(result), &r) == nil && r.Status != "" {
			if status = r.Status; !validResultStatus(status) {
				bad = "unknown result status"
			}
		}
	}
	if bad != "" {
		status = protocol.StatusFailure
		result = failureResult("InvalidResult", "The host sent an invalid result ("+bad+").")
	}
	hb := s.hub
	hb.mu.Lock()
	defer hb.mu.Unlock()
	t, msg := hb.ownedBy(h, in.TransactionID)
	if t == nil {
		h.e.log.Warn("refusing MARK_TRANSACTION_COMPLETE", "transaction", protocol.Clip(in.TransactionID, 64), "err", msg)
		return false
	}
	if bad != "" {
		h.e.log.Warn("refusing MARK_TRANSACTION_COMPLETE: "+bad+"; the transaction fails", "transaction", t.rec.ID)
	}
	if t.finished() {
		return bad == "" // canceled meanwhile: keep the existing status
	}
	t.endedByHost = true
	hb.complete(t, store.StatusCompleted, status, result)
	return bad == ""
}

// recipientEmails returns the email addresses of the users ids.
func (s *Server) recipientEmails(ctx context.Context, ids []string) []string {
	var out []string
	for _, id := range ids {
		if u, err := s.store.UserByID(ctx, id); err == nil && u.Email != "" {
			out = append(out, u.Email)
		}
	}
	return out
}

// deliverNotification emails n to mailTo and posts it to its SLACK
// deliveries in the background (bounded by the mailer's and the Slack
// client's timeouts, ended by the server's shutdown). A failure is logged
// and noted on the deliveries it concerns, so the console shows it; the
// notification stays in the console either way.
func (s *Server) deliverNotification(n store.Notification, mailTo []string) {
	var slackIdx []int // deliveries to post: SLACK ones notify accepted
	if s.slack != nil {
		for i, d := range n.Deliveries {
			if d.Method == store.DeliverySlack && d.Note == "" {
				slackIdx = append(slackIdx, i)
			}
		}
	}
	if len(mailTo) == 0 && len(slackIdx) == 0 {
		return
	}
	var txURL string
	if n.TransactionID != "" && s.public != nil {
		txURL = s.public.JoinPath("transactions", n.TransactionID).String()
	}
	spawned := s.hub.sl.spawn(func(ctx context.Context) {
		notes := map[int]string{}
		if len(mailTo) > 0 {
			subject, body := s.mailText(n, txURL)
			if err := s.mail.send(ctx, mailTo, subject, body); err != nil {
				s.log.Warn("notification email not sent", "notification", n.ID, "err", err)
				for i, d := range n.Deliveries {
					if d.Method == store.DeliveryEmail && d.Note == "" {
						notes[i] = "not delivered: " + err.Error()
					}
				}
			} else {
				s.log.Info("notification emailed", "notification", n.ID, "recipients", len(mailTo))
			}
		}
		text := slackText(n.Title, n.Message, n.ActionSlug, txURL)
		for _, i := range slackIdx {
			to := n.Deliveries[i].To
			if err := s.slack.deliver(ctx, to, text); err != nil {
				s.log.Warn("notification not posted to Slack", "notification", n.ID, "to", to, "err", err)
				notes[i] = "not delivered: " + err.Error()
				continue
			}
			s.log.Info("notification posted to Slack", "notification", n.ID, "to", to)
		}
		if len(notes) > 0 {
			if err := s.store.NoteDeliveries(ctx, n.ID, notes); err != nil {
				s.log.Error("failed deliveries not noted on the notification", "notification", n.ID, "err", err)
			}
		}
	})
	if !spawned {
		s.log.Warn("notification not emailed or posted: the server is shutting down", "notification", n.ID)
	}
}

// mailText is the subject and plain-text body of n's email.
func (s *Server) mailText(n store.Notification, txURL string) (subject, body string) {
	subject = n.Title
	if subject == "" {
		subject, _, _ = strings.Cut(n.Message, "\n")
		if len(subject) > 80 {
			subject = strings.ToValidUTF8(subject[:80], "") + "…"
		}
	}
	body = n.Message
	if txURL != "" {
		body += "\n\nTransaction: " + txURL
	}
	if s.public != nil {
		body += "\n\n-- \nSent by the Interval server at " + s.public.String()
	}
	return subject, body
}
