package interval_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// routes is a minimal static interval.Routes for these tests.
type routes map[string]interval.HandlerFunc

func (r routes) RouteTable() interval.RouteTable {
	var t interval.RouteTable
	for slug, h := range r {
		t.Actions = append(t.Actions, interval.ActionRoute{ActionInfo: interval.ActionInfo{Slug: slug}, Handler: h})
	}
	return t
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestTransactionEndToEnd(t *testing.T) {
	h := intervaltest.New(t, routes{
		"hello": func(ctx context.Context, tx *interval.Tx) (any, error) {
			name, err := tx.IO.Input.Text("Your name").Placeholder("Jane Doe").MinLength(1).Run(ctx)
			if err != nil {
				return nil, err
			}
			return "Hello, " + name + " from " + tx.User.Email, nil
		},
	})
	ctx := testCtx(t)
	run, err := h.Start(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	r, err := run.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := r.Component("Your name")
	if !ok || c.MethodName != "INPUT_TEXT" || string(c.Props) != `{"placeholder":"Jane Doe","minLength":1}` {
		t.Fatalf("render = %+v", r.ToRender)
	}
	if err := r.Answer(ctx, intervaltest.Values{"Your name": "Ada"}); err != nil {
		t.Fatal(err)
	}
	res, err := run.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "SUCCESS" || res.Data != "Hello, Ada from alice@example.com" {
		t.Fatalf("result = %+v", res)
	}
	if want := `{"schemaVersion":1,"status":"SUCCESS","data":"Hello, Ada from alice@example.com"}`; res.Raw != want {
		t.Fatalf("raw result = %s, want %s", res.Raw, want)
	}
}

func TestGroupValidationThenSuccess(t *testing.T) {
	h := intervaltest.New(t, routes{
		"signup": func(ctx context.Context, tx *interval.Tx) (any, error) {
			email := tx.IO.Input.Email("Email")
			age := tx.IO.Input.Number("Age").Min(0).Validate(func(v float64) error {
				if v < 18 {
					return errors.New("Must be an adult")
				}
				return nil
			})
			note := tx.IO.Input.Text("Note").Optional()
			choice, err := tx.IO.Group(email, age, note).
				WithChoices(interval.Choice{Label: "Approve", Value: "approve", Theme: "primary"}, interval.ChoiceOf("Reject")).
				Validate(func(choice string) error {
					if choice == "approve" && strings.HasSuffix(email.Value(), "@blocked.example") {
						return errors.New("This domain is blocked")
					}
					return nil
				}).Run(ctx)
			if err != nil {
				return nil, err
			}
			return map[string]any{"choice": choice, "email": email.Value(), "age": age.Value(), "noteGiven": note.Answered()}, nil
		},
	})
	ctx := testCtx(t)
	run, err := h.Start(ctx, "signup")
	if err != nil {
		t.Fatal(err)
	}
	first, err := run.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.ChoiceButtons) != 2 || first.ChoiceButtons[1].Value != "Reject" {
		t.Fatalf("choice buttons = %+v", first.ChoiceButtons)
	}
	if c, _ := first.Component("Note"); !c.IsOptional {
		t.Fatal("Note should be optional")
	}
	// Wrong types and a failed validator: per-component messages.
	if err := first.Choose(ctx, "approve", intervaltest.Values{"Email": "not an email", "Age": "twelve"}); err != nil {
		t.Fatal(err)
	}
	second, err := run.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second.InputGroupKey != first.InputGroupKey || second.ID == first.ID {
		t.Fatal("a re-render keeps inputGroupKey and gets a new id")
	}
	ce, _ := second.Component("Email")
	ca, _ := second.Component("Age")
	if ce.ValidationErrorMessage != "Please enter a valid email address." || ca.ValidationErrorMessage != "Please enter a number." {
		t.Fatalf("messages = %q, %q", ce.ValidationErrorMessage, ca.ValidationErrorMessage)
	}
	if err := second.Choose(ctx, "approve", intervaltest.Values{"Email": "x@blocked.example", "Age": 12}); err != nil {
		t.Fatal(err)
	}
	third, _ := run.Next(ctx)
	if ca, _ := third.Component("Age"); ca.ValidationErrorMessage != "Must be an adult" {
		t.Fatalf("age message = %q", ca.ValidationErrorMessage)
	}
	if err := third.Choose(ctx, "approve", intervaltest.Values{"Email": "x@blocked.example", "Age": 30}); err != nil {
		t.Fatal(err)
	}
	fourth, _ := run.Next(ctx)
	if fourth.ValidationErrorMessage != "This domain is blocked" {
		t.Fatalf("group message = %q", fourth.ValidationErrorMessage)
	}
	if err := fourth.Choose(ctx, "approve", intervaltest.Values{"Email": "ok@example.com", "Age": 30}); err != nil {
		t.Fatal(err)
	}
	res, err := run.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(res.Data)
	if want := "map[age:30 choice:approve email:ok@example.com noteGiven:false]"; got != want {
		t.Fatalf("result = %s, want %s", got, want)
	}
}

func TestOperatorCancel(t *testing.T) {
	returned := make(chan error, 1)
	h := intervaltest.New(t, routes{
		"wait": func(ctx context.Context, tx *interval.Tx) (any, error) {
			_, err := tx.IO.Input.Text("Anything").Run(ctx)
			returned <- err
			return nil, err
		},
	})
	ctx := testCtx(t)
	run, _ := h.Start(ctx, "wait")
	if _, err := run.Next(ctx); err != nil {
		t.Fatal(err)
	}
	if err := run.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-returned:
		if !errors.Is(err, interval.ErrCanceled) {
			t.Fatalf("Run returned %v, want ErrCanceled", err)
		}
	case <-ctx.Done():
		t.Fatal("handler not canceled")
	}
	// A canceled transaction sends no result (as the official SDK).
	h.Client.Close()
	if n := run.Completions(); n != 0 {
		t.Fatalf("%d results sent for a canceled transaction", n)
	}
}

