// Command mount-chi serves an existing chi application and the embedded
// Interval server from one http.Server, and mounts a feature package's
// actions (package billing) as a page: how interval-go fits beside code you
// already have.
//
//	go run ./examples/mount-chi
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/interval-go/sdk/examples/mount-chi/billing"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/middleware"
	"github.com/interval-go/sdk/router"
	"github.com/interval-go/sdk/server"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("mount-chi", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second Ctrl+C exits at once
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	public := "http://" + ln.Addr().String()
	cache, _ := os.UserCacheDir()
	srv, err := server.New(ctx, server.Options{DataDir: filepath.Join(cache, "interval-go", "mount-chi"), PublicURL: public, Logger: log})
	if err != nil {
		return err
	}

	// The existing application: its own routes, the Interval server for
	// everything else (console, /api/console, /websocket).
	app := chi.NewRouter()
	app.Get("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	app.Get("/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"id": chi.URLParam(r, "id"), "status": "shipped"})
	})
	app.Mount("/", srv)
	hs := &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	// The host: top-level actions plus the billing package mounted as a page.
	r := router.New()
	r.Use(middleware.Logger(log), middleware.Recoverer)
	r.Action("order_status", func(ctx context.Context, tx *interval.Tx) (any, error) {
		id, err := tx.IO.Input.Text("Order id").Run(ctx)
		return map[string]string{"id": id, "status": "shipped"}, err
	}, router.Name("Order status"))
	r.Mount("billing", billing.Routes())

	email, link, err := srv.EnsureAdmin(ctx)
	if err != nil {
		return err
	}
	key, err := srv.CreateAPIKey(ctx, email, "development")
	if err != nil {
		return err
	}
	fmt.Printf("\n  App: %s/orders/42   Console: %s/\n  Log in (one-time link): %s\n\n", public, public, link)
	client, err := interval.New(interval.Options{Endpoint: "ws://" + ln.Addr().String() + "/websocket", APIKey: key, Routes: r, Logger: log})
	if err != nil {
		return err
	}
	// A signal drains the host (running actions finish and report), then
	// the server and the app stop.
	if err = client.Listen(ctx); errors.Is(err, interval.ErrClosed) {
		err = nil
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = errors.Join(err, srv.Shutdown(sctx), hs.Shutdown(sctx))
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
