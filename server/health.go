package server

import (
	"context"
	"net/http"
	"time"
)

// Paths of the health endpoints, served on the main listener (before any
// authentication: they reveal nothing but "ok") and by MetricsHandler.
const (
	// HealthzPath answers 200 while the process serves HTTP, shutting
	// down or not: a liveness probe restarts a process that fails it.
	HealthzPath = "/healthz"
	// ReadyzPath answers 200 when the server takes new sockets and runs:
	// its store answers and it is not shutting down. It answers 503 from
	// the moment Drain, Shutdown or Close is called, so a load balancer
	// stops sending new hosts and browsers to a server that is leaving.
	ReadyzPath = "/readyz"
)

// readyTimeout bounds the store check of one /readyz request.
const readyTimeout = 3 * time.Second

// serveHealth answers HealthzPath and ReadyzPath; false for other paths.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) bool {
	switch r.URL.Path {
	case HealthzPath:
		healthText(w, http.StatusOK, "ok")
	case ReadyzPath:
		if err := s.ready(r.Context()); err != nil {
			healthText(w, http.StatusServiceUnavailable, err.Error())
			return true
		}
		healthText(w, http.StatusOK, "ok")
	default:
		return false
	}
	return true
}

// readyErr is why a server is not ready, as /readyz says it: the store's
// own error is logged, not shown to whoever probes.
type readyErr string

func (e readyErr) Error() string { return string(e) }

// ready reports whether the server takes new work: nil when its store
// answers and it is not shutting down.
func (s *Server) ready(ctx context.Context) error {
	if s.opts.AdminOnly {
		return readyErr("opened for administration only")
	}
	if s.isClosing() || s.ended.Load() {
		return readyErr("shutting down")
	}
	if s.draining.Load() {
		return readyErr("draining")
	}
	if s.cl != nil && s.cl.leaseHeld() != nil {
		return readyErr("replica lease not renewed")
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if _, err := s.store.CountUsers(ctx); err != nil {
		s.log.Warn("not ready: the store does not answer", "err", err)
		return readyErr("store unavailable")
	}
	return nil
}

func healthText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte(msg + "\n"))
}
