package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

type keyHandler func(w http.ResponseWriter, r *http.Request, k store.APIKey, owner store.User)

func typedErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, protocol.TypedResult{Type: "error", Message: msg})
}

// bearer authenticates the host HTTP API (PROTOCOL.md §3.4).
func (s *Server) bearer(h keyHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		key, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || key == "" {
			typedErr(w, http.StatusUnauthorized, "Missing API key.")
			return
		}
		k, owner, err := s.keyAuth(r.Context(), strings.TrimSpace(key))
		if err != nil {
			s.log.Warn("host API refused: invalid API key", "path", r.URL.Path)
			typedErr(w, http.StatusForbidden, "Invalid API key.")
			return
		}
		h(w, r, k, owner)
	}
}

func readTyped(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err := dec.Decode(v); err != nil {
		typedErr(w, http.StatusBadRequest, "Invalid request body.")
		return false
	}
	return true
}

func (s *Server) hostNotify(w http.ResponseWriter, r *http.Request, k store.APIKey, _ store.User) {
	var in protocol.NotifyInputs
	if !readTyped(w, r, &in) {
		return
	}
	if in.Message == "" || in.DeliveryInstructions == nil {
		typedErr(w, http.StatusBadRequest, "message and deliveryInstructions are required.")
		return
	}
	if !s.notify(k, in) {
		typedErr(w, http.StatusNotFound, "Transaction not found.")
		return
	}
	writeJSON(w, http.StatusOK, protocol.TypedResult{Type: "success"})
}

func (s *Server) hostEnqueue(w http.ResponseWriter, r *http.Request, k store.APIKey, _ store.User) {
	var in protocol.EnqueueInputs
	if !readTyped(w, r, &in) {
		return
	}
	if in.Slug == "" || !validParams(in.Params) {
		typedErr(w, http.StatusBadRequest, "slug is required and params must be an object.")
		return
	}
	if in.Assignee != "" {
		if _, err := s.store.UserByEmail(r.Context(), in.Assignee); errors.Is(err, store.ErrNotFound) {
			typedErr(w, http.StatusBadRequest, "Unknown assignee.")
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
	if !readTyped(w, r, &in) {
		return
	}
	q, err := s.store.Dequeue(r.Context(), in.ID, time.Now())
	if errors.Is(err, store.ErrNotFound) || (err == nil && q.Env != k.Env) {
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

// hostDeclare accepts a serverless host's declaration. This server does not
// call serverless hosts yet; it validates the routes and answers.
func (s *Server) hostDeclare(w http.ResponseWriter, r *http.Request, k store.APIKey, _ store.User) {
	var in protocol.DeclareHostInputs
	if !readTyped(w, r, &in) {
		return
	}
	if k.Env != store.EnvProduction {
		typedErr(w, http.StatusBadRequest, "HTTP hosts require a live (production) key.")
		return
	}
	if in.HTTPHostID == "" || in.SDKName == "" || in.SDKVersion == "" {
		typedErr(w, http.StatusBadRequest, "httpHostId, sdkName and sdkVersion are required.")
		return
	}
	invalid := []string{}
	for _, a := range in.Actions {
		if !actionSlugRe.MatchString(a.Slug) || (a.GroupSlug != "" && !validGroupSlug(a.GroupSlug)) {
			invalid = append(invalid, a.FullSlug())
		}
	}
	for _, p := range in.Groups {
		if !validGroupSlug(p.Slug) {
			invalid = append(invalid, p.Slug)
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Type         string   `json:"type"`
		InvalidSlugs []string `json:"invalidSlugs"`
		Warnings     []string `json:"warnings"`
	}{"success", invalid, []string{"This server does not invoke serverless (HTTP) hosts yet; connect over the websocket instead."}})
}
