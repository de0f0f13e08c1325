package server

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/interval-go/sdk/server/store"
)

// hostAwayJSON is what the console tells an operator about a run whose
// host is away (GET /api/console/transactions/{id}/host).
type hostAwayJSON struct {
	// Away: the run waits for a host (status HOST_DROPPED); the other
	// fields are set only then.
	Away bool `json:"away"`
	// Since is when the host left; FailsAt when the run fails unless a
	// host takes it up first.
	Since   *time.Time `json:"since,omitempty"`
	FailsAt *time.Time `json:"failsAt,omitempty"`
	// AnyHost: the run never reached a host and starts on the first one
	// that serves its action (it was opened while its host reconnected).
	AnyHost bool `json:"anyHost,omitempty"`
	// Replaced: another host instance serves the action now, but not the
	// one that ran this run. A new process cannot continue a handler that
	// ran in the process that stopped: only that instance's return saves
	// the run.
	Replaced bool `json:"replaced,omitempty"`
}

// hostAway reports the host state of run id (hb.mu taken).
func (hb *hub) hostAway(id string) hostAwayJSON {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	t, ok := hb.txs[id]
	if !ok || t.rec.Status != store.StatusHostDropped || t.droppedAt.IsZero() {
		return hostAwayJSON{}
	}
	since := t.droppedAt
	out := hostAwayJSON{Away: true, Since: &since}
	wait := hb.s.opts.HostDropGrace
	if awaitsHost(t) {
		out.AnyHost, wait = true, hb.s.opts.HostReturnWait
	}
	fails := since.Add(wait)
	out.FailsAt = &fails
	if !out.AnyHost && t.viaHTTP == nil {
		if h, online := hb.hosts[t.rec.HostInstanceID]; !online || !h.initialized {
			devID := ""
			if t.rec.Env == store.EnvDevelopment {
				devID = t.rec.DeveloperID
			}
			for _, o := range hb.candidateHosts() {
				if o.id != t.rec.HostInstanceID && o.initialized && o.status == hostOnline && serves(o, t.rec.Env, devID, t.rec.Slug) {
					out.Replaced = true
					break
				}
			}
		}
	}
	return out
}

// apiTxHost answers GET /api/console/transactions/{id}/host.
func (s *Server) apiTxHost(w http.ResponseWriter, r *http.Request, u store.User) {
	if _, ok := s.loadTx(w, r, u); !ok {
		return
	}
	id := chi.URLParam(r, "id")
	if s.cl != nil {
		if owner := s.cl.remoteHolder(r.Context(), id); owner != "" {
			var out hostAwayJSON
			rep, err := s.cl.request(r.Context(), owner, busMsg{Kind: kindAway, Tx: id})
			if err == nil && json.Unmarshal(rep.Data, &out) == nil {
				writeJSON(w, http.StatusOK, out)
				return
			}
			// The replica holding it did not answer: it may have died,
			// and the run waits for its host to come back.
		}
	}
	writeJSON(w, http.StatusOK, s.hub.hostAway(id))
}
