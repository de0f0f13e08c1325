package interval_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/interval-go/sdk/adapters/websocket"
	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
	"github.com/interval-go/sdk/router"
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
	// Drop once the host has the server's answer, so that the IO call comes
	// again only if the host re-sends it.
	if err := host.WaitAnswered(ctx, "SEND_IO_CALL", 1); err != nil {
		t.Fatal(err)
	}
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
	}, withLiveKey)
	ctx := testCtx(t)
	run, _ := h.Start(ctx, "work")
	<-started
	shut := make(chan error, 1)
	go func() { shut <- h.Client.Shutdown(ctx) }()
	host, _ := h.WaitHost(ctx)
	if err := host.WaitShuttingDown(ctx); err != nil {
		t.Fatal(err)
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
	// The cancelled handler finishes in the background and still reports
	// its failure; then the client closes by itself.
	if res, err := run.Result(ctx); err != nil || res.Status != "FAILURE" {
		t.Fatalf("cancelled transaction's result: %+v, %v", res, err)
	}
	if err := h.ListenErr(ctx); err != nil {
		t.Fatalf("Listen = %v, want ErrClosed", err)
	}
}

func TestRefusedAPIKeyFailsFast(t *testing.T) {
	s := intervaltest.NewServer()
	defer s.Close()
	s.APIKey = "right"
	// With a connect timeout longer than the test's context, only a
	// refusal reported as it arrives can make Listen return
	// ErrUnauthorized in time (the Node SDK waits for its timeout).
	c, err := interval.New(interval.Options{Endpoint: s.URL, APIKey: "wrong", Routes: routes{},
		ConnectTimeout: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Listen(testCtx(t))
	if !errors.Is(err, interval.ErrUnauthorized) || !strings.Contains(err.Error(), "Invalid API key") {
		t.Fatalf("Listen = %v", err)
	}
	if err := c.Listen(testCtx(t)); !errors.Is(err, interval.ErrClosed) {
		t.Fatalf("Listen after a refusal = %v, want ErrClosed", err)
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

// logRecorder is a slog.Handler that keeps every record as one line
// ("LEVEL message key=value ..."), for tests of what the client logs.
type logRecorder struct {
	*logLines
	attrs []slog.Attr
}

type logLines struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{}
}

func newLogRecorder() *logRecorder {
	return &logRecorder{logLines: &logLines{changed: make(chan struct{})}}
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	for _, a := range h.attrs {
		fmt.Fprintf(&b, " %s", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s", a)
		return true
	})
	h.mu.Lock()
	h.lines = append(h.lines, b.String())
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
	return nil
}

func (h *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &logRecorder{logLines: h.logLines, attrs: append(slices.Clip(h.attrs), as...)}
}

func (h *logRecorder) WithGroup(string) slog.Handler { return h }

// count is the number of lines logged so far.
func (h *logRecorder) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.lines)
}

// find returns the first line from index from on that contains every part.
func (h *logRecorder) find(from int, parts ...string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, l := range h.lines[min(from, len(h.lines)):] {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return l, true
		}
	}
	return "", false
}

// wait waits for a line, logged at index from or later, that contains every
// part.
func (h *logRecorder) wait(ctx context.Context, from int, parts ...string) (string, error) {
	for {
		h.mu.Lock()
		ch := h.changed
		h.mu.Unlock()
		if l, ok := h.find(from, parts...); ok {
			return l, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			h.mu.Lock()
			defer h.mu.Unlock()
			return "", fmt.Errorf("no log line with %q in:\n%s", parts, strings.Join(h.lines, "\n"))
		}
	}
}

func withLogger(l *slog.Logger) func(*interval.Options) {
	return func(o *interval.Options) { o.Logger = l }
}

// withLiveKey gives the client a live key: the server answers in the
// production environment.
func withLiveKey(o *interval.Options) { o.APIKey = "live_test_key" }

