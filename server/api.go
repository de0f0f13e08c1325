package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/interval-go/sdk/internal/naming"
	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/internal/markup"
	"github.com/interval-go/sdk/server/store"
)

// ConsoleHeader must be set to "1" on state-changing console requests
// (CSRF guard).
const ConsoleHeader = "X-Interval-Console"

type userHandler func(w http.ResponseWriter, r *http.Request, u store.User)

func (s *Server) csrf(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if r.Header.Get(ConsoleHeader) != "1" {
				s.log.Warn("console request refused: no "+ConsoleHeader+" header (cross-site request?)",
					"method", r.Method, "path", r.URL.Path, "origin", protocol.Clip(r.Header.Get("Origin"), 100))
				writeErr(w, http.StatusForbidden, "Missing "+ConsoleHeader+" header.")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) authed(h userHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, err := s.sessionUser(r)
		switch {
		case errors.Is(err, store.ErrNotFound):
			writeErr(w, http.StatusUnauthorized, "Not logged in.")
			return
		case err != nil:
			s.storeUnavailable(w, r, err)
			return
		}
		h(w, r, u)
	}
}

func (s *Server) admin(h userHandler) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, u store.User) {
		if u.Role != store.RoleAdmin {
			s.metrics.refused(refusedRole)
			writeErr(w, http.StatusForbidden, "Admins only.")
			return
		}
		h(w, r, u)
	})
}

func (s *Server) developer(h userHandler) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, u store.User) {
		if u.Role != store.RoleAdmin && u.Role != store.RoleDeveloper {
			s.metrics.refused(refusedRole)
			writeErr(w, http.StatusForbidden, "Admins and developers only.")
			return
		}
		h(w, r, u)
	})
}

type userJSON struct {
	ID          string   `json:"id"`
	Email       string   `json:"email"`
	FirstName   string   `json:"firstName"`
	LastName    string   `json:"lastName"`
	Role        string   `json:"role"`
	Teams       []string `json:"teams"`
	HasPassword bool     `json:"hasPassword"`
}

func toUserJSON(u store.User) userJSON {
	teams := u.Teams
	if teams == nil {
		teams = []string{}
	}
	return userJSON{u.ID, u.Email, u.FirstName, u.LastName, u.Role, teams, u.PasswordHash != ""}
}

func internalErr(s *Server, w http.ResponseWriter, err error) {
	s.log.Error("console API", "err", err)
	writeErr(w, http.StatusInternalServerError, "Internal server error.")
}

// --- auth ---

// plural is "1 minute", "15 minutes".
func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

func (s *Server) apiLogin(w http.ResponseWriter, r *http.Request) {
	var in struct{ Email, Password string }
	if !s.readJSON(w, r, &in) {
		return
	}
	if len(in.Email) > maxEmailBytes {
		// No user has such an email; not tracked by the throttle, whose
		// memory is counted in emails.
		s.log.Warn("password login failed: email too long", "bytes", len(in.Email), "remote", r.RemoteAddr)
		s.metrics.refused(refusedPassword)
		s.audit(r.Context(), r, store.User{Email: in.Email}, auditLoginFailed, "", map[string]any{"reason": "password"})
		writeErr(w, http.StatusUnauthorized, "Invalid email or password.")
		return
	}
	now := time.Now()
	client := s.clientAddr(r)
	// Limits before any password check, the same for every email, so a
	// refusal tells nothing about whether the email is a user's.
	if ok, wait := s.logins.allowClient(client, now); !ok {
		s.log.Warn("password login refused: too many attempts from this client", "client", client, "remote", r.RemoteAddr)
		s.metrics.limited(limitLogin)
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		writeErr(w, http.StatusTooManyRequests, fmt.Sprintf("Too many login attempts from your address. Try again in %s, or use a one-time login link.", plural(int(wait/time.Second)+1, "second")))
		return
	}
	if wait := s.emailRetryAfter(r.Context(), in.Email, now); wait > 0 {
		s.log.Warn("password login refused: too many failures", "email", protocol.Clip(in.Email, 100), "client", client)
		s.metrics.limited(limitLogin)
		s.audit(r.Context(), r, store.User{Email: in.Email}, auditLoginFailed, "", map[string]any{"reason": "throttled"})
		mins := int(wait/time.Minute) + 1
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		writeErr(w, http.StatusTooManyRequests, fmt.Sprintf("Too many failed logins for this email. Try again in %s, or ask an admin for a one-time login link.", plural(mins, "minute")))
		return
	}
	if ok, wait := s.logins.allowGlobal(now); !ok {
		s.log.Warn("password login refused: the server's password checks are at their ceiling", "client", client)
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		writeErr(w, http.StatusTooManyRequests, "The server is checking too many passwords at once; try again in a few seconds, or use a login link.")
		return
	}
	u, err := s.store.UserByEmail(r.Context(), in.Email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		internalErr(s, w, err)
		return
	}
	ok := false
	if err == nil && u.PasswordHash != "" {
		ok = bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(in.Password)) == nil
	} else {
		s.logins.compareDummy(in.Password)
	}
	if !ok {
		s.loginFailed(r.Context(), in.Email, now)
		s.log.Warn("password login failed", "email", protocol.Clip(in.Email, 100), "client", client)
		s.metrics.refused(refusedPassword)
		actor := store.User{Email: in.Email}
		if err == nil {
			actor = u
		}
		s.audit(r.Context(), r, actor, auditLoginFailed, "", map[string]any{"reason": "password"})
		writeErr(w, http.StatusUnauthorized, "Invalid email or password.")
		return
	}
	s.loginSucceeded(r.Context(), in.Email)
	if err := s.startSession(w, r, u.ID); err != nil {
		internalErr(s, w, err)
		return
	}
	s.userEvent(userEvent{Op: "password", User: u.ID, At: time.Now()})
	s.audit(r.Context(), r, u, auditLogin, u.ID, map[string]any{"method": "password"})
	writeJSON(w, http.StatusOK, map[string]any{"user": toUserJSON(u)})
}

