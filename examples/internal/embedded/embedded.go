// Package embedded starts the embedded Interval server in-process for the
// examples: on localhost, with a data dir under the user's cache, an admin
// with a one-time login link and a development key for the example's host.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/interval-go/sdk/server"
	"github.com/interval-go/sdk/server/store"
)

// Server is an embedded server serving on localhost.
type Server struct {
	// URL is the console's URL; Endpoint the hosts' websocket URL.
	URL      string
	Endpoint string
	// APIKey is a development key of the admin, for the example's host.
	APIKey string
	// LoginLink logs the admin in once.
	LoginLink string

	srv  *server.Server
	http *http.Server
	done chan error
}

// Start starts the server on addr (empty: $INTERVAL_ADDR, else
// 127.0.0.1:8088, else any free port) with its data under
// <user cache>/interval-go/<name>.
func Start(ctx context.Context, name, addr string, log *slog.Logger) (*Server, error) {
	if addr == "" {
		addr = os.Getenv("INTERVAL_ADDR")
	}
	if addr == "" {
		addr = "127.0.0.1:8088"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Info("address busy, using a free port", "addr", addr, "err", err)
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("embedded: listen: %w", err)
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dataDir := os.Getenv("INTERVAL_DATA_DIR")
	if dataDir == "" {
		dataDir = filepath.Join(cache, "interval-go", name)
	}
	public := "http://" + ln.Addr().String()
	srv, err := server.New(ctx, server.Options{DataDir: dataDir, PublicURL: public, Logger: log, OrgName: "Interval Go"})
	if errors.Is(err, store.ErrInUse) {
		ln.Close()
		return nil, fmt.Errorf("embedded: %s is already running (its console is open in the other process: stop it first, or set INTERVAL_DATA_DIR to run a second one): %w", name, err)
	}
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded: %w", err)
	}
	email, link, err := srv.EnsureAdmin(ctx)
	if err != nil {
		srv.Close()
		ln.Close()
		return nil, fmt.Errorf("embedded: admin: %w", err)
	}
	key, err := devKey(ctx, srv, email, filepath.Join(dataDir, name+".key"))
	if err != nil {
		srv.Close()
		ln.Close()
		return nil, fmt.Errorf("embedded: key: %w", err)
	}
	s := &Server{URL: public + "/", Endpoint: "ws://" + ln.Addr().String() + "/websocket", APIKey: key,
		LoginLink: link, srv: srv, http: &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan error, 1)}
	go func() { s.done <- s.http.Serve(ln) }()
	log.Info("embedded Interval server started", "dataDir", dataDir)
	return s, nil
}

// devKey returns the development key kept in path by an earlier run when
// the server still accepts it, else a new key of owner, kept there (0600)
// for the next run: restarting an example does not pile up keys.
func devKey(ctx context.Context, srv *server.Server, owner, path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		if key := strings.TrimSpace(string(b)); srv.CheckAPIKey(ctx, key) == nil {
			return key, nil
		}
	}
	key, err := srv.CreateAPIKey(ctx, owner, "development")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("keeping the key for the next run: %w", err)
	}
	return key, nil
}

// Shutdown stops the server gracefully within ctx; when ctx ends first it
// closes what is left at once (and returns ctx's error), so nothing of the
// server outlives the call.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	if herr := s.http.Shutdown(ctx); herr != nil {
		s.http.Close()
		err = errors.Join(err, herr)
	}
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
