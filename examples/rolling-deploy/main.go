// Command rolling-deploy shows a host that can be replaced without losing
// work: on SIGINT or SIGTERM it calls Shutdown, which asks the server to send
// no new transactions and waits (up to a timeout) for the running ones, then
// falls back to Close; a second signal closes at once. Start a new version
// before stopping the old one and the server moves new transactions to it.
// This is the official SDK's safelyClose example in Go, with the bound on
// the wait that safelyClose lacks.
//
//	INTERVAL_ENDPOINT=ws://127.0.0.1:8080/websocket INTERVAL_API_KEY=… go run ./examples/rolling-deploy
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/middleware"
	"github.com/interval-go/sdk/router"
)

func main() {
	drain := flag.Duration("drain", 30*time.Second, "how long Shutdown waits for running transactions")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	client, err := interval.New(interval.Options{Routes: routes(log, time.Second), Logger: log})
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(2)
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	if err := serve(client, sig, *drain, log); err != nil {
		log.Error("listen", "err", err)
		os.Exit(1)
	}
	log.Info("stopped cleanly")
}

// routes declares one action that runs for a while: step per item.
func routes(log *slog.Logger, step time.Duration) *router.Mux {
	r := router.New()
	r.Use(middleware.Logger(log), middleware.RecovererWithLogger(log))
	r.Action("long_job", func(ctx context.Context, tx *interval.Tx) (any, error) {
		n, err := tx.IO.Input.Number("How many steps?").Min(1).Max(60).Default(10).Run(ctx)
		if err != nil {
			return nil, err
		}
		tx.Loading.Start(interval.LoadingState{Label: "Working", ItemsInQueue: int(n)})
		for i := 0; i < int(n); i++ {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(step):
			}
			tx.Loading.CompleteOne()
		}
		return int(n), nil
	}, router.Name("Long job"), router.Description("Runs for a while; try a deploy meanwhile."))
	return r
}

// serve runs client until the first signal on sig, then drains it:
// Shutdown bounded by drain, and Close if the running transactions did not
// finish in time or a second signal arrives. It returns nil once the client
// has closed that way, or Listen's error.
func serve(client *interval.Client, sig <-chan os.Signal, drain time.Duration, log *slog.Logger) error {
	listened := make(chan error, 1)
	go func() { listened <- client.Listen(context.Background()) }()
	select {
	case err := <-listened:
		return err // never connected, or the key was refused
	case s := <-sig:
		log.Info("draining before exit", "signal", s.String(), "timeout", drain)
	}
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), drain)
		defer cancel()
		shut <- client.Shutdown(ctx)
	}()
	select {
	case err := <-shut:
		if err != nil {
			log.Warn("drain timed out, closing now", "err", err)
			client.Close()
		}
	case s := <-sig:
		log.Warn("second signal, closing now", "signal", s.String())
		client.Close()
		<-shut
	}
	if err := <-listened; !errors.Is(err, interval.ErrClosed) {
		return err
	}
	return nil
}
