package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

// Actions of the audit trail (store.AuditEvent.Action; API.md).
const (
	auditLogin        = "login"        // detail: method (password, link)
	auditLoginFailed  = "login.failed" // actor email as typed; detail: reason (password, throttled)
	auditKeyCreated   = "key.created"  // target: key id; detail: env, label, prefix
	auditKeyRevoked   = "key.revoked"  // target: key id; detail: env, owner
	auditUserCreated  = "user.created" // target: user id; detail: email, role, teams
	auditUserDeleted  = "user.deleted" // target: user id
	auditUserRole     = "user.role_changed"
	auditUserTeams    = "user.teams_changed"
	auditRunStarted   = "run.started"  // target: transaction id; detail: slug, env, params (clipped)
	auditRunCanceled  = "run.canceled" // target: transaction id; detail: slug, env
	auditAuditExport  = "audit.exported"
	auditParamValue   = 256 // bytes of one param's JSON kept; longer values are clipped
	auditMaxParams    = 50  // params kept; the rest are counted
	auditExportPage   = 1000
	auditEmailMaxSize = 100
)

// audit appends an event to the audit trail; a failure is logged (and
// counted in the store errors metric), never returned: what was audited
// happened.
func (s *Server) audit(ctx context.Context, r *http.Request, actor store.User, action, target string, detail map[string]any) {
	e := s.auditEvent(r, actor, action, target, detail)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := s.store.AppendAudit(ctx, e); err != nil {
		s.log.Error("storing audit event failed", "action", action, "target", target, "err", err)
	}
}

// auditEvent makes the audit event of what actor did (the request r, when
// not nil, gives the client's address).
func (s *Server) auditEvent(r *http.Request, actor store.User, action, target string, detail map[string]any) store.AuditEvent {
	e := store.AuditEvent{At: time.Now(), ActorID: actor.ID, ActorEmail: protocol.Clip(actor.Email, auditEmailMaxSize),
		Action: action, Target: target}
	if r != nil {
		// The client's address: behind Options.TrustedProxies, the one
		// they forwarded.
		if a := s.clientAddr(r); a.IsValid() {
			e.Remote = a.String()
		}
	}
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			s.log.Error("audit event detail", "action", action, "err", err)
		} else {
			e.Detail = b
		}
	}
	return e
}

// auditParams returns params (a JSON object) for the audit trail: values
// longer than auditParamValue bytes of JSON become a clipped string with
// their length, and at most auditMaxParams keys are kept.
func auditParams(params json.RawMessage) any {
	if len(params) == 0 {
		return map[string]any{}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(params, &m); err != nil {
		return protocol.Clip(string(params), auditParamValue)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := map[string]any{}
	for i, k := range keys {
		if i == auditMaxParams {
			out["…"] = fmt.Sprintf("%d more params", len(keys)-auditMaxParams)
			break
		}
		v := m[k]
		if len(v) > auditParamValue {
			out[protocol.Clip(k, 64)] = protocol.Clip(string(v), auditParamValue)
		} else {
			out[protocol.Clip(k, 64)] = v
		}
	}
	return out
}

// auditFilter reads the filter of GET /api/console/audit from the query:
// action (or a prefix ending in "."), actor (an email), target, since and
// until (RFC 3339 or milliseconds since the epoch), before (a seq) and
// limit.
func auditFilter(r *http.Request) (store.AuditFilter, error) {
	q := r.URL.Query()
	f := store.AuditFilter{Action: q.Get("action"), Actor: q.Get("actor"), Target: q.Get("target")}
	var err error
	if f.Since, err = parseAuditTime(q.Get("since")); err != nil {
		return f, fmt.Errorf("since: %w", err)
	}
	if f.Until, err = parseAuditTime(q.Get("until")); err != nil {
		return f, fmt.Errorf("until: %w", err)
	}
	if v := q.Get("before"); v != "" {
		if f.Before, err = strconv.ParseInt(v, 10, 64); err != nil || f.Before <= 0 {
			return f, fmt.Errorf("before must be a positive number")
		}
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit <= 0 {
			return f, fmt.Errorf("limit must be a positive number")
		}
	}
	return f, nil
}

func parseAuditTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(n), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor milliseconds since the epoch", protocol.Clip(v, 40))
	}
	return t, nil
}

// auditJSON is an audit event as the console API and the export show it.
type auditJSON struct {
	Seq        int64           `json:"seq"`
	At         time.Time       `json:"at"`
	ActorID    string          `json:"actorId"`
	ActorEmail string          `json:"actorEmail"`
	Action     string          `json:"action"`
	Target     string          `json:"target"`
	Detail     json.RawMessage `json:"detail"`
	Remote     string          `json:"remote"`
}

func toAuditJSON(e store.AuditEvent) auditJSON {
	d := e.Detail
	if len(d) == 0 {
		d = json.RawMessage(`{}`)
	}
	return auditJSON{Seq: e.Seq, At: e.At, ActorID: e.ActorID, ActorEmail: e.ActorEmail, Action: e.Action,
		Target: e.Target, Detail: d, Remote: e.Remote}
}

// apiListAudit is GET /api/console/audit (admins): one page of events,
// newest first, and the "before" of the next page (0 at the end).
func (s *Server) apiListAudit(w http.ResponseWriter, r *http.Request, _ store.User) {
	f, err := auditFilter(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	if f.Limit == 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 500)
	events, err := s.store.ListAudit(r.Context(), f)
	if err != nil {
		internalErr(s, w, err)
		return
	}
	out := make([]auditJSON, len(events))
	for i, e := range events {
		out[i] = toAuditJSON(e)
	}
	var next int64
	if len(events) == f.Limit {
		next = events[len(events)-1].Seq
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out, "next": next})
}

// apiExportAudit is GET /api/console/audit/export (admins): every event the
// filter selects (limit ignored), newest first, as JSON lines, downloaded
// as a file. The export is itself audited.
func (s *Server) apiExportAudit(w http.ResponseWriter, r *http.Request, u store.User) {
	f, err := auditFilter(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	q := r.URL.Query()
	q.Del("limit")
	s.audit(r.Context(), r, u, auditAuditExport, "", map[string]any{"filter": q.Encode()})
	w.Header().Set("Content-Type", "application/x-ndjson; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="audit-`+time.Now().UTC().Format("20060102-150405")+`.jsonl"`)
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w) // one object and a newline per event
	f.Limit = auditExportPage
	for {
		events, err := s.store.ListAudit(r.Context(), f)
		if err != nil {
			// Headers are sent: the truncated file ends with an error line.
			s.log.Error("audit export", "err", err)
			enc.Encode(map[string]string{"error": "the export stopped: the store failed"})
			return
		}
		for _, e := range events {
			if err := enc.Encode(toAuditJSON(e)); err != nil {
				return // the client went away
			}
		}
		if len(events) < f.Limit {
			return
		}
		f.Before = events[len(events)-1].Seq
	}
}

// auditChange is one audit event of a change.
type auditChange struct {
	action string
	detail map[string]any
}

// userDiff returns the audit events of a user's change from before to
// after: role and teams.
func userDiff(before, after store.User) []auditChange {
	var out []auditChange
	if before.Role != after.Role {
		out = append(out, auditChange{auditUserRole, map[string]any{"email": after.Email, "from": before.Role, "to": after.Role}})
	}
	if strings.Join(before.Teams, ",") != strings.Join(after.Teams, ",") {
		out = append(out, auditChange{auditUserTeams, map[string]any{"email": after.Email, "from": nonNil(before.Teams), "to": nonNil(after.Teams)}})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
