// Command demo runs the embedded server with a kitchen-sink host that uses
// every IO method, for working on the console:
//
//	go run ./server/console/internal/demo -addr 127.0.0.1:8099
//
// It prints a login (email admin@localhost, password "password123").
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/interval-go/sdk/server"
	"github.com/interval-go/sdk/server/console/internal/testhost"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8099", "listen address")
	dir := flag.String("data", "", "data directory (default: a temporary one)")
	flag.Parse()
	if err := run(*addr, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(addr, dir string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if dir == "" {
		d, err := os.MkdirTemp("", "interval-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	public := "http://" + addr
	s, err := server.New(ctx, server.Options{DataDir: dir, PublicURL: public, OrgName: "Acme Corp", Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: s}
	go hs.Serve(ln)
	if _, err := s.CreateUser(ctx, "ops@localhost", "admin", "password123", nil); err != nil {
		return err
	}
	key, err := s.CreateAPIKey(ctx, "ops@localhost", "development")
	if err != nil {
		return err
	}
	actions, pages := testhost.KitchenSink()
	h, err := testhost.Start(ctx, testhost.Options{Endpoint: "ws://" + addr + "/websocket", APIKey: key, Actions: actions, Pages: pages, Logger: log})
	if err != nil {
		return err
	}
	fmt.Printf("Console: %s  (log in as ops@localhost / password123, or %s)\n", public, s.FirstRunLoginLink())
	<-ctx.Done()
	h.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hs.Shutdown(sctx)
	return s.Shutdown(sctx)
}