func (s *Server) apiLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		s.store.DeleteSession(r.Context(), hashToken(c.Value))
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secureCookies(r), SameSite: http.SameSiteLaxMode})
	w.WriteHeader(http.StatusNoContent)
}

// apiOrganization names the organization to anyone (the login page shows
// whose console it is).
func (s *Server) apiOrganization(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"name": s.org.Name})
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request, u store.User) {
	writeJSON(w, http.StatusOK, map[string]any{
		"user":         toUserJSON(u),
		"organization": map[string]string{"name": s.org.Name, "slug": s.org.Slug},
		"environments": []string{store.EnvDevelopment, store.EnvProduction},
	})
}

func (s *Server) apiPassword(w http.ResponseWriter, r *http.Request, u store.User) {
	var in struct{ Password string }
	if !s.readJSON(w, r, &in) {
		return
	}
	if len(in.Password) < 8 {
		writeErr(w, http.StatusBadRequest, "The password must have at least 8 characters.")
		return
	}
	h, err := bcrypt.GenerateFromPassword([]byte(in.Password), bcryptCost)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "Unusable password.")
		return
	}
	// The request's own session stays; every other one ends, with the
	// consoles open on them: a password is changed when it may be known
	// to someone else, who must not keep a session it gave.
	keep := ""
	if c, err := r.Cookie(SessionCookie); err == nil {
		keep = hashToken(c.Value)
	}
	if err := s.store.SetPassword(r.Context(), u.ID, string(h), keep); err != nil {
		internalErr(s, w, err)
		return
	}
	s.userEvent(userEvent{Op: "sessions", User: u.ID, Keep: keep})
	s.log.Info("password changed; the user's other sessions and login links ended", "user", u.ID)
	w.WriteHeader(http.StatusNoContent)
}

