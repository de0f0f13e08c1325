// Command rolling-deploy shows a host that can be replaced without losing
// work: on SIGINT or SIGTERM it calls Shutdown, which asks the server to send
// no new transactions and waits (up to a timeout) for the running ones, then
// falls back to Close. Start a new version before stopping the old one and
// the server moves new transactions to it.
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
			case <-time.After(time.Second):
			}
			tx.Loading.CompleteOne()
		}
		return int(n), nil
	}, router.Name("Long job"), router.Description("Runs for a while; try a deploy meanwhile."))

	client, err := interval.New(interval.Options{Routes: r, Logger: log})
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(2)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		log.Info("draining before exit", "signal", s.String(), "timeout", *drain)
		ctx, cancel := context.WithTimeout(context.Background(), *drain)
		defer cancel()
		if err := client.Shutdown(ctx); err != nil {
			log.Warn("drain timed out, closing now", "err", err)
			client.Close()
		}
	}()
	if err := client.Listen(context.Background()); !errors.Is(err, interval.ErrClosed) {
		log.Error("listen", "err", err)
		os.Exit(1)
	}
	log.Info("stopped cleanly")
}