// Bad input from the server is logged with a clear message and never
// panics or stops the host: calls it cannot answer get no RESPONSE (the
// protocol has none for errors), malformed messages are dropped, and a
// transaction given a malformed answer keeps waiting for a good one.
func TestBadInputFromServerLoggedHostKeepsServing(t *testing.T) {
	logs := newLogRecorder()
	h := intervaltest.New(t, routes{
		"ask": func(ctx context.Context, tx *interval.Tx) (any, error) {
			return tx.IO.Input.Number("Count").Run(ctx)
		},
		"ok": func(ctx context.Context, tx *interval.Tx) (any, error) { return "fine", nil },
	}, withLogger(slog.New(logs)))
	ctx := testCtx(t)
	host, err := h.WaitHost(ctx)
	if err != nil {
		t.Fatal(err)
	}

	unanswered := []struct{ method, data, want string }{
		{"FROBNICATE", `{}`, `unknown method "FROBNICATE"`},
		{"START_TRANSACTION", `{"transactionId":5,"action":{"slug":"ok"}}`, "malformed"},
		{"START_TRANSACTION", `{"transactionId":"t1","action":{"slug":"ok"},"environment":"development"}`, "START_TRANSACTION without user"},
		{"START_TRANSACTION", `"not an object"`, "malformed"},
		{"IO_RESPONSE", `{"transactionId":"t1","value":5}`, "malformed"},
		{"CLOSE_TRANSACTION", `[]`, "malformed"},
		{"OPEN_PAGE", `{"pageKey":{}}`, "malformed"},
	}
	for _, c := range unanswered {
		from := logs.count()
		cctx, cancel := context.WithCancel(ctx)
		answered := make(chan error, 1)
		go func() {
			_, err := host.Call(cctx, c.method, json.RawMessage(c.data))
			answered <- err
		}()
		_, werr := logs.wait(ctx, from, "WARN", "call not answered", "method="+c.method, c.want)
		cancel()
		if err := <-answered; !errors.Is(err, context.Canceled) {
			t.Errorf("%s %s was answered: %v", c.method, c.data, err)
		}
		if werr != nil {
			t.Errorf("%s %s: %v", c.method, c.data, werr)
		}
	}

	// Messages that are not RPC envelopes are dropped with a warning.
	for _, raw := range []string{`{not json`, `{"id":"1","kind":"SHOUT","methodName":"X"}`, `{"kind":"CALL"}`, `[]`} {
		from := logs.count()
		if err := host.SendRaw(ctx, raw); err != nil {
			t.Fatal(err)
		}
		if _, err := logs.wait(ctx, from, "WARN", "dropping malformed message"); err != nil {
			t.Errorf("%s: %v", raw, err)
		}
	}

	// An IO_RESPONSE whose value is not an IO response is answered (void)
	// and logged; the transaction keeps waiting and completes with a good
	// answer.
	run, err := h.Start(ctx, "ask")
	if err != nil {
		t.Fatal(err)
	}
	form, err := run.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`not json`, `{"id":"x","transactionId":"` + run.ID + `","kind":"RETURN","values":"twelve"}`} {
		from := logs.count()
		if err := form.RespondRaw(ctx, bad); err != nil {
			t.Fatalf("malformed IO response %s not answered: %v", bad, err)
		}
		if _, err := logs.wait(ctx, from, "WARN", "dropping malformed IO response"); err != nil {
			t.Error(err)
		}
	}
	if err := form.Answer(ctx, intervaltest.Values{"Count": 12}); err != nil {
		t.Fatal(err)
	}
	if res, err := run.Result(ctx); err != nil || res.Data != float64(12) {
		t.Fatalf("transaction after malformed answers: %+v %v", res, err)
	}

	// A start for an action this host does not serve is answered and
	// logged, and starts nothing.
	from := logs.count()
	ghost, err := h.Start(ctx, "no_such_action")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := logs.wait(ctx, from, "WARN", "no such action", "action=no_such_action"); err != nil {
		t.Error(err)
	}
	run2, err := h.Start(ctx, "ok")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := run2.Result(ctx); err != nil || res.Data != "fine" {
		t.Fatalf("host stopped serving after bad input: %+v %v", res, err)
	}
	if ghost.Completions() != 0 {
		t.Fatal("an unknown action completed")
	}
}

// The host sends the Node SDK's name and wire version (the server gates
// features on them, like a User-Agent) and names itself honestly in the
// extra implementation field and in its log line.
func TestSDKIdentity(t *testing.T) {
	logs := newLogRecorder()
	h := intervaltest.New(t, routes{}, withLogger(slog.New(logs)))
	ctx := testCtx(t)
	host, err := h.WaitHost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := host.Definitions()
	if d.SDKName != "@interval/sdk" || d.SDKVersion != "2.0.0" {
		t.Fatalf("sdkName %q, sdkVersion %q", d.SDKName, d.SDKVersion)
	}
	if d.Implementation == nil || d.Implementation.Name != "interval-go" || d.Implementation.Version != interval.Version {
		t.Fatalf("implementation %+v", d.Implementation)
	}
	if _, err := logs.wait(ctx, 0, "INFO", "connected to Interval server", "sdk=interval-go/"+interval.Version, "component=interval"); err != nil {
		t.Fatal(err)
	}
	if _, ok := logs.find(0, "@interval/sdk"); ok {
		t.Fatal("the log names the Node SDK as this host")
	}
}

