package server

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/interval-go/sdk/server/store"
)

// What an acknowledged write promises (server/README.md, "Durability"):
// the hub queues the transaction states it saves (hub.save) on a
// store.GroupCommit, which commits the writes of many runs in one database
// transaction, outside the hub's lock. Nothing the server sends may
// overtake a write queued before it: every message a socket writes
// (endpoint.send: RPC answers and calls alike) and every HTTP response
// (durableResponses) first waits for the writes queued until then
// (GroupCommit.Barrier). So whatever a host or a browser hears after a
// state change, the change is on disk first, as when each save was its own
// commit under the lock. Two exceptions, each promising nothing durable:
// informational states (hub.saveLazy: a render's status) are not
// waited for, and ride with
// the next commit; and the calls that carry no stored state (endpoint.
// callFree: a render to the console, the operator's answer to the host,
// whose acknowledgement to the operator still waits for the answer's
// write) go out without waiting for the store.

// newGroupCommit wraps the server's store (before its instrumentation) in
// the group commit of transaction writes; a failed write is logged and
// written again by the sweep (hub.retrySaves).
func (s *Server) newGroupCommit(st store.Store) *store.GroupCommit {
	return store.NewGroupCommit(st, store.GroupCommitOptions{
		Timeout: storeTimeout,
		Delay:   s.opts.CommitDelay,
		OnFail: func(t store.Transaction, err error) {
			s.log.Error("saving transaction failed; retrying", "transaction", t.ID, "status", t.Status, "err", err)
		},
		OnAuditFail: func(e store.AuditEvent, err error) {
			s.log.Error("storing audit event failed", "action", e.Action, "target", e.Target, "err", err)
			s.metrics.storeErrors.WithLabelValues("append_audit").Inc()
		},
		OnFinished: func(t store.Transaction) {
			// Another replica finished the run this one still held a
			// copy of; its end stands (store.ErrFinished).
			s.log.Warn("a write of a run that had already finished was refused: its end is final", "transaction", t.ID, "status", t.Status)
			s.metrics.storeErrors.WithLabelValues("stale_write").Inc()
		},
		OnNotOwner: func(t store.Transaction) {
			// This replica was taken for dead and another claimed
			// the run; its copy is stale. The beat asked for finds
			// the lease lost and lets go of every run.
			s.log.Warn("a write of a run another replica holds now was refused: this replica was taken for dead", "transaction", t.ID, "status", t.Status)
			s.metrics.storeErrors.WithLabelValues("not_owner").Inc()
			if s.cl != nil {
				s.cl.beatSoon()
			}
		},
		OnRetried: func(t store.Transaction) {
			s.log.Info("saved transaction after a failed write", "transaction", t.ID, "status", t.Status)
		},
		OnBatch: func(_ int, d time.Duration, err error) {
			s.metrics.storeWrite.WithLabelValues("write_batch").Observe(d.Seconds())
			if err != nil {
				s.metrics.storeErrors.WithLabelValues("write_batch").Inc()
			}
		},
	})
}

// replicaID is this replica's id, the owner its writes of runs are
// fenced by (store.Write.Owner); "" without replicas.
func (s *Server) replicaID() string {
	if s.cl == nil {
		return ""
	}
	return s.cl.id
}

// syncSaves waits for the transaction writes queued so far, but the lazy
// ones (a no-op before New set them up). A replica that may have lost its
// lease then gets errLeaseUnsure: what follows the writes must not go out
// (cluster.leaseHeld).
func (s *Server) syncSaves(ctx context.Context) error {
	if s.saves == nil {
		return nil
	}
	if err := s.saves.Barrier(ctx); err != nil {
		return err
	}
	if s.cl != nil {
		return s.cl.leaseHeld()
	}
	return nil
}

// durableResponses makes every HTTP response wait, before its status goes
// out, for the transaction writes queued until then.
func (s *Server) durableResponses(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&durableWriter{ResponseWriter: w, s: s, ctx: r.Context()}, r)
	})
}

// durableWriter is an http.ResponseWriter that calls syncSaves once, before
// the response's header is written. When that says the replica may have
// lost its lease, the response is a 503 instead: the client tries again,
// through the balancer, on a replica that holds its runs.
type durableWriter struct {
	http.ResponseWriter
	s      *Server
	ctx    context.Context
	synced bool
	fenced bool // the handler's response is dropped for a 503
}

func (w *durableWriter) sync() {
	if w.synced {
		return
	}
	w.synced = true
	if err := w.s.syncSaves(w.ctx); errors.Is(err, errLeaseUnsure) {
		w.fenced = true
		w.s.log.Debug("answering 503: this replica's lease may have run out")
		// What the handler said of its own body goes; the headers of
		// every response (security, caching) stay.
		h := w.ResponseWriter.Header()
		for _, k := range []string{"Content-Type", "Content-Length", "Content-Disposition", "Content-Encoding", "Location", "Etag", "Last-Modified", "Set-Cookie"} {
			h.Del(k)
		}
		h.Set("Retry-After", "1")
		writeErr(w.ResponseWriter, http.StatusServiceUnavailable, "The server is reconnecting; try again.")
	}
}

func (w *durableWriter) WriteHeader(code int) {
	w.sync()
	if !w.fenced {
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *durableWriter) Write(b []byte) (int, error) {
	w.sync()
	if w.fenced {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Flush flushes the response, as http.Flusher.
func (w *durableWriter) Flush() {
	w.sync()
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack takes the connection over, as http.Hijacker (websockets).
func (w *durableWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *durableWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