// loginLink logs a user in with a one-time link and sends the browser to
// the dashboard (a user without a password is asked there to set one). A
// link that is missing, invalid, expired or already used sends it to the
// login page, which says so and what to do next.
func (s *Server) loginLink(w http.ResponseWriter, r *http.Request) {
	bad := func(why string) {
		s.log.Info("login link refused", "why", why, "client", r.RemoteAddr)
		http.Redirect(w, r, "/login?link=invalid", http.StatusSeeOther)
	}
	tok := r.URL.Query().Get("token")
	if tok == "" {
		bad("no token")
		return
	}
	id, err := s.store.ConsumeLoginToken(r.Context(), hashToken(tok), time.Now())
	if err != nil {
		bad("invalid, expired or used")
		return
	}
	u, err := s.store.UserByID(r.Context(), id)
	if err != nil {
		bad("unknown user")
		return
	}
	if err := s.startSession(w, r, u.ID); err != nil {
		internalErr(s, w, err)
		return
	}
	s.audit(r.Context(), r, u, auditLogin, u.ID, map[string]any{"method": "link"})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// --- routes ---

type actionJSON struct {
	Slug           string   `json:"slug"`
	GroupSlug      string   `json:"groupSlug,omitempty"`
	Name           string   `json:"name"`
	Description    string   `json:"description,omitempty"`
	Backgroundable bool     `json:"backgroundable"`
	Unlisted       bool     `json:"unlisted"`
	WarnOnClose    bool     `json:"warnOnClose"`
	Teams          []string `json:"teams"`
	Online         bool     `json:"online"`
}

type pageJSON struct {
	Slug        string `json:"slug"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	HasHandler  bool   `json:"hasHandler"`
	Unlisted    bool   `json:"unlisted"`
	Online      bool   `json:"online"`
}

type hostJSON struct {
	ID             string `json:"id"`
	SDKName        string `json:"sdkName"`
	SDKVersion     string `json:"sdkVersion"`
	Implementation string `json:"implementation,omitempty"`
	Env            string `json:"env"`
	Status         string `json:"status"`
	ConnectedAt    string `json:"connectedAt"`
	// Kind is "http" for a serverless host (then URL is set and
	// ConnectedAt is its last check), empty for a websocket host.
	Kind string `json:"kind,omitempty"`
	URL  string `json:"url,omitempty"`
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

func teamsOf(a *protocol.Access) []string {
	if a == nil || a.EntireOrganization || a.Teams == nil {
		return []string{}
	}
	return a.Teams
}

func envParam(r *http.Request) string {
	env := r.URL.Query().Get("env")
	if env == "" {
		env = store.EnvDevelopment
	}
	return env
}

func (s *Server) apiRoutes(w http.ResponseWriter, r *http.Request, u store.User) {
	env := envParam(r)
	if !validEnv(env) {
		writeErr(w, http.StatusBadRequest, "Unknown environment.")
		return
	}
	hb := s.hub
	hb.mu.Lock()
	actions := map[string]actionJSON{}
	pages := map[string]pageJSON{}
	hosts := []hostJSON{}
	add := func(hostActions map[string]protocol.ActionDefinition, hostPages map[string]protocol.PageDefinition, online bool) {
		for slug, d := range hostActions {
			if !canAccess(u, d.Access) {
				continue
			}
			if prev, ok := actions[slug]; ok && (prev.Online || !online) {
				continue
			}
			name := d.Name
			if name == "" {
				name = naming.Humanize(d.Slug)
			}
			actions[slug] = actionJSON{Slug: slug, GroupSlug: d.GroupSlug, Name: name, Description: d.Description,
				Backgroundable: boolOr(d.Backgroundable, false), Unlisted: boolOr(d.Unlisted, false),
				WarnOnClose: boolOr(d.WarnOnClose, true), Teams: teamsOf(d.Access), Online: online}
		}
		for slug, p := range hostPages {
			if !canAccess(u, p.Access) {
				continue
			}
			if prev, ok := pages[slug]; ok && (prev.Online || !online) {
				continue
			}
			name := p.Name
			if name == "" {
				name = naming.Humanize(slug)
			}
			pages[slug] = pageJSON{Slug: slug, Name: name, Description: p.Description, HasHandler: p.HasHandler,
				Unlisted: boolOr(p.Unlisted, false), Online: online}
		}
	}
	for _, h := range hb.visibleHosts(env, u) {
		impl := ""
		if h.impl != nil {
			impl = h.impl.Name + " " + h.impl.Version
		}
		hosts = append(hosts, hostJSON{ID: h.id, SDKName: h.sdkName, SDKVersion: h.sdkVersion, Implementation: impl,
			Env: h.env(), Status: h.status, ConnectedAt: h.connectedAt.UTC().Format(time.RFC3339)})
		add(h.actions, h.pages, h.status == hostOnline)
	}
	for _, hh := range hb.httpHostsIn(env) {
		checked := ""
		if !hh.checkedAt.IsZero() {
			checked = hh.checkedAt.UTC().Format(time.RFC3339)
		}
		hosts = append(hosts, hostJSON{ID: hh.rec.ID, SDKName: hh.sdkName, SDKVersion: hh.sdkVersion, Env: hh.rec.Env,
			Status: hh.status, ConnectedAt: checked, Kind: "http", URL: hh.rec.URL})
		add(hh.actions, hh.pages, hh.status == hostOnline)
	}
	hb.mu.Unlock()
	out := struct {
		Environment string       `json:"environment"`
		Actions     []actionJSON `json:"actions"`
		Pages       []pageJSON   `json:"pages"`
		Hosts       []hostJSON   `json:"hosts"`
	}{env, []actionJSON{}, []pageJSON{}, hosts}
	for _, a := range actions {
		out.Actions = append(out.Actions, a)
	}
	for _, p := range pages {
		out.Pages = append(out.Pages, p)
	}
	sort.Slice(out.Actions, func(i, j int) bool { return out.Actions[i].Slug < out.Actions[j].Slug })
	sort.Slice(out.Pages, func(i, j int) bool { return out.Pages[i].Slug < out.Pages[j].Slug })
	writeJSON(w, http.StatusOK, out)
}

// --- transactions ---

type txUserJSON struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

type txSummary struct {
	ID           string     `json:"id"`
	Slug         string     `json:"slug"`
	ActionName   string     `json:"actionName"`
	Env          string     `json:"env"`
	User         txUserJSON `json:"user"`
	Status       string     `json:"status"`
	ResultStatus string     `json:"resultStatus,omitempty"`
	CreatedAt    time.Time  `json:"createdAt"`
	CompletedAt  *time.Time `json:"completedAt,omitempty"`
	DurationMs   *int64     `json:"durationMs,omitempty"`
}

func summarize(t store.Transaction) txSummary {
	out := txSummary{ID: t.ID, Slug: t.Slug, ActionName: t.ActionName, Env: t.Env,
		User: txUserJSON{t.UserEmail, t.UserName}, Status: t.Status, ResultStatus: t.ResultStatus,
		CreatedAt: t.CreatedAt, CompletedAt: t.CompletedAt}
	if t.CompletedAt != nil {
		d := t.CompletedAt.Sub(t.CreatedAt).Milliseconds()
		out.DurationMs = &d
	}
	return out
}

func fullName(u store.User) string {
	return strings.TrimSpace(u.FirstName + " " + u.LastName)
}

// validParams reports whether raw is absent or a JSON object of scalars
// (strings, numbers, booleans, null), the params of PROTOCOL.md §3.2/§3.4:
// the official SDK silently ignores a START_TRANSACTION whose params hold
// anything else, which would leave the run waiting forever.
func validParams(raw json.RawMessage) bool {
	if len(raw) == 0 || string(raw) == "null" {
		return true
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return false
	}
	for _, v := range m {
		if v = bytes.TrimSpace(v); len(v) == 0 || v[0] == '{' || v[0] == '[' {
			return false
		}
	}
	return true
}

func (s *Server) apiCreateTx(w http.ResponseWriter, r *http.Request, u store.User) {
	var in struct {
		Slug           string          `json:"slug"`
		Env            string          `json:"env"`
		Params         json.RawMessage `json:"params"`
		QueuedActionID string          `json:"queuedActionId"`
	}
	if !s.readJSON(w, r, &in) {
		return
	}
	if in.Env == "" {
		in.Env = store.EnvDevelopment
	}
	if !validEnv(in.Env) || in.Slug == "" {
		writeErr(w, http.StatusBadRequest, "slug and env (development or production) are required.")
		return
	}
	if !validParams(in.Params) {
		s.log.Warn("run refused: params not an object of strings, numbers, booleans or null", "user", u.ID)
		writeErr(w, http.StatusBadRequest, "params must be an object whose values are strings, numbers, booleans or null.")
		return
	}
	params := in.Params
	if len(params) == 0 || string(params) == "null" {
		params = json.RawMessage(`{}`)
	}
	var paramsMeta json.RawMessage
	if in.QueuedActionID != "" {
		// Only looked at here: it is consumed once the run is sure to be
		// created, so a refused run leaves it queued.
		q, err := s.store.Queued(r.Context(), in.QueuedActionID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			internalErr(s, w, err)
			return
		}
		if err != nil || q.Slug != in.Slug || q.Env != in.Env ||
			(q.Assignee != "" && !strings.EqualFold(q.Assignee, u.Email)) ||
			(q.Env == store.EnvDevelopment && q.DeveloperID != u.ID) {
			s.log.Warn("run refused: unknown queued action", "user", u.ID, "queuedAction", protocol.Clip(in.QueuedActionID, 64))
			writeErr(w, http.StatusNotFound, "Unknown queued action.")
			return
		}
		params = mergeParams(q.Params, params)
		paramsMeta = q.ParamsMeta
	}
	hb := s.hub
	// The store calls below hold the hub's lock: bounded like the hub's own.
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	hb.mu.Lock()
	locked := true // until the run is queued for the store
	defer func() {
		if locked {
			hb.mu.Unlock()
		}
	}()
	def, found, online := hb.findAction(in.Env, u, in.Slug)
	if !found {
		writeErr(w, http.StatusNotFound, "Unknown action.")
		return
	}
	if !canAccess(u, def.Access) {
		writeErr(w, http.StatusForbidden, "You do not have access to this action.")
		return
	}
	devID := ""
	if in.Env == store.EnvDevelopment {
		devID = u.ID
	}
	if !online && !hb.hadHost(in.Env, devID, in.Slug, time.Now()) {
		writeErr(w, http.StatusConflict, "No host is online for this action")
		return
	}
	if in.QueuedActionID != "" {
		if _, err := s.store.Dequeue(ctx, in.QueuedActionID, time.Now()); errors.Is(err, store.ErrNotFound) {
			writeErr(w, http.StatusNotFound, "Unknown queued action.") // run meanwhile
			return
		} else if err != nil {
			internalErr(s, w, err)
			return
		}
	}
	now := time.Now()
	name := def.Name
	if name == "" {
		name = naming.Humanize(def.Slug)
	}
	rec := store.Transaction{ID: newTxID(), Slug: in.Slug, ActionName: name, Env: in.Env, UserID: u.ID,
		UserEmail: u.Email, UserName: fullName(u), Status: store.StatusPending, Params: params,
		ParamsMeta: paramsMeta, CreatedAt: now, UpdatedAt: now}
	if in.Env == store.EnvDevelopment {
		rec.DeveloperID = u.ID
	}
	// Queued under the lock, in order with the hub's writes, waited for
	// without it: the next runs' creations share the commit. No one knows
	// the run before the answer below, so none acts on it meanwhile. The
	// audit event of the start is written in the same commit, and only
	// if the run is created.
	ev := s.auditEvent(r, u, auditRunStarted, rec.ID, map[string]any{"slug": rec.Slug, "env": rec.Env, "params": auditParams(rec.Params)})
	start := time.Now()
	// With replicas, held here from its creation on, until a console
	// opens it (and it starts).
	created := s.saves.QueueCreate(rec, s.replicaID(), &ev)
	t := &txn{rec: rec, user: u, detachedAt: now, backgroundable: boolOr(def.Backgroundable, false)}
	hb.txs[rec.ID] = t
	locked = false
	hb.mu.Unlock()
	err := created(ctx)
	s.metrics.storeWrite.WithLabelValues("create_transaction").Observe(time.Since(start).Seconds())
	if err != nil {
		s.metrics.storeErrors.WithLabelValues("create_transaction").Inc()
		hb.mu.Lock()
		if hb.txs[rec.ID] == t {
			delete(hb.txs, rec.ID)
		}
		hb.mu.Unlock()
		internalErr(s, w, err)
		return
	}
	hb.mu.Lock()
	s.metrics.created(t)
	hb.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]string{"id": rec.ID, "slug": rec.Slug})
}

// mergeParams puts over's keys over base's (both JSON objects).
func mergeParams(base, over json.RawMessage) json.RawMessage {
	m := map[string]json.RawMessage{}
	json.Unmarshal(base, &m)
	o := map[string]json.RawMessage{}
	json.Unmarshal(over, &o)
	for k, v := range o {
		m[k] = v
	}
	out, _ := json.Marshal(m)
	return out
}

// txFilter reads the history filters of a console request (server/API.md)
// and limits them to what u may see: members their own runs, developers
// also the production runs of others, admins all. A bad value is an error
// for the operator.
func txFilter(r *http.Request, u store.User) (store.TransactionFilter, error) {
	q := r.URL.Query()
	f := store.TransactionFilter{Slug: q.Get("slug"), Status: q.Get("status"), UserEmail: q.Get("user"),
		Env: q.Get("env"), Before: q.Get("before"), Search: protocol.Clip(q.Get("q"), 200)}
	switch res := q.Get("result"); res {
	case "", protocol.StatusSuccess, protocol.StatusFailure, protocol.StatusRedirected:
		f.ResultStatus = res
	default:
		return f, fmt.Errorf("result must be SUCCESS, FAILURE or REDIRECTED")
	}
	for name, dst := range map[string]*int64{"from": &f.From, "to": &f.To} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return f, fmt.Errorf("%s must be a time in milliseconds since 1970", name)
			}
			*dst = n
		}
	}
	for name, dst := range map[string]*int{"limit": &f.Limit, "offset": &f.Offset} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return f, fmt.Errorf("%s must be a whole number", name)
			}
			*dst = n
		}
	}
	if u.Role == store.RoleMember {
		f.UserEmail = u.Email
	}
	if u.Role != store.RoleAdmin {
		f.VisibleTo = u.ID
	}
	return f, nil
}

func (s *Server) apiListTx(w http.ResponseWriter, r *http.Request, u store.User) {
	f, err := txFilter(r, u)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	txs, err := s.store.ListTransactions(r.Context(), f)
	if err != nil {
		internalErr(s, w, err)
		return
	}
	total, err := s.store.CountTransactions(r.Context(), f)
	if err != nil {
		internalErr(s, w, err)
		return
	}
	out := []txSummary{}
	for _, t := range txs {
		out = append(out, summarize(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"transactions": out, "total": total})
}

// maxExport is the most runs one history export holds.
const maxExport = 10000

// apiExportTx writes the runs the history filters select (newest first, at
// most maxExport) as CSV: one row per run, its params as JSON.
func (s *Server) apiExportTx(w http.ResponseWriter, r *http.Request, u store.User) {
	f, err := txFilter(r, u)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	var all []store.Transaction
	f.Before, f.Limit = "", store.MaxListTransactions
	for f.Offset = 0; len(all) < maxExport; f.Offset += f.Limit {
		txs, err := s.store.ListTransactions(r.Context(), f)
		if err != nil {
			internalErr(s, w, err)
			return
		}
		all = append(all, txs...)
		if len(txs) < f.Limit {
			break
		}
	}
	if len(all) > maxExport {
		all = all[:maxExport]
	}
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.UseCRLF = true
	cw.Write([]string{"id", "action", "slug", "environment", "status", "result", "run by", "email", "started", "completed", "duration ms", "params"})
	for _, t := range all {
		sum := summarize(t)
		completed, dur := "", ""
		if t.CompletedAt != nil {
			completed = t.CompletedAt.UTC().Format(time.RFC3339Nano)
			dur = strconv.FormatInt(*sum.DurationMs, 10)
		}
		cw.Write([]string{t.ID, csvText(t.ActionName), csvText(t.Slug), t.Env, t.Status, t.ResultStatus, csvText(t.UserName), csvText(t.UserEmail),
			t.CreatedAt.UTC().Format(time.RFC3339Nano), completed, dur, csvText(string(t.Params))})
	}
	cw.Flush()
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="history-`+time.Now().UTC().Format("2006-01-02")+`.csv"`)
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(b.Bytes())
}

