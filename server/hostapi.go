package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

// maxSlugBytes bounds the slug of a queued action.
const maxSlugBytes = 255

type keyHandler func(w http.ResponseWriter, r *http.Request, k store.APIKey, owner store.User)

func typedErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, protocol.TypedResult{Type: "error", Message: msg})
}

// The host HTTP API takes at most hostAPIRate calls per second per API key
// (bursts of hostAPIBurst): it sends email and writes the store, and a
// host in a loop, or a leaked development key, must not be able to flood
// either. The official SDK makes these calls one at a time, far below it.
const (
	hostAPIRate  = 20
	hostAPIBurst = 100
)

// keyLimiter holds a rate limiter per API key id.
type keyLimiter struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

func (l *keyLimiter) allow(keyID string) bool {
	l.mu.Lock()
	lim, ok := l.m[keyID]
	if !ok {
		if l.m == nil {
			l.m = map[string]*rate.Limiter{}
		}
		lim = rate.NewLimiter(hostAPIRate, hostAPIBurst)
		l.m[keyID] = lim
	}
	l.mu.Unlock()
	return lim.Allow()
}

// bearer authenticates the host HTTP API (PROTOCOL.md §3.4) and applies
// its rate limit.
func (s *Server) bearer(h keyHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		key, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || key == "" {
			s.log.Warn("host API refused: missing API key (Authorization: Bearer)", "path", r.URL.Path)
			s.metrics.refused(refusedNoAPIKey)
			typedErr(w, http.StatusUnauthorized, "Missing API key.")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), storeAnswerTimeout)
		k, owner, err := s.keyAuth(ctx, strings.TrimSpace(key))
		cancel()
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			if r.Context().Err() == nil {
				s.log.Warn("host API request not served: the store did not answer its API key", "path", r.URL.Path, "err", err)
			}
			w.Header().Set("Retry-After", "1")
			typedErr(w, http.StatusServiceUnavailable, storeUnavailableMsg)
			return
		}
		if err != nil {
			s.log.Warn("host API refused: invalid API key", "path", r.URL.Path)
			s.metrics.refused(refusedAPIKey)
			typedErr(w, http.StatusForbidden, "Invalid API key.")
			return
		}
		if !s.apiLimits.allow(k.ID) {
			s.log.Warn("host API refused: rate limit", "path", r.URL.Path, "key", k.ID)
			s.metrics.limited(limitHostAPI)
			w.Header().Set("Retry-After", "1")
			typedErr(w, http.StatusTooManyRequests, fmt.Sprintf("Too many requests: at most %d per second with one API key.", hostAPIRate))
			return
		}
		h(w, r, k, owner)
	}
}

// readTyped decodes the JSON body of a host API call into v; a bad body
// is answered 400 and logged.
func (s *Server) readTyped(w http.ResponseWriter, r *http.Request, k store.APIKey, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err := dec.Decode(v); err != nil {
		s.log.Warn("host API refused: invalid request body", "path", r.URL.Path, "key", k.ID, "err", err)
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			typedErr(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body larger than %d MiB.", maxBodyBytes>>20))
			return false
		}
		typedErr(w, http.StatusBadRequest, "Invalid request body.")
		return false
	}
	return true
}

func (s *Server) hostNotify(w http.ResponseWriter, r *http.Request, k store.APIKey, _ store.User) {
	var in protocol.NotifyInputs
	if !s.readTyped(w, r, k, &in) {
		return
	}
	if in.DeliveryInstructions == nil {
		s.log.Warn("refusing notify: no deliveryInstructions", "key", k.ID)
		typedErr(w, http.StatusBadRequest, "message and deliveryInstructions are required (send [] for the default recipients).")
		return
	}
	if err := s.notify(r.Context(), k, in); err != nil {
		var bad errNotify
		if !errors.As(err, &bad) {
			s.log.Error("notify", "key", k.ID, "err", err)
			typedErr(w, http.StatusInternalServerError, "Internal server error.")
			return
		}
		s.log.Warn("refusing notify", "key", k.ID, "err", err)
		status := http.StatusBadRequest
		if bad.msg == "Transaction not found." {
			status = http.StatusNotFound
		}
		typedErr(w, status, bad.msg)
		return
	}
	writeJSON(w, http.StatusOK, protocol.TypedResult{Type: "success"})
}

