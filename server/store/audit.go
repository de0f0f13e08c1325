package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The audit trail (migration 0007 of both databases).

// AuditEvent is one entry of the audit trail: who (Actor…) did what
// (Action) to what (Target), when, from where, with details.
type AuditEvent struct {
	// Seq orders the trail; set by the store (AppendAudit's argument's is
	// ignored).
	Seq        int64
	At         time.Time
	ActorID    string // the user; "" when no user acted (a failed login of an unknown email, the server)
	ActorEmail string
	// Action is a dotted name: "login", "login.failed", "key.created",
	// "user.role_changed", "run.started", ….
	Action string
	// Target is the id of what was acted on (a user, a key, a run); "" for none.
	Target string
	// Detail is a JSON object with the action's particulars; nil stores {}.
	Detail json.RawMessage
	// Remote is the client's address (behind trusted proxies, the one
	// they forwarded).
	Remote string
}

// AuditFilter selects audit events for ListAudit; empty fields select all.
type AuditFilter struct {
	// Action is an action ("key.created"), or a prefix ending in a dot
	// ("key.") for every action under it.
	Action string
	// Actor is the acting user's email (ASCII case ignored).
	Actor  string
	Target string
	// Since and Until bound At (Since included, Until excluded).
	Since, Until time.Time
	// Before returns only events older than the one with that Seq (paging).
	Before int64
	// Limit caps the events returned (default 100, at most 1000).
	Limit int
}

const auditCols = `seq, at, actor_id, actor_email, action, target, detail, remote`

// AppendAudit stores e at the end of the trail.
func (s *sqlStore) AppendAudit(ctx context.Context, e AuditEvent) error {
	detail, err := auditDetail(e)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, qAppendAudit, auditArgs(e, detail)...)
	return s.wrap("append audit event", err)
}

// auditDetail is the stored detail of e: {} for none; an error when it is
// not JSON.
func auditDetail(e AuditEvent) (string, error) {
	if len(e.Detail) == 0 {
		return "{}", nil
	}
	if !json.Valid(e.Detail) {
		return "", fmt.Errorf("store: append audit event: detail is not JSON")
	}
	return string(e.Detail), nil
}

// auditArgs are the arguments of qAppendAudit.
func auditArgs(e AuditEvent, detail string) []any {
	return []any{ms(e.At), e.ActorID, e.ActorEmail, e.Action, e.Target, detail, e.Remote}
}

// ListAudit returns the events f selects, newest first.
func (s *sqlStore) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	q := `SELECT ` + auditCols + ` FROM audit_events WHERE 1=1`
	var args []any
	if prefix, ok := strings.CutSuffix(f.Action, "."); ok && prefix != "" {
		// A prefix: the action itself or anything under it. Escaping LIKE
		// is avoided by comparing the start with substr.
		q += ` AND (action = ? OR substr(action, 1, ?) = ?)`
		args = append(args, prefix, len(f.Action), f.Action)
	} else if f.Action != "" {
		q += ` AND action = ?`
		args = append(args, f.Action)
	}
	if f.Actor != "" {
		q += ` AND ` + s.d.lower + `(actor_email) = ` + s.d.lower + `(?)`
		args = append(args, f.Actor)
	}
	if f.Target != "" {
		q += ` AND target = ?`
		args = append(args, f.Target)
	}
	if !f.Since.IsZero() {
		q += ` AND at >= ?`
		args = append(args, ms(f.Since))
	}
	if !f.Until.IsZero() {
		q += ` AND at < ?`
		args = append(args, ms(f.Until))
	}
	if f.Before > 0 {
		q += ` AND seq < ?`
		args = append(args, f.Before)
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	if f.Limit > 1000 {
		f.Limit = 1000
	}
	q += ` ORDER BY seq DESC LIMIT ?`
	args = append(args, f.Limit)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, s.wrap("list audit events", err)
	}
	defer rows.Close()
	out := []AuditEvent{}
	for rows.Next() {
		var e AuditEvent
		var at int64
		var detail string
		if err := rows.Scan(&e.Seq, &at, &e.ActorID, &e.ActorEmail, &e.Action, &e.Target, &detail, &e.Remote); err != nil {
			return nil, s.wrap("list audit events", err)
		}
		e.At, e.Detail = fromMS(at), json.RawMessage(detail)
		out = append(out, e)
	}
	return out, s.wrap("list audit events", rows.Err())
}
