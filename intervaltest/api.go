package intervaltest

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/interval-go/sdk/internal/protocol"
)

// Notification is a notification a host sent over the HTTP API.
type Notification struct {
	protocol.NotifyInputs
	// APIKey is the bearer key it was sent with.
	APIKey string
}

// serveAPI answers the HTTP API hosts call (PROTOCOL.md §3.4).
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || key == "" || (s.APIKey != "" && key != s.APIKey) {
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(protocol.TypedResult{Type: "error", Message: "Invalid API key"})
		return
	}
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	bad := func(err error) {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(protocol.TypedResult{Type: "error", Message: "Invalid request body: " + err.Error()})
	}
	switch r.URL.Path {
	case "/api/notify":
		var in protocol.NotifyInputs
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			bad(err)
			return
		}
		s.mu.Lock()
		s.notifications = append(s.notifications, Notification{NotifyInputs: in, APIKey: key})
		s.mu.Unlock()
		s.notify()
		json.NewEncoder(w).Encode(protocol.TypedResult{Type: "success"})
	case "/api/actions/enqueue":
		var in protocol.EnqueueInputs
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Slug == "" {
			bad(err)
			return
		}
		id := uuid.NewString()
		s.mu.Lock()
		s.queue[id] = in
		s.mu.Unlock()
		json.NewEncoder(w).Encode(protocol.TypedResult{Type: "success", ID: id})
	case "/api/actions/dequeue":
		var in protocol.DequeueInputs
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			bad(err)
			return
		}
		s.mu.Lock()
		q, ok := s.queue[in.ID]
		delete(s.queue, in.ID)
		s.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(protocol.TypedResult{Type: "error", Message: "Queued action not found"})
			return
		}
		json.NewEncoder(w).Encode(protocol.DequeueReturns{Type: "success", ID: in.ID, Assignee: q.Assignee, Params: q.Params, ParamsMeta: q.ParamsMeta})
	default:
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(protocol.TypedResult{Type: "error", Message: "Not found"})
	}
}

// Notifications returns the notifications received so far.
func (s *Server) Notifications() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Notification(nil), s.notifications...)
}