func TestReconnectResendsPendingIOCall(t *testing.T) {
	h := intervaltest.New(t, routes{
		"slow": func(ctx context.Context, tx *interval.Tx) (any, error) {
			n, err := tx.IO.Input.Number("Count").Run(ctx)
			return n * 2, err
		},
	})
	ctx := testCtx(t)
	run, _ := h.Start(ctx, "slow")
	first, err := run.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := h.WaitHost(ctx)
	host.Drop()
	// The host reconnects with the same instance id, initializes again and
	// re-sends the byte-identical IO call.
	again, err := run.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.Raw != first.Raw {
		t.Fatalf("resent ioCall differs:\n%s\n%s", again.Raw, first.Raw)
	}
	hosts := h.Hosts()
	if len(hosts) != 2 || hosts[0].InstanceID != hosts[1].InstanceID || hosts[0].WaitClosed(ctx) != nil {
		t.Fatalf("hosts = %d, want the same instance reconnected", len(hosts))
	}
	if err := again.Answer(ctx, intervaltest.Values{"Count": 21}); err != nil {
		t.Fatal(err)
	}
	res, err := run.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Data != float64(42) {
		t.Fatalf("result = %v", res.Data)
	}
}

func TestHandlerPanicFailsTransactionHostKeepsServing(t *testing.T) {
	h := intervaltest.New(t, routes{
		"boom": func(ctx context.Context, tx *interval.Tx) (any, error) { panic("kaboom") },
		"ok":   func(ctx context.Context, tx *interval.Tx) (any, error) { return 1, nil },
	})
	ctx := testCtx(t)
	run, _ := h.Start(ctx, "boom")
	res, err := run.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "FAILURE" || res.Message != "panic: kaboom" {
		t.Fatalf("result = %+v", res)
	}
	run2, _ := h.Start(ctx, "ok")
	if res, err := run2.Result(ctx); err != nil || res.Status != "SUCCESS" {
		t.Fatalf("host stopped serving: %+v %v", res, err)
	}
}

// declinedError wraps a cause its message does not repeat.
type declinedError struct{ cause error }

func (e declinedError) Error() string { return "refund failed" }
func (e declinedError) Unwrap() error { return e.cause }

