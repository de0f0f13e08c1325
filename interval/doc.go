// Package interval is a Go host for the Interval protocol: you write actions
// as plain Go functions that ask an operator questions and show answers, and
// an Interval-protocol server (this module's embedded server, or any other)
// renders each IO call as a web form.
//
//	r := router.New()
//	r.Action("hello", func(ctx context.Context, tx *interval.Tx) (any, error) {
//		name, err := tx.IO.Input.Text("Your name").Run(ctx)
//		if err != nil {
//			return nil, err
//		}
//		return "Hello, " + name, nil
//	})
//	c, err := interval.New(interval.Options{APIKey: key, Endpoint: url, Routes: r})
//	…
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	err = c.Listen(ctx) // blocks like http.Server.ListenAndServe; a signal drains
//	if !errors.Is(err, interval.ErrClosed) {
//		log.Fatal(err)
//	}
//
// A Client connects, declares its routes, runs each transaction the server
// starts in its own goroutine, reconnects after a dropped connection and
// re-sends what the operator was looking at (an IO call the server then
// refuses, having no such transaction, returns ErrRender to the handler
// waiting on it). When Listen's context ends it
// drains like Shutdown, bounded by Options.ShutdownTimeout: the server sends
// no new transactions and the running ones finish and report. Shutdown
// drains on demand like http.Server.Shutdown (returning when its context
// ends); Close stops at once.
package interval