func (s *Server) hostEnqueue(w http.ResponseWriter, r *http.Request, k store.APIKey, _ store.User) {
	var in protocol.EnqueueInputs
	if !s.readTyped(w, r, k, &in) {
		return
	}
	if in.Slug == "" || !validParams(in.Params) {
		s.log.Warn("enqueue refused: no slug or params not an object", "key", k.ID)
		typedErr(w, http.StatusBadRequest, "slug is required and params must be an object whose values are strings, numbers, booleans or null.")
		return
	}
	if len(in.Slug) > maxSlugBytes || !validGroupSlug(in.Slug) {
		s.log.Warn("enqueue refused: invalid slug", "key", k.ID, "slug", protocol.Clip(in.Slug, 64))
		typedErr(w, http.StatusBadRequest, "Invalid action slug: letters, digits, _ . - and / between group slugs.")
		return
	}
	if in.Assignee != "" {
		if _, err := s.store.UserByEmail(r.Context(), in.Assignee); errors.Is(err, store.ErrNotFound) {
			s.log.Warn("enqueue refused: unknown assignee", "key", k.ID, "slug", in.Slug)
			typedErr(w, http.StatusBadRequest, "Unknown assignee.")
			return
		} else if err != nil {
			s.log.Error("enqueue: assignee", "err", err)
			typedErr(w, http.StatusInternalServerError, "Internal server error.")
			return
		}
	}
	q := store.QueuedAction{ID: uuid.NewString(), Slug: in.Slug, Env: k.Env, Assignee: in.Assignee,
		Params: in.Params, ParamsMeta: in.ParamsMeta, CreatedAt: time.Now()}
	if string(q.Params) == "null" {
		q.Params = nil
	}
	if k.Env == store.EnvDevelopment {
		q.DeveloperID = k.UserID
	}
	if err := s.store.Enqueue(r.Context(), q); err != nil {
		s.log.Error("enqueue", "err", err)
		typedErr(w, http.StatusInternalServerError, "Internal server error.")
		return
	}
	writeJSON(w, http.StatusOK, protocol.TypedResult{Type: "success", ID: q.ID})
}

func (s *Server) hostDequeue(w http.ResponseWriter, r *http.Request, k store.APIKey, _ store.User) {
	var in protocol.DequeueInputs
	if !s.readTyped(w, r, k, &in) {
		return
	}
	// Looked at before it is consumed: a key of another environment (or
	// another developer's key) must not make it vanish.
	q, err := s.store.Queued(r.Context(), in.ID)
	if err == nil && (q.Env != k.Env || (k.Env == store.EnvDevelopment && q.DeveloperID != k.UserID)) {
		err = store.ErrNotFound
	}
	if err == nil {
		q, err = s.store.Dequeue(r.Context(), in.ID, time.Now())
	}
	if errors.Is(err, store.ErrNotFound) {
		s.log.Warn("dequeue refused: unknown queued action", "key", k.ID, "id", protocol.Clip(in.ID, 64))
		typedErr(w, http.StatusNotFound, "Queued action not found.")
		return
	} else if err != nil {
		s.log.Error("dequeue", "err", err)
		typedErr(w, http.StatusInternalServerError, "Internal server error.")
		return
	}
	writeJSON(w, http.StatusOK, protocol.DequeueReturns{Type: "success", ID: q.ID, Assignee: q.Assignee,
		Params: q.Params, ParamsMeta: q.ParamsMeta})
}

// hostDeclare records the routes of a serverless host (PROTOCOL.md §3.4,
// §3.5), which a host does when the server checks it. Only live
// (production) keys may, as in Interval.
func (s *Server) hostDeclare(w http.ResponseWriter, r *http.Request, k store.APIKey, _ store.User) {
	var in protocol.DeclareHostInputs
	if !s.readTyped(w, r, k, &in) {
		return
	}
	if k.Env != store.EnvProduction {
		s.log.Warn("serverless host declaration refused: not a live key", "httpHost", protocol.Clip(in.HTTPHostID, 64))
		typedErr(w, http.StatusForbidden, "Serverless (HTTP) hosts need a live (production) API key.")
		return
	}
	if in.HTTPHostID == "" || in.SDKName == "" || in.SDKVersion == "" {
		s.log.Warn("serverless host declaration refused: httpHostId, sdkName or sdkVersion missing", "key", k.ID)
		typedErr(w, http.StatusBadRequest, "httpHostId, sdkName and sdkVersion are required.")
		return
	}
	actions, pages, invalid := parseRoutes(protocol.InitializeHostInputs{Actions: in.Actions, Groups: in.Groups})
	warnings := s.teamWarnings(actions, pages)
	if !s.hub.declareHTTPHost(k, in, actions, pages) {
		s.log.Warn("serverless host declaration refused: unknown host", "httpHost", protocol.Clip(in.HTTPHostID, 64))
		typedErr(w, http.StatusNotFound, "Host not found.")
		return
	}
	s.log.Info("serverless host declared its routes", "httpHost", in.HTTPHostID, "sdk", in.SDKName, "version", in.SDKVersion,
		"actions", len(actions), "pages", len(pages), "invalid", len(invalid))
	writeJSON(w, http.StatusOK, protocol.DeclareHostReturns{Type: "success", InvalidSlugs: invalid, Warnings: warnings})
}
