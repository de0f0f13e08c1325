package server

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"

	wsa "github.com/interval-go/sdk/internal/isocket"
	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/console"
	"github.com/interval-go/sdk/server/store"
)

// consoleHandler serves the web console: the single-page app for the
// console URLs and its files under /assets/ (package console).
func consoleHandler() http.Handler { return console.Handler() }

func (s *Server) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(s.recoverer)
	r.Use(s.durableResponses)
	r.Get("/websocket", s.handleSocket)

	r.Route("/api/auth", func(r chi.Router) {
		r.Use(s.csrf)
		r.Post("/login", s.apiLogin)
		r.Post("/logout", s.apiLogout)
		r.Get("/me", s.authed(s.apiMe))
		r.Get("/organization", s.apiOrganization)
		r.Post("/password", s.authed(s.apiPassword))
	})
	r.Get("/login/link", s.loginLink)

	r.Route("/api/console", func(r chi.Router) {
		r.Use(s.csrf)
		r.Get("/routes", s.authed(s.apiRoutes))
		r.Post("/transactions", s.authed(s.apiCreateTx))
		r.Get("/transactions", s.authed(s.apiListTx))
		r.Get("/transactions/export.csv", s.authed(s.apiExportTx))
		r.Get("/transactions/{id}", s.authed(s.apiGetTx))
		r.Post("/transactions/{id}/cancel", s.authed(s.apiCancelTx))
		r.Get("/transactions/{id}/host", s.authed(s.apiTxHost))
		r.Get("/queue", s.authed(s.apiQueue))
		r.Get("/users", s.admin(s.apiListUsers))
		r.Post("/users", s.admin(s.apiCreateUser))
		r.Patch("/users/{id}", s.admin(s.apiPatchUser))
		r.Delete("/users/{id}", s.admin(s.apiDeleteUser))
		r.Get("/teams", s.authed(s.apiListTeams))
		r.Post("/teams", s.admin(s.apiCreateTeam))
		r.Get("/keys", s.developer(s.apiListKeys))
		r.Post("/keys", s.developer(s.apiCreateKey))
		r.Delete("/keys/{id}", s.developer(s.apiDeleteKey))
		r.Get("/audit", s.admin(s.apiListAudit))
		r.Get("/audit/export", s.admin(s.apiExportAudit))
		r.Get("/http-hosts", s.admin(s.apiListHTTPHosts))
		r.Post("/http-hosts", s.admin(s.apiCreateHTTPHost))
		r.Delete("/http-hosts/{id}", s.admin(s.apiDeleteHTTPHost))
		r.Post("/http-hosts/{id}/check", s.admin(s.apiCheckHTTPHost))
		r.Post("/uploads", s.authed(s.apiUpload))
		r.Get("/notifications", s.authed(s.apiListNotifications))
		r.Get("/notifications/unread", s.authed(s.apiUnreadNotifications))
		r.Post("/notifications/read-all", s.authed(s.apiReadAllNotifications))
		r.Post("/notifications/{id}/read", s.authed(s.apiReadNotification))
	})
	r.Get("/uploads/{id}/{name}", s.serveUpload)

	r.Post("/api/notify", s.bearer(s.hostNotify))
	r.Post("/api/actions/enqueue", s.bearer(s.hostEnqueue))
	r.Post("/api/actions/dequeue", s.bearer(s.hostDequeue))
	r.Post("/api/hosts/declare", s.bearer(s.hostDeclare))
	r.HandleFunc("/api/*", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, "Not found.")
	})

	r.Handle("/*", consoleHandler())
	return r
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "path", r.URL.Path, "panic", v)
				writeErr(w, http.StatusInternalServerError, "Internal server error.")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// register tracks a live socket so Shutdown closes it; false when the
// server is closing.
func (s *Server) register(e *endpoint) bool {
	e.barrier = s.syncSaves // before run starts the goroutines that send
	if s.cl != nil {
		e.fence = s.cl.leaseHeld
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[e] = struct{}{}
	return true
}

func (s *Server) unregister(e *endpoint) {
	s.mu.Lock()
	delete(s.conns, e)
	s.mu.Unlock()
	if s.trim != nil {
		s.trim.closedSocket()
	}
}

// enter counts a socket handler for Shutdown; false when closing.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	return true
}

// handleSocket is /websocket: hosts authenticate with x-api-key, browsers
// with the session cookie and a matching Origin.
func (s *Server) handleSocket(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		writeErr(w, http.StatusServiceUnavailable, restartReason)
		return
	}
	handedOff := false
	defer func() {
		if !handedOff {
			s.wg.Done()
		}
	}()
	// Origin is checked below for browsers only; hosts send none.
	ws, err := wsa.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		s.log.Debug("websocket upgrade failed", "err", err)
		return
	}
	if key := r.Header.Get("x-api-key"); key != "" {
		s.serveHost(ws, r, key)
		return
	}
	if _, err := r.Cookie(SessionCookie); err == nil {
		if !s.originOK(r) {
			s.log.Warn("browser socket refused: invalid origin", "origin", protocol.Clip(r.Header.Get("Origin"), 100))
			s.metrics.refused(refusedOrigin)
			s.refuse(ws, "Invalid origin")
			return
		}
		u, err := s.sessionUser(r)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			// Not a refusal: the console reconnects (1013, try again
			// later) and keeps its page.
			s.log.Warn("browser socket closed: the store did not answer its session", "remote", r.RemoteAddr, "err", err)
			ws.Close(websocket.StatusTryAgainLater, storeUnavailableMsg)
			return
		}
		if err != nil {
			s.log.Warn("browser socket refused: unknown or expired session", "remote", r.RemoteAddr)
			s.metrics.refused(refusedSession)
			s.refuse(ws, "Invalid session, please log in again.")
			return
		}
		var sess string
		if c, err := r.Cookie(SessionCookie); err == nil {
			sess = hashToken(c.Value)
		}
		// The socket goes on in a goroutine of its own and this handler
		// returns: the HTTP server then drops what it kept for the
		// connection (its request, its 4 KiB reader and writer, the
		// handler's stack), which an idle console socket would
		// otherwise hold for its whole life. s.wg counts it still.
		handedOff = true
		s.startBrowser(ws, sess, u, s.wg.Done)
		return
	}
	s.log.Warn("socket refused: missing API key", "remote", r.RemoteAddr)
	s.metrics.refused(refusedNoAPIKey)
	s.refuse(ws, "Missing API key, please set the apiKey property.")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// maxBodyBytes bounds JSON request bodies.
const maxBodyBytes = 4 << 20

// readJSON decodes a console request's JSON body into v; a bad body is
// answered 400 (413 when too large) and logged (without its content).
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err := dec.Decode(v); err != nil {
		s.log.Warn("console request refused: invalid JSON body", "method", r.Method, "path", r.URL.Path, "err", err)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeErr(w, http.StatusRequestEntityTooLarge, "Request body too large.")
			return false
		}
		writeErr(w, http.StatusBadRequest, "Invalid JSON body: "+err.Error())
		return false
	}
	return true
}