func TestErrorResultShape(t *testing.T) {
	h := intervaltest.New(t, routes{
		// A %w error's message ends with its cause: no cause is sent, so the
		// console does not show it twice.
		"wrapped": func(ctx context.Context, tx *interval.Tx) (any, error) {
			return nil, fmt.Errorf("refund failed: %w", errors.New("card declined"))
		},
		// An error whose message does not say its cause sends it, as a
		// JavaScript Error with a cause does.
		"custom": func(ctx context.Context, tx *interval.Tx) (any, error) {
			return nil, declinedError{errors.New("card declined")}
		},
	})
	ctx := testCtx(t)
	for slug, want := range map[string]string{
		"wrapped": `{"schemaVersion":1,"status":"FAILURE","data":{"error":"Error","message":"refund failed: card declined"}}`,
		"custom":  `{"schemaVersion":1,"status":"FAILURE","data":{"error":"Error","message":"refund failed","cause":"Error: card declined"}}`,
	} {
		run, _ := h.Start(ctx, slug)
		res, err := run.Result(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Raw != want {
			t.Errorf("%s: raw = %s\nwant  %s", slug, res.Raw, want)
		}
	}
}

func TestShutdownDrainsAndRefusesNew(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	h := intervaltest.New(t, routes{
		"work": func(ctx context.Context, tx *interval.Tx) (any, error) {
			started <- struct{}{}
			select {
			case <-release:
				return "done", nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
	})
	ctx := testCtx(t)
	run, _ := h.Start(ctx, "work")
	<-started
	shut := make(chan error, 1)
	go func() { shut <- h.Client.Shutdown(ctx) }()
	host, _ := h.WaitHost(ctx)
	for !host.IsShuttingDown() {
		select {
		case <-ctx.Done():
			t.Fatal("no BEGIN_HOST_SHUTDOWN")
		case <-time.After(5 * time.Millisecond):
		}
	}
	// A start during shutdown is not run.
	late, err := h.Start(ctx, "work")
	if err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if res, err := run.Result(ctx); err != nil || res.Data != "done" {
		t.Fatalf("running transaction did not finish: %+v %v", res, err)
	}
	if late.Completions() != 0 || len(started) != 0 {
		t.Fatal("a transaction started during shutdown ran")
	}
	if err := h.ListenErr(ctx); err != nil {
		t.Fatalf("Listen returned %v, want ErrClosed", err)
	}
	if err := h.Client.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown = %v", err)
	}
}

func TestShutdownDeadlineCancelsHandlers(t *testing.T) {
	canceled := make(chan error, 1)
	h := intervaltest.New(t, routes{
		"stuck": func(ctx context.Context, tx *interval.Tx) (any, error) {
			_, err := tx.IO.Input.Text("Waiting for a person").Run(ctx)
			canceled <- err
			return nil, err
		},
	})
	ctx := testCtx(t)
	run, _ := h.Start(ctx, "stuck")
	if _, err := run.Next(ctx); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := h.Client.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if err := <-canceled; !errors.Is(err, interval.ErrClosed) {
		t.Fatalf("handler saw %v, want ErrClosed", err)
	}
}

func TestRefusedAPIKeyFailsFast(t *testing.T) {
	s := intervaltest.NewServer()
	defer s.Close()
	s.APIKey = "right"
	c, err := interval.New(interval.Options{Endpoint: s.URL, APIKey: "wrong", Routes: routes{}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = c.Listen(testCtx(t))
	if !errors.Is(err, interval.ErrUnauthorized) || !strings.Contains(err.Error(), "Invalid API key") {
		t.Fatalf("Listen = %v", err)
	}
	if time.Since(start) > interval.DefaultConnectTimeout/2 {
		t.Fatal("refusal waited for the connect timeout")
	}
}

func TestNewRequiresKeyAndEndpoint(t *testing.T) {
	t.Setenv("INTERVAL_API_KEY", "")
	t.Setenv("INTERVAL_ENDPOINT", "")
	if _, err := interval.New(interval.Options{Endpoint: "ws://x/websocket", Routes: routes{}}); !errors.Is(err, interval.ErrMissingAPIKey) {
		t.Fatalf("err = %v", err)
	}
	if _, err := interval.New(interval.Options{APIKey: "k", Routes: routes{}}); !errors.Is(err, interval.ErrMissingEndpoint) {
		t.Fatalf("err = %v", err)
	}
	t.Setenv("INTERVAL_API_KEY", "env_key")
	t.Setenv("INTERVAL_ENDPOINT", "ftp://x")
	if _, err := interval.New(interval.Options{Routes: routes{}}); err == nil || !strings.Contains(err.Error(), "scheme") {
		t.Fatalf("err = %v", err)
	}
}

func TestNotifyEnqueueDequeue(t *testing.T) {
	h := intervaltest.New(t, routes{
		"notify": func(ctx context.Context, tx *interval.Tx) (any, error) {
			return nil, tx.Notify(ctx, interval.Notification{Message: "Refund done", Title: "Refunds",
				Deliveries: []interval.Delivery{{To: "ops@example.com", Method: "EMAIL"}}})
		},
	})
	ctx := testCtx(t)
	run, _ := h.Start(ctx, "notify")
	if res, err := run.Result(ctx); err != nil || res.Status != "SUCCESS" {
		t.Fatalf("result %+v %v", res, err)
	}
	ns := h.Notifications()
	if len(ns) != 1 || ns[0].TransactionID != run.ID || ns[0].APIKey != "test_key" || ns[0].DeliveryInstructions[0].To != "ops@example.com" {
		t.Fatalf("notifications = %+v", ns)
	}
	when := time.Date(2024, 3, 9, 12, 0, 0, 0, time.UTC)
	id, err := h.Client.Enqueue(ctx, "notify", "bob@example.com", map[string]any{"since": when, "n": 3})
	if err != nil || id == "" {
		t.Fatalf("enqueue = %q, %v", id, err)
	}
	q, err := h.Client.Dequeue(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := q.Params.Time("since"); !got.Equal(when) || q.Assignee != "bob@example.com" {
		t.Fatalf("dequeued = %+v", q)
	}
	if n, _ := q.Params.Int("n"); n != 3 {
		t.Fatalf("n = %v", q.Params["n"])
	}
	if _, err := h.Client.Dequeue(ctx, id); !errors.Is(err, interval.ErrAPI) {
		t.Fatalf("second dequeue = %v, want ErrAPI", err)
	}
	if err := h.Client.Ping(ctx); err != nil {
		t.Fatalf("ping = %v", err)
	}
}

func TestLogLoadingRedirect(t *testing.T) {
	h := intervaltest.New(t, routes{
		"job": func(ctx context.Context, tx *interval.Tx) (any, error) {
			if err := tx.Log(ctx, "Starting job", map[string]int{"step": 1}); err != nil {
				return nil, err
			}
			tx.Loading.Start(interval.LoadingState{Label: "Migrating", ItemsInQueue: 3})
			for range 3 {
				tx.Loading.CompleteOne()
			}
			return nil, tx.Redirect(ctx, interval.Redirect{Route: "other", Params: map[string]any{"id": 5}})
		},
	})
	ctx := testCtx(t)
	run, _ := h.Start(ctx, "job")
	if _, err := run.Result(ctx); err != nil {
		t.Fatal(err)
	}
	if logs := run.LogLines(); len(logs) != 1 || logs[0] != "Starting job {\n  \"step\": 1\n}" {
		t.Fatalf("logs = %q", logs)
	}
	ls := run.LoadingStates()
	if len(ls) == 0 {
		t.Fatal("no loading state sent")
	}
	last := ls[len(ls)-1]
	if last.Label != "Migrating" || *last.ItemsInQueue != 3 || *last.ItemsCompleted != 3 {
		t.Fatalf("loading = %+v", last)
	}
	if len(ls) != 1 {
		t.Fatalf("%d loading sends, want them coalesced", len(ls))
	}
	rs := run.RedirectsSent()
	if len(rs) != 1 || rs[0].Route != "other" || rs[0].Params["id"] != float64(5) {
		t.Fatalf("redirects = %+v", rs)
	}
}
