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
//	err = c.Listen(ctx) // blocks like http.Server.ListenAndServe
//
// A Client connects, declares its routes, runs each transaction the server
// starts in its own goroutine, reconnects after a dropped connection and
// re-sends what the operator was looking at. Shutdown drains running
// transactions like http.Server.Shutdown; Close stops at once.
package interval
