// Command rolling-deploy shows a host that can be replaced without losing
// work: on SIGINT or SIGTERM, Listen drains it: the server is told to send
// no new transactions (BEGIN_HOST_SHUTDOWN) and the running ones finish,
// for up to -drain (Options.ShutdownTimeout); then the ones still running
// are cancelled and the host exits. A second signal exits at once. Start a
// new version before stopping the old one and the server moves new
// transactions to it. This is the official SDK's safelyClose example in
// Go, with the bound on the wait that safelyClose lacks.
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
	drain := flag.Duration("drain", 30*time.Second, "how long running transactions may take to finish after a signal")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log, time.Second, *drain); err != nil {
		log.Error("rolling-deploy", "err", err)
		os.Exit(1)
	}
	log.Info("stopped cleanly")
}

// run serves the routes (step per item of the long job) until SIGINT or
// SIGTERM, then drains for up to drain. A drain cut short is logged, not
// an error: the server was told the cancelled transactions failed.
func run(log *slog.Logger, step, drain time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second signal exits at once

	client, err := interval.New(interval.Options{Routes: routes(log, step), Logger: log, ShutdownTimeout: drain})
	if err != nil {
		return err
	}
	err = client.Listen(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		log.Warn("the drain timed out: the running transactions were cancelled", "err", err)
	}
	if !errors.Is(err, interval.ErrClosed) {
		return err
	}
	return nil
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