// LogLevel, a slog.Leveler, filters the client's own records: errors only,
// the default (info), debug with per-transaction lines, and a LevelVar.
func TestLogLevel(t *testing.T) {
	debugVar := new(slog.LevelVar)
	debugVar.Set(slog.LevelDebug)
	for _, c := range []struct {
		name        string
		level       slog.Leveler
		info, debug bool
	}{
		{"error", slog.LevelError, false, false},
		{"default", nil, true, false},
		{"info", slog.LevelInfo, true, false},
		{"debug", slog.LevelDebug, true, true},
		{"LevelVar", debugVar, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			logs := newLogRecorder()
			h := intervaltest.New(t, routes{"ok": func(ctx context.Context, tx *interval.Tx) (any, error) { return nil, nil }},
				withLogger(slog.New(logs)), func(o *interval.Options) { o.LogLevel = c.level })
			ctx := testCtx(t)
			run, err := h.Start(ctx, "ok")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := run.Result(ctx); err != nil {
				t.Fatal(err)
			}
			// Both lines are logged before the result is sent.
			if _, ok := logs.find(0, "INFO", "connected to Interval server"); ok != c.info {
				t.Errorf("info line logged: %v, want %v", ok, c.info)
			}
			if _, ok := logs.find(0, "DEBUG", "transaction started"); ok != c.debug {
				t.Errorf("debug line logged: %v, want %v", ok, c.debug)
			}
		})
	}
}