// csvText keeps a text that a spreadsheet would run as a formula (it
// starts with =, +, -, @, a tab or a carriage return) as text.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func (s *Server) loadTx(w http.ResponseWriter, r *http.Request, u store.User) (store.Transaction, bool) {
	t, err := s.store.Transaction(r.Context(), chi.URLParam(r, "id"))
	// As in the list: members see their own runs, developers also the
	// production ones of others, admins all.
	hidden := t.UserID != u.ID && (u.Role == store.RoleMember || (t.Env == store.EnvDevelopment && u.Role != store.RoleAdmin))
	if errors.Is(err, store.ErrNotFound) || (err == nil && hidden) {
		writeErr(w, http.StatusNotFound, "Unknown transaction.")
		return t, false
	}
	if err != nil {
		internalErr(s, w, err)
		return t, false
	}
	return t, true
}

func (s *Server) apiGetTx(w http.ResponseWriter, r *http.Request, u store.User) {
	t, ok := s.loadTx(w, r, u)
	if !ok {
		return
	}
	logs, err := s.store.Logs(r.Context(), t.ID)
	if err != nil {
		internalErr(s, w, err)
		return
	}
	type logJSON struct {
		Index     int    `json:"index"`
		Timestamp int64  `json:"timestamp"`
		Data      string `json:"data"`
	}
	ls := []logJSON{}
	for _, l := range logs {
		ls = append(ls, logJSON{l.Index, l.Timestamp, l.Data})
	}
	var result *string
	if t.Result != "" {
		result = &t.Result
	}
	params := t.Params
	if len(params) == 0 {
		params = json.RawMessage(`{}`)
	}
	writeJSON(w, http.StatusOK, struct {
		txSummary
		Params     json.RawMessage `json:"params"`
		Result     *string         `json:"result"`
		ResultHTML string          `json:"resultHtml,omitempty"`
		Logs       []logJSON       `json:"logs"`
	}{summarize(t), params, result, markup.ResultHTML(t.Result), ls})
}

func (s *Server) apiCancelTx(w http.ResponseWriter, r *http.Request, u store.User) {
	t, ok := s.loadTx(w, r, u)
	if !ok {
		return
	}
	if t.UserID != u.ID && u.Role != store.RoleAdmin {
		writeErr(w, http.StatusForbidden, "Only the runner or an admin may cancel.")
		return
	}
	hb := s.hub
	if s.cl != nil {
		if owner := s.cl.remoteHolder(r.Context(), t.ID); owner != "" {
			rep, err := s.cl.request(r.Context(), owner, busMsg{Kind: kindCancel, Tx: t.ID})
			if err != nil {
				internalErr(s, w, err)
				return
			}
			var canceled bool
			json.Unmarshal(rep.Data, &canceled)
			if !canceled {
				writeErr(w, http.StatusConflict, "The transaction has already finished.")
				return
			}
			s.audit(r.Context(), r, u, auditRunCanceled, t.ID, map[string]any{"slug": t.Slug, "env": t.Env})
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	// The audit event and the response wait for the store: not under
	// the hub's lock, which every socket of the server takes.
	hb.mu.Lock()
	lt, ok := hb.txs[t.ID]
	canceled := ok && !lt.finished()
	if canceled {
		hb.cancel(lt)
	}
	hb.mu.Unlock()
	if !canceled {
		writeErr(w, http.StatusConflict, "The transaction has already finished.")
		return
	}
	s.audit(r.Context(), r, u, auditRunCanceled, t.ID, map[string]any{"slug": t.Slug, "env": t.Env})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiQueue(w http.ResponseWriter, r *http.Request, u store.User) {
	out := []map[string]any{}
	for _, env := range []string{store.EnvDevelopment, store.EnvProduction} {
		qs, err := s.store.ListQueued(r.Context(), env)
		if err != nil {
			internalErr(s, w, err)
			return
		}
		for _, q := range qs {
			if q.Assignee != "" && !strings.EqualFold(q.Assignee, u.Email) {
				continue
			}
			if q.Env == store.EnvDevelopment && q.DeveloperID != u.ID {
				continue
			}
			params := q.Params
			if len(params) == 0 {
				params = json.RawMessage(`{}`)
			}
			out = append(out, map[string]any{"id": q.ID, "slug": q.Slug, "env": q.Env, "assignee": q.Assignee,
				"params": params, "createdAt": q.CreatedAt})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"queued": out})
}

// --- users, teams, keys ---

func (s *Server) apiListUsers(w http.ResponseWriter, r *http.Request, _ store.User) {
	users, err := s.store.ListUsers(r.Context())
	if err != nil {
		internalErr(s, w, err)
		return
	}
	out := []userJSON{}
	for _, u := range users {
		out = append(out, toUserJSON(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
}

func (s *Server) apiCreateUser(w http.ResponseWriter, r *http.Request, me store.User) {
	var in struct {
		Email     string   `json:"email"`
		FirstName string   `json:"firstName"`
		LastName  string   `json:"lastName"`
		Role      string   `json:"role"`
		Password  string   `json:"password"`
		Teams     []string `json:"teams"`
	}
	if !s.readJSON(w, r, &in) {
		return
	}
	if in.Role == "" {
		in.Role = store.RoleMember
	}
	u, err := s.newUser(r.Context(), in.Email, in.FirstName, in.LastName, in.Role, in.Password, in.Teams)
	switch {
	case errors.Is(err, ErrInvalid):
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	case errors.Is(err, store.ErrConflict):
		writeErr(w, http.StatusConflict, "A user with this email already exists.")
		return
	case err != nil:
		internalErr(s, w, err)
		return
	}
	s.audit(r.Context(), r, me, auditUserCreated, u.ID, map[string]any{"email": u.Email, "role": u.Role, "teams": nonNil(u.Teams)})
	link, err := s.loginLinkFor(r.Context(), r, u.ID)
	if err != nil {
		internalErr(s, w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": toUserJSON(u), "loginLink": link})
}

func (s *Server) apiPatchUser(w http.ResponseWriter, r *http.Request, me store.User) {
	var in struct {
		Role      *string   `json:"role"`
		Teams     *[]string `json:"teams"`
		FirstName *string   `json:"firstName"`
		LastName  *string   `json:"lastName"`
	}
	if !s.readJSON(w, r, &in) {
		return
	}
	u, err := s.store.UserByID(r.Context(), chi.URLParam(r, "id"))
	if errors.Is(err, store.ErrNotFound) {
		writeErr(w, http.StatusNotFound, "Unknown user.")
		return
	} else if err != nil {
		internalErr(s, w, err)
		return
	}
	before := u.Role + "\n" + strings.Join(u.Teams, ",")
	old := u
	if in.Role != nil {
		if !validRole(*in.Role) {
			writeErr(w, http.StatusBadRequest, "role must be admin, developer or member.")
			return
		}
		if u.Role == store.RoleAdmin && *in.Role != store.RoleAdmin {
			n, err := s.countAdmins(r.Context())
			if err != nil {
				internalErr(s, w, err)
				return
			}
			if n <= 1 {
				writeErr(w, http.StatusConflict, "This is the only admin: make someone else an admin first.")
				return
			}
		}
		u.Role = *in.Role
	}
	if in.Teams != nil {
		u.Teams = cleanTeams(*in.Teams)
	}
	if in.FirstName != nil {
		u.FirstName = *in.FirstName
	}
	if in.LastName != nil {
		u.LastName = *in.LastName
	}
	if err := s.store.UpdateUser(r.Context(), u); err != nil {
		internalErr(s, w, err)
		return
	}
	if u.Role+"\n"+strings.Join(u.Teams, ",") != before {
		s.userEvent(userEvent{Op: "refresh", User: u.ID, Role: u.Role})
	}
	for _, c := range userDiff(old, u) {
		s.audit(r.Context(), r, me, c.action, u.ID, c.detail)
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": toUserJSON(u)})
}

// countAdmins counts the users who are admins.
func (s *Server) countAdmins(ctx context.Context) (int, error) {
	users, err := s.store.ListUsers(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range users {
		if u.Role == store.RoleAdmin {
			n++
		}
	}
	return n, nil
}

func (s *Server) apiDeleteUser(w http.ResponseWriter, r *http.Request, me store.User) {
	id := chi.URLParam(r, "id")
	if id == me.ID {
		writeErr(w, http.StatusBadRequest, "You cannot delete yourself.")
		return
	}
	gone, _ := s.store.UserByID(r.Context(), id) // for the audit trail
	if err := s.store.DeleteUser(r.Context(), id); errors.Is(err, store.ErrNotFound) {
		writeErr(w, http.StatusNotFound, "Unknown user.")
		return
	} else if err != nil {
		internalErr(s, w, err)
		return
	}
	s.userEvent(userEvent{Op: "disconnect", User: id})
	s.audit(r.Context(), r, me, auditUserDeleted, id, map[string]any{"email": gone.Email, "role": gone.Role})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiListTeams(w http.ResponseWriter, r *http.Request, _ store.User) {
	teams, err := s.store.ListTeams(r.Context())
	if err != nil {
		internalErr(s, w, err)
		return
	}
	out := []map[string]string{}
	for _, t := range teams {
		out = append(out, map[string]string{"slug": t.Slug, "name": t.Name})
	}
	writeJSON(w, http.StatusOK, map[string]any{"teams": out})
}

func (s *Server) apiCreateTeam(w http.ResponseWriter, r *http.Request, _ store.User) {
	var in struct{ Slug, Name string }
	if !s.readJSON(w, r, &in) {
		return
	}
	if !actionSlugRe.MatchString(in.Slug) {
		writeErr(w, http.StatusBadRequest, "slug must contain only letters, numbers, underscores, periods and hyphens.")
		return
	}
	if in.Name == "" {
		in.Name = in.Slug
	}
	if err := s.store.CreateTeam(r.Context(), store.Team{Slug: in.Slug, Name: in.Name}); errors.Is(err, store.ErrConflict) {
		writeErr(w, http.StatusConflict, "A team with this slug already exists.")
		return
	} else if err != nil {
		internalErr(s, w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"slug": in.Slug, "name": in.Name})
}

func (s *Server) apiListKeys(w http.ResponseWriter, r *http.Request, u store.User) {
	keys, err := s.store.ListAPIKeys(r.Context())
	if err != nil {
		internalErr(s, w, err)
		return
	}
	users, err := s.store.ListUsers(r.Context())
	if err != nil {
		internalErr(s, w, err)
		return
	}
	emails := map[string]string{}
	for _, x := range users {
		emails[x.ID] = x.Email
	}
	out := []map[string]any{}
	for _, k := range keys {
		if u.Role != store.RoleAdmin && k.UserID != u.ID {
			continue
		}
		out = append(out, map[string]any{"id": k.ID, "env": k.Env, "label": k.Label, "prefix": k.Prefix,
			"owner": emails[k.UserID], "createdAt": k.CreatedAt, "revokedAt": k.RevokedAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": out})
}

func (s *Server) apiCreateKey(w http.ResponseWriter, r *http.Request, u store.User) {
	var in struct{ Env, Label string }
	if !s.readJSON(w, r, &in) {
		return
	}
	if !validEnv(in.Env) {
		writeErr(w, http.StatusBadRequest, "env must be development or production.")
		return
	}
	if in.Env == store.EnvProduction && u.Role != store.RoleAdmin {
		writeErr(w, http.StatusForbidden, "Only admins may create live keys.")
		return
	}
	id, key, err := s.createKey(r.Context(), u.ID, in.Env, in.Label)
	if err != nil {
		internalErr(s, w, err)
		return
	}
	s.audit(r.Context(), r, u, auditKeyCreated, id, map[string]any{"env": in.Env, "label": protocol.Clip(in.Label, 200)})
	writeJSON(w, http.StatusCreated, map[string]string{"id": id, "key": key})
}

func (s *Server) apiDeleteKey(w http.ResponseWriter, r *http.Request, u store.User) {
	id := chi.URLParam(r, "id")
	k, err := s.store.APIKeyByID(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && k.UserID != u.ID && u.Role != store.RoleAdmin) {
		writeErr(w, http.StatusNotFound, "Unknown key.")
		return
	} else if err != nil {
		internalErr(s, w, err)
		return
	}
	if err := s.store.RevokeAPIKey(r.Context(), id, time.Now()); err != nil && !errors.Is(err, store.ErrNotFound) {
		internalErr(s, w, err)
		return
	}
	s.userEvent(userEvent{Op: "key", Key: id})
	s.audit(r.Context(), r, u, auditKeyRevoked, id, map[string]any{"env": k.Env, "label": k.Label, "prefix": k.Prefix, "ownerId": k.UserID})
	w.WriteHeader(http.StatusNoContent)
}

// --- uploads ---

// DefaultMaxUploadBytes is the default of Options.MaxUploadBytes.
const DefaultMaxUploadBytes = 512 << 20

func (s *Server) apiUpload(w http.ResponseWriter, r *http.Request, u store.User) {
	size := r.ContentLength
	if size < 0 || size > s.opts.MaxUploadBytes {
		size = s.opts.MaxUploadBytes
	}
	if ok, free := s.uploadRoom(size); !ok && s.cl == nil {
		s.log.Warn("upload refused: the data dir's disk is nearly full", "user", u.ID, "free", free, "reserve", s.opts.UploadDiskReserve)
		writeErr(w, http.StatusInsufficientStorage, "The server is low on disk space; ask an administrator to free some.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxUploadBytes)
	f, hdr, err := r.FormFile("file")
	if err != nil {
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			s.log.Warn("upload refused: too large", "user", u.ID, "limit", s.opts.MaxUploadBytes)
			writeErr(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("The file is larger than the upload limit (%d MiB).", s.opts.MaxUploadBytes>>20))
			return
		}
		s.log.Warn("upload refused", "user", u.ID, "err", err)
		writeErr(w, http.StatusBadRequest, "Multipart field \"file\" is required.")
		return
	}
	defer f.Close()
	name := strings.ToValidUTF8(filepath.Base(filepath.Clean("/"+hdr.Filename)), "\uFFFD")
	if name == "/" || name == "." || name == "" {
		name = "file"
	}
	if len(name) > maxUploadNameBytes {
		s.log.Warn("upload refused: file name too long", "user", u.ID, "bytes", len(name))
		writeErr(w, http.StatusBadRequest, fmt.Sprintf("The file name is longer than %d bytes; rename the file and upload it again.", maxUploadNameBytes))
		return
	}
	id := uuid.NewString()
	var n int64
	if s.cl != nil {
		// Any replica may be asked for it: it goes in the database.
		n, err = s.cl.db.PutUpload(r.Context(), id, name, f)
	} else {
		dir := filepath.Join(s.upDir, id)
		if n, err = saveUpload(dir, name, f); err != nil {
			os.RemoveAll(dir)
		}
	}
	if err != nil {
		s.log.Error("upload failed", "user", u.ID, "err", err)
		writeErr(w, http.StatusInternalServerError, "Upload failed.")
		return
	}
	typ := hdr.Header.Get("Content-Type")
	if typ == "" {
		typ = mime.TypeByExtension(filepath.Ext(name))
	}
	lm := time.Now().UnixMilli()
	if v, err := strconv.ParseInt(r.FormValue("lastModified"), 10, 64); err == nil {
		lm = v
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "type": typ, "size": n, "lastModified": lm,
		"url": s.baseURL(r) + "/uploads/" + id + "/" + url.PathEscape(name)})
}

func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	id, name := chi.URLParam(r, "id"), chi.URLParam(r, "name")
	if r.URL.RawPath != "" { // chi matched the escaped path
		if n, err := url.PathUnescape(name); err == nil {
			name = n
		}
	}
	if _, err := uuid.Parse(id); err != nil {
		http.NotFound(w, r)
		return
	}
	if s.cl != nil {
		up, err := s.cl.db.OpenUpload(r.Context(), id, name)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				s.log.Warn("reading an upload", "upload", id, "err", err)
			}
			http.NotFound(w, r)
			return
		}
		uploadHeaders(w)
		http.ServeContent(w, r, name, up.Created, up)
		return
	}
	f, err := openUpload(filepath.Join(s.upDir, id), name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("reading an upload", "upload", id, "err", err)
		}
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	uploadHeaders(w)
	// ServeContent, not ServeFile: no redirect of a name like index.html,
	// and the type comes from the name the file was uploaded with.
	http.ServeContent(w, r, name, st.ModTime(), f)
}

// uploadHeaders: uploaded files are served from the console's origin;
// never let one run as a page there.
func uploadHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'")
	h.Set("Cache-Control", "private, max-age=3600")
}

// --- notifications ---

// Page sizes of GET /api/console/notifications.
const (
	defaultNotificationPage = 50
	maxNotificationPage     = 200
)

type notificationJSON struct {
	ID            string                       `json:"id"`
	Env           string                       `json:"env"`
	Title         string                       `json:"title"`
	Message       string                       `json:"message"`
	TransactionID string                       `json:"transactionId"`
	ActionSlug    string                       `json:"actionSlug"`
	Deliveries    []store.NotificationDelivery `json:"deliveries"`
	CreatedAt     time.Time                    `json:"createdAt"`
	ReadAt        *time.Time                   `json:"readAt"`
}

// apiListNotifications lists the user's own notifications, newest first:
// ?offset= and ?limit= page them; unread counts all unread ones.
func (s *Server) apiListNotifications(w http.ResponseWriter, r *http.Request, u store.User) {
	q := r.URL.Query()
	offset, limit := 0, defaultNotificationPage
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeErr(w, http.StatusBadRequest, "offset must be a number >= 0.")
			return
		}
		offset = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxNotificationPage {
			writeErr(w, http.StatusBadRequest, fmt.Sprintf("limit must be a number from 1 to %d.", maxNotificationPage))
			return
		}
		limit = n
	}
	ns, unread, err := s.store.ListNotifications(r.Context(), u.ID, offset, limit+1)
	if err != nil {
		internalErr(s, w, err)
		return
	}
	more := len(ns) > limit
	if more {
		ns = ns[:limit]
	}
	out := make([]notificationJSON, 0, len(ns))
	for _, n := range ns {
		out = append(out, notificationJSON{n.ID, n.Env, n.Title, n.Message, n.TransactionID, n.ActionSlug, n.Deliveries, n.CreatedAt, n.ReadAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"notifications": out, "unread": unread, "hasMore": more})
}

// apiUnreadNotifications is the number of the user's unread notifications
// (the console's bell).
func (s *Server) apiUnreadNotifications(w http.ResponseWriter, r *http.Request, u store.User) {
	_, unread, err := s.store.ListNotifications(r.Context(), u.ID, 0, 1)
	if err != nil {
		internalErr(s, w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"unread": unread})
}

// apiReadNotification marks one of the user's own notifications read.
func (s *Server) apiReadNotification(w http.ResponseWriter, r *http.Request, u store.User) {
	err := s.store.MarkNotificationRead(r.Context(), u.ID, chi.URLParam(r, "id"), time.Now())
	if errors.Is(err, store.ErrNotFound) {
		writeErr(w, http.StatusNotFound, "Unknown notification.")
		return
	}
	if err != nil {
		internalErr(s, w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiReadAllNotifications marks all the user's notifications read.
func (s *Server) apiReadAllNotifications(w http.ResponseWriter, r *http.Request, u store.User) {
	n, err := s.store.MarkAllNotificationsRead(r.Context(), u.ID, time.Now())
	if err != nil {
		internalErr(s, w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"marked": n})
}