// APIKey and Endpoint fall back to INTERVAL_API_KEY and INTERVAL_ENDPOINT;
// the options win over the environment.
func TestOptionsFromEnvironment(t *testing.T) {
	s := intervaltest.NewServer()
	defer s.Close()
	t.Setenv("INTERVAL_API_KEY", "env_key")
	t.Setenv("INTERVAL_ENDPOINT", s.URL)
	c, err := interval.New(interval.Options{Routes: routes{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	listened := make(chan error, 1)
	go func() { listened <- c.Listen(ctx) }()
	host, err := s.WaitHost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if host.APIKey != "env_key" {
		t.Fatalf("key sent %q, want the environment's", host.APIKey)
	}
	c.Close()
	if err := <-listened; !errors.Is(err, interval.ErrClosed) {
		t.Fatalf("Listen = %v", err)
	}
	if err := host.WaitClosed(ctx); err != nil {
		t.Fatal(err)
	}

	t.Setenv("INTERVAL_ENDPOINT", "ws://unused.invalid/websocket")
	c2, err := interval.New(interval.Options{APIKey: "opt_key", Endpoint: s.URL, Routes: routes{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	go func() { listened <- c2.Listen(ctx) }()
	host2, err := s.WaitHost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if host2.APIKey != "opt_key" {
		t.Fatalf("key sent %q, want the option's", host2.APIKey)
	}
	c2.Close()
	<-listened

	if _, err := interval.New(interval.Options{}); !errors.Is(err, interval.ErrMissingRoutes) {
		t.Fatalf("New without routes = %v", err)
	}
}

// After a reconnection the host re-sends the transaction's loading state
// (the operator's progress bar comes back) and the handler carries on.
func TestReconnectResendsLoadingState(t *testing.T) {
	release := make(chan struct{})
	h := intervaltest.New(t, routes{
		"copy": func(ctx context.Context, tx *interval.Tx) (any, error) {
			tx.Loading.Start(interval.LoadingState{Label: "Copying", ItemsInQueue: 3})
			tx.Loading.CompleteOne()
			select {
			case <-release:
				return "copied", nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
	})
	ctx := testCtx(t)
	run, err := h.Start(ctx, "copy")
	if err != nil {
		t.Fatal(err)
	}
	first, again := resentLoading(t, ctx, h, run.NextLoading)
	if first.Label != "Copying" || *first.ItemsCompleted != 1 {
		t.Fatalf("loading state %+v", first)
	}
	if again.Label != "Copying" || *again.ItemsInQueue != 3 || *again.ItemsCompleted != 1 {
		t.Fatalf("re-sent loading state %+v", again)
	}
	close(release)
	if res, err := run.Result(ctx); err != nil || res.Data != "copied" {
		t.Fatalf("result %+v, %v", res, err)
	}
}

// After a reconnection the host re-sends the layout of every open page.
func TestReconnectResendsPage(t *testing.T) {
	r := router.New()
	r.Route("dashboard", func(r router.Router) {
		r.Index(func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
			return &interval.Layout{Title: "Dashboard", Children: []interval.Component{p.Display.Heading("Overview")}}, nil
		})
	})
	h := intervaltest.New(t, r)
	ctx := testCtx(t)
	p, err := h.OpenPage(ctx, "dashboard")
	if err != nil || p.Answer.Type != "SUCCESS" {
		t.Fatalf("OPEN_PAGE: %+v %v", p, err)
	}
	first, err := p.Next(ctx)
	if err != nil || first == nil || *first.Title != "Dashboard" {
		t.Fatalf("layout %+v, %v", first, err)
	}
	host, _ := h.WaitHost(ctx)
	if err := host.WaitAnswered(ctx, "SEND_PAGE", 1); err != nil {
		t.Fatal(err)
	}
	host.Drop()
	again, err := p.Next(ctx)
	if err != nil || again == nil {
		t.Fatalf("no layout re-sent: %v", err)
	}
	if *again.Title != "Dashboard" || again.Children.ToRender[0].Label != "Overview" {
		t.Fatalf("re-sent layout %+v", again)
	}
	if len(h.Hosts()) != 2 {
		t.Fatalf("%d host connections, want 2", len(h.Hosts()))
	}
}

// A result produced while the host is disconnected waits for the next
// connection, however long the outage lasts (the server keeps the run and
// resumes it when the host is back): it is not dropped after one response
// timeout.
func TestResultWaitsForReconnection(t *testing.T) {
	release := make(chan struct{})
	h := intervaltest.New(t, routes{"job": func(ctx context.Context, tx *interval.Tx) (any, error) {
		select {
		case <-release:
			return "done", nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}}, func(o *interval.Options) { o.ResponseTimeout = 100 * time.Millisecond })
	ctx := testCtx(t)
	run, err := h.Start(ctx, "job")
	if err != nil {
		t.Fatal(err)
	}
	host, _ := h.WaitHost(ctx) // Start returned: the host has the run
	h.Refuse(true)
	host.Drop()
	close(release) // the handler returns while the host is disconnected
	// Stay down for many response timeouts and retry intervals.
	for h.Refused() < 20 {
		select {
		case <-ctx.Done():
			t.Fatal("the host stopped trying to reconnect")
		case <-time.After(10 * time.Millisecond):
		}
	}
	h.Refuse(false)
	if res, err := run.Result(ctx); err != nil || res.Data != "done" {
		t.Fatalf("result after the outage: %+v, %v", res, err)
	}
}

// resentLoading reads the first loading state with next, drops the host's
// connection once the host has the server's answer to it (so the state
// comes again only if the host re-sends it) and returns the state read
// next, checking that it came over a new connection of the same instance.
func resentLoading(t *testing.T, ctx context.Context, h *intervaltest.Harness, next func(context.Context) (intervaltest.LoadingState, error)) (first, again intervaltest.LoadingState) {
	t.Helper()
	first, err := next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := h.WaitHost(ctx)
	if err := host.WaitAnswered(ctx, "SEND_LOADING_CALL", 1); err != nil {
		t.Fatal(err)
	}
	host.Drop()
	if again, err = next(ctx); err != nil {
		t.Fatal(err)
	}
	if err := host.WaitClosed(ctx); err != nil {
		t.Fatal(err)
	}
	if now, _ := h.WaitHost(ctx); now == host || now.InstanceID != host.InstanceID {
		t.Fatal("the loading state did not come over a new connection of the same instance")
	}
	return first, again
}

// After a reconnection the host re-sends the loading state of a page whose
// handler is still working, so the operator keeps seeing its progress.
func TestReconnectResendsPageLoading(t *testing.T) {
	release := make(chan struct{})
	r := router.New()
	r.Page("report", func(ctx context.Context, p *interval.Page) (*interval.Layout, error) {
		p.Loading.Start(interval.LoadingState{Label: "Crunching", ItemsInQueue: 4})
		p.Loading.CompleteOne()
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return &interval.Layout{Title: "Report"}, nil
	})
	h := intervaltest.New(t, r)
	ctx := testCtx(t)
	p, err := h.OpenPage(ctx, "report")
	if err != nil {
		t.Fatal(err)
	}
	first, again := resentLoading(t, ctx, h, p.NextLoading)
	if first.Label != "Crunching" || *first.ItemsCompleted != 1 {
		t.Fatalf("loading state %+v", first)
	}
	if again.Label != "Crunching" || *again.ItemsInQueue != 4 || *again.ItemsCompleted != 1 {
		t.Fatalf("re-sent loading state %+v", again)
	}
	close(release)
	if l, err := p.Next(ctx); err != nil || l == nil || *l.Title != "Report" {
		t.Fatalf("layout %+v, %v", l, err)
	}
}

// Listen after Shutdown or Close returns ErrClosed at once, without
// dialing.
func TestListenAfterCloseReturnsErrClosed(t *testing.T) {
	ctx := testCtx(t)
	for _, stop := range []struct {
		name string
		f    func(*interval.Client) error
	}{
		{"Close", (*interval.Client).Close},
		{"Shutdown", func(c *interval.Client) error { return c.Shutdown(ctx) }},
	} {
		t.Run(stop.name, func(t *testing.T) {
			// Nothing listens on this endpoint: a dial would fail
			// with a connection error, not ErrClosed.
			c, err := interval.New(interval.Options{APIKey: "k", Endpoint: "ws://127.0.0.1:1/websocket", Routes: routes{},
				Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			if err := stop.f(c); err != nil {
				t.Fatalf("%s = %v", stop.name, err)
			}
			if err := c.Listen(ctx); !errors.Is(err, interval.ErrClosed) {
				t.Fatalf("Listen = %v, want ErrClosed", err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if err := c.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// blockingRoutes serves "block", whose handler reports that it started and
// returns when release is closed or its context ends (then with the cause).
func blockingRoutes(started chan<- struct{}, release <-chan struct{}, returned chan<- error) routes {
	return routes{"block": func(ctx context.Context, tx *interval.Tx) (any, error) {
		started <- struct{}{}
		select {
		case <-release:
			returned <- nil
			return "done", nil
		case <-ctx.Done():
			err := context.Cause(ctx)
			returned <- err
			return nil, err
		}
	}}
}

// Shutdown called twice at once: both wait for the running transaction,
// which finishes; then every further Shutdown and Close returns nil.
func TestShutdownTwiceConcurrently(t *testing.T) {
	started, release, returned := make(chan struct{}, 1), make(chan struct{}), make(chan error, 1)
	h := intervaltest.New(t, blockingRoutes(started, release, returned), withLiveKey)
	ctx := testCtx(t)
	run, err := h.Start(ctx, "block")
	if err != nil {
		t.Fatal(err)
	}
	<-started
	shut := make(chan error, 2)
	go func() { shut <- h.Client.Shutdown(ctx) }()
	go func() { shut <- h.Client.Shutdown(ctx) }()
	host, _ := h.WaitHost(ctx)
	if err := host.WaitShuttingDown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-shut:
		t.Fatalf("a Shutdown returned %v while a transaction runs", err)
	default:
	}
	close(release)
	for range 2 {
		if err := <-shut; err != nil {
			t.Fatalf("Shutdown = %v", err)
		}
	}
	if err := <-returned; err != nil {
		t.Fatalf("handler ended with %v, want it to finish", err)
	}
	if res, err := run.Result(ctx); err != nil || res.Data != "done" {
		t.Fatalf("result %+v, %v", res, err)
	}
	if err := h.ListenErr(ctx); err != nil {
		t.Fatalf("Listen = %v, want ErrClosed", err)
	}
	if err := h.Client.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Client.Close(); err != nil {
		t.Fatal(err)
	}
}

// A second Shutdown whose context ends first cancels the running handlers
// too, and returns its context's error.
func TestSecondShutdownDeadlineCancels(t *testing.T) {
	started, returned := make(chan struct{}, 1), make(chan error, 1)
	h := intervaltest.New(t, blockingRoutes(started, nil, returned))
	ctx := testCtx(t)
	if _, err := h.Start(ctx, "block"); err != nil {
		t.Fatal(err)
	}
	<-started
	first := make(chan error, 1)
	go func() { first <- h.Client.Shutdown(context.Background()) }()
	host, _ := h.WaitHost(ctx)
	if err := host.WaitShuttingDown(ctx); err != nil {
		t.Fatal(err)
	}
	expired, cancel := context.WithCancel(ctx)
	cancel()
	if err := h.Client.Shutdown(expired); !errors.Is(err, context.Canceled) {
		t.Fatalf("second Shutdown = %v, want context.Canceled", err)
	}
	if err := <-returned; !errors.Is(err, interval.ErrClosed) {
		t.Fatalf("handler ended with %v, want ErrClosed", err)
	}
	if err := <-first; err != nil {
		t.Fatalf("first Shutdown = %v", err)
	}
	if err := h.ListenErr(ctx); err != nil {
		t.Fatalf("Listen = %v, want ErrClosed", err)
	}
}

// Close during a Shutdown that drains ends it at once: the handler is
// cancelled and both return.
func TestCloseDuringShutdown(t *testing.T) {
	started, returned := make(chan struct{}, 1), make(chan error, 1)
	h := intervaltest.New(t, blockingRoutes(started, nil, returned))
	ctx := testCtx(t)
	if _, err := h.Start(ctx, "block"); err != nil {
		t.Fatal(err)
	}
	<-started
	shut := make(chan error, 1)
	go func() { shut <- h.Client.Shutdown(context.Background()) }()
	host, _ := h.WaitHost(ctx)
	if err := host.WaitShuttingDown(ctx); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 2)
	go func() { closed <- h.Client.Close() }()
	go func() { closed <- h.Client.Close() }()
	for range 2 {
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
	}
	if err := <-returned; !errors.Is(err, interval.ErrClosed) {
		t.Fatalf("handler ended with %v, want ErrClosed", err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if err := h.ListenErr(ctx); err != nil {
		t.Fatalf("Listen = %v, want ErrClosed", err)
	}
}

// A host that reconnects while it drains tells the new connection that it
// is shutting down, so the server sends it no new work.
func TestReconnectDuringShutdownAnnouncesIt(t *testing.T) {
	started, release, returned := make(chan struct{}, 1), make(chan struct{}), make(chan error, 1)
	logs := newLogRecorder()
	h := intervaltest.New(t, blockingRoutes(started, release, returned), withLogger(slog.New(logs)), withLiveKey)
	ctx := testCtx(t)
	run, err := h.Start(ctx, "block")
	if err != nil {
		t.Fatal(err)
	}
	<-started
	shut := make(chan error, 1)
	go func() { shut <- h.Client.Shutdown(ctx) }()
	first, _ := h.WaitHost(ctx)
	// Drop the connection once the first BEGIN_HOST_SHUTDOWN has been
	// answered (an unanswered call would simply be sent again).
	if _, err := logs.wait(ctx, 0, "INFO", "shutting down", "running=1"); err != nil {
		t.Fatal(err)
	}
	if !first.IsShuttingDown() {
		t.Fatal("no BEGIN_HOST_SHUTDOWN on the first connection")
	}
	first.Drop()
	if err := first.WaitClosed(ctx); err != nil {
		t.Fatal(err)
	}
	second, err := h.WaitHost(ctx)
	if err != nil || second == first {
		t.Fatalf("no new connection: %v", err)
	}
	if err := second.WaitShuttingDown(ctx); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if res, err := run.Result(ctx); err != nil || res.Data != "done" {
		t.Fatalf("result %+v, %v", res, err)
	}
}

// A connection that drops while the host initializes is given up at once,
// and the host connects again, rather than waiting for an answer that
// cannot come (here the response timeout is an hour).
func TestDropDuringInitializeRetriesAtOnce(t *testing.T) {
	s := intervaltest.NewServer()
	defer s.Close()
	var inits atomic.Int32
	s.OnInitialize = func(h *intervaltest.Host) {
		if inits.Add(1) == 2 {
			h.Drop()
		}
	}
	c, err := interval.New(interval.Options{Endpoint: s.URL, APIKey: "k", Logger: slog.New(slog.DiscardHandler),
		ResponseTimeout: time.Hour, RetryInterval: 10 * time.Millisecond,
		Routes: routes{"ok": func(ctx context.Context, tx *interval.Tx) (any, error) { return "ok", nil }}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	listened := make(chan error, 1)
	go func() { listened <- c.Listen(ctx) }()
	defer func() {
		c.Close()
		<-listened
	}()
	first, err := s.WaitHost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.WaitAnswered(ctx, "INITIALIZE_HOST", 1); err != nil {
		t.Fatal(err)
	}
	first.Drop()
	hosts, err := s.WaitHosts(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := hosts[1].WaitClosed(ctx); err != nil {
		t.Fatal(err)
	}
	third, err := s.WaitHost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if third == first || third == hosts[1] {
		t.Fatal("no third connection")
	}
	if err := third.WaitAnswered(ctx, "INITIALIZE_HOST", 1); err != nil {
		t.Fatal(err)
	}
	run, err := s.Start(ctx, "ok")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := run.Result(ctx); err != nil || res.Data != "ok" {
		t.Fatalf("result %+v, %v", res, err)
	}
}

// lossyTransport is the websocket transport losing the messages drop
// chooses: they are not written, and their ACK wait ends with the ACK
// timeout, as when the server never received them. It records the ACK
// timeout and RPC id of every message of method.
type lossyTransport struct {
	method string
	drop   func(attempt int) bool

	mu       sync.Mutex
	timeouts []time.Duration
	ids      []string
}

func (l *lossyTransport) Dial(ctx context.Context, cfg interval.DialConfig) (interval.Conn, error) {
	c, err := (&websocket.Transport{}).Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return lossyConn{c, l}, nil
}

type lossyConn struct {
	interval.Conn
	l *lossyTransport
}

func (c lossyConn) Post(ctx context.Context, data string, timeout time.Duration, acked func(error)) error {
	var env struct{ ID, MethodName string }
	if json.Unmarshal([]byte(data), &env) == nil && env.MethodName == c.l.method {
		c.l.mu.Lock()
		c.l.timeouts = append(c.l.timeouts, timeout)
		c.l.ids = append(c.l.ids, env.ID)
		attempt := len(c.l.timeouts)
		c.l.mu.Unlock()
		if c.l.drop(attempt) {
			go acked(fmt.Errorf("lossy: %w", interval.ErrAckTimeout))
			return nil
		}
	}
	return c.Conn.Post(ctx, data, timeout, acked)
}

func (l *lossyTransport) attempts() ([]time.Duration, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.timeouts), slices.Clone(l.ids)
}

// A call whose ACK times out is sent again with a new id, attempt n waiting
// n×SendTimeout for its ACK, as in the official SDK.
func TestCallResentAfterAckTimeout(t *testing.T) {
	const send = 40 * time.Millisecond
	lossy := &lossyTransport{method: "SEND_IO_CALL", drop: func(n int) bool { return n <= 2 }}
	h := intervaltest.New(t, routes{
		"ask": func(ctx context.Context, tx *interval.Tx) (any, error) { return tx.IO.Input.Number("Count").Run(ctx) },
	}, func(o *interval.Options) { o.Transport, o.SendTimeout = lossy, send })
	ctx := testCtx(t)
	run, err := h.Start(ctx, "ask")
	if err != nil {
		t.Fatal(err)
	}
	form, err := run.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := form.Answer(ctx, intervaltest.Values{"Count": 3}); err != nil {
		t.Fatal(err)
	}
	if res, err := run.Result(ctx); err != nil || res.Data != float64(3) {
		t.Fatalf("result %+v, %v", res, err)
	}
	timeouts, ids := lossy.attempts()
	if !slices.Equal(timeouts, []time.Duration{send, 2 * send, 3 * send}) {
		t.Fatalf("ACK timeouts of the attempts %v", timeouts)
	}
	if ids[0] == ids[1] || ids[1] == ids[2] || ids[0] == ids[2] {
		t.Fatalf("attempts share a call id: %v", ids)
	}
	if n := len(run.Renders()); n != 1 {
		t.Fatalf("%d renders reached the server, want 1", n)
	}
}

// After MaxResendAttempts lost attempts the call fails with a clear error,
// which is logged.
func TestCallGivesUpAfterMaxResendAttempts(t *testing.T) {
	logs := newLogRecorder()
	lossy := &lossyTransport{method: "MARK_TRANSACTION_COMPLETE", drop: func(int) bool { return true }}
	h := intervaltest.New(t, routes{
		"ok": func(ctx context.Context, tx *interval.Tx) (any, error) { return "ok", nil },
	}, withLogger(slog.New(logs)), func(o *interval.Options) {
		o.Transport, o.SendTimeout, o.MaxResendAttempts = lossy, time.Millisecond, 3
	})
	ctx := testCtx(t)
	run, err := h.Start(ctx, "ok")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := logs.wait(ctx, 0, "ERROR", "sending transaction result failed", "maximum resend attempts reached", "transaction="+run.ID); err != nil {
		t.Fatal(err)
	}
	if timeouts, _ := lossy.attempts(); len(timeouts) != 3 {
		t.Fatalf("%d attempts, want 3", len(timeouts))
	}
	if run.Completions() != 0 {
		t.Fatal("a lost result reached the server")
	}
}

// CLOSE_TRANSACTION alone (the operator left) cancels a running handler's
// context with ErrCanceled; no result is sent for it.
func TestCloseTransactionCancelsHandler(t *testing.T) {
	started, returned := make(chan struct{}, 1), make(chan error, 1)
	h := intervaltest.New(t, blockingRoutes(started, nil, returned))
	ctx := testCtx(t)
	run, err := h.Start(ctx, "block")
	if err != nil {
		t.Fatal(err)
	}
	<-started
	if err := run.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-returned; !errors.Is(err, interval.ErrCanceled) {
		t.Fatalf("handler ended with %v, want ErrCanceled", err)
	}
	// The host still serves; the closed transaction sent nothing.
	again, err := h.Start(ctx, "block")
	if err != nil {
		t.Fatal(err)
	}
	<-started
	if err := again.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-returned; !errors.Is(err, interval.ErrCanceled) {
		t.Fatalf("second handler ended with %v", err)
	}
	h.Client.Close()
	if run.Completions() != 0 || again.Completions() != 0 {
		t.Fatal("a result was sent for a closed transaction")
	}
}

// The Tx carries who runs which action where: the user of
// START_TRANSACTION, its environment and action, the organization of the
// last initialization; the client exposes the latter two as well.
func TestTxContext(t *testing.T) {
	got := make(chan *interval.Tx, 1)
	h := intervaltest.New(t, routes{"who": func(ctx context.Context, tx *interval.Tx) (any, error) {
		got <- tx
		return nil, nil
	}})
	ctx := testCtx(t)
	first, last := "Sue", "Smith"
	run, err := h.Start(ctx, "who", intervaltest.As(intervaltest.User{Email: "sue@example.com", FirstName: &first, LastName: &last,
		Role: interval.RoleDeveloper, Teams: []string{"support", "ops"}}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run.Result(ctx); err != nil {
		t.Fatal(err)
	}
	tx := <-got
	want := interval.User{Email: "sue@example.com", FirstName: "Sue", LastName: "Smith", Role: interval.RoleDeveloper, Teams: []string{"support", "ops"}}
	if tx.User.Email != want.Email || tx.User.FirstName != want.FirstName || tx.User.LastName != want.LastName ||
		tx.User.Role != want.Role || !slices.Equal(tx.User.Teams, want.Teams) || !tx.User.InTeam("ops") || tx.User.InTeam("sales") {
		t.Errorf("user %+v", tx.User)
	}
	if tx.ID != run.ID || tx.Environment != "development" {
		t.Errorf("id %q, environment %q", tx.ID, tx.Environment)
	}
	if tx.Action.Slug != "who" || !strings.HasSuffix(tx.Action.URL, "/actions/who") {
		t.Errorf("action %+v", tx.Action)
	}
	org := interval.Organization{Name: "Test Org", Slug: "test"}
	if tx.Organization != org || h.Client.Organization() != org || h.Client.Environment() != "development" {
		t.Errorf("organization %+v, client %+v %q", tx.Organization, h.Client.Organization(), h.Client.Environment())
	}
}

// OnError sees every error a handler returns, but not a cancellation.
func TestOnError(t *testing.T) {
	type seen struct {
		slug string
		err  error
	}
	errs := make(chan seen, 4)
	started, returned := make(chan struct{}, 1), make(chan error, 1)
	rs := blockingRoutes(started, nil, returned)
	rs["fail"] = func(ctx context.Context, tx *interval.Tx) (any, error) { return nil, errors.New("card declined") }
	rs["ok"] = func(ctx context.Context, tx *interval.Tx) (any, error) { return 1, nil }
	h := intervaltest.New(t, rs, func(o *interval.Options) {
		o.OnError = func(tx *interval.Tx, err error) { errs <- seen{tx.Action.Slug, err} }
	})
	ctx := testCtx(t)
	for _, slug := range []string{"fail", "ok"} {
		run, err := h.Start(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := run.Result(ctx); err != nil {
			t.Fatal(err)
		}
	}
	run, err := h.Start(ctx, "block")
	if err != nil {
		t.Fatal(err)
	}
	<-started
	if err := run.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	<-returned
	h.Client.Close() // the canceled handler has completed
	close(errs)
	var got []seen
	for s := range errs {
		got = append(got, s)
	}
	if len(got) != 1 || got[0].slug != "fail" || got[0].err.Error() != "card declined" {
		t.Fatalf("OnError saw %v", got)
	}
}

// A handler that returns a value after the operator canceled still
// reports it, as in the official SDK; one that ends with the cancellation
// sends nothing.
func TestResultAfterCancelStillSent(t *testing.T) {
	h := intervaltest.New(t, routes{
		"cleanup": func(ctx context.Context, tx *interval.Tx) (any, error) {
			if _, err := tx.IO.Input.Text("Name").Run(ctx); !errors.Is(err, interval.ErrCanceled) {
				return nil, fmt.Errorf("Run = %v, want ErrCanceled", err)
			}
			return "cleaned up", nil
		},
		"propagate": func(ctx context.Context, tx *interval.Tx) (any, error) {
			_, err := tx.IO.Input.Text("Name").Run(ctx)
			if err == nil {
				return nil, errors.New("not canceled")
			}
			return nil, ctx.Err() // context.Canceled, cause ErrCanceled
		},
	})
	ctx := testCtx(t)
	var runs []*intervaltest.Transaction
	for _, slug := range []string{"cleanup", "propagate"} {
		run, err := h.Start(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := run.Next(ctx); err != nil {
			t.Fatal(err)
		}
		if err := run.Cancel(ctx); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run)
	}
	if res, err := runs[0].Result(ctx); err != nil || res.Status != "SUCCESS" || res.Data != "cleaned up" {
		t.Fatalf("result after cancel: %+v, %v", res, err)
	}
	h.Client.Close() // every handler has completed
	if n := runs[1].Completions(); n != 0 {
		t.Fatalf("%d results for a handler that ended with the cancellation", n)
	}
}

// A START_TRANSACTION for a transaction the host already has (a server
// sends a start again when it never saw it acknowledged: the connection
// died first) is ignored: while the handler runs, and after it returned
// until the server closes the transaction. The action runs once.
func TestDuplicateStartIgnored(t *testing.T) {
	var runs atomic.Int32
	h := intervaltest.New(t, routes{"once": func(ctx context.Context, tx *interval.Tx) (any, error) {
		runs.Add(1)
		name, err := tx.IO.Input.Text("Name").Run(ctx)
		if err != nil {
			return nil, err
		}
		return "hi " + name, nil
	}})
	ctx := testCtx(t)
	run, err := h.Start(ctx, "once")
	if err != nil {
		t.Fatal(err)
	}
	host, _ := h.WaitHost(ctx)
	again := func() {
		t.Helper()
		in := protocol.StartTransactionInputs{TransactionID: run.ID, ActionName: "once", Action: protocol.ActionRef{Slug: "once"},
			Environment: "development", User: intervaltest.Admin, Params: json.RawMessage(`{}`),
			DisplayResolvesImmediately: ptrTo(true)}
		if _, err := host.Call(ctx, protocol.MethodStartTransaction, in); err != nil {
			t.Fatal(err)
		}
	}
	r, err := run.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	again() // while it waits on the operator
	if err := r.Answer(ctx, intervaltest.Values{"Name": "Ada"}); err != nil {
		t.Fatal(err)
	}
	if res, err := run.Result(ctx); err != nil || res.Data != "hi Ada" {
		t.Fatalf("result: %+v, %v", res, err)
	}
	again() // finished, not yet closed by the server
	// Close waits for every handler the host started: a second run has
	// counted itself by then.
	h.Client.Close()
	if n := runs.Load(); n != 1 {
		t.Fatalf("the action ran %d times, want 1", n)
	}
	if n := run.Completions(); n != 1 {
		t.Fatalf("%d results sent, want 1", n)
	}
}

func ptrTo[T any](v T) *T { return &v }
