package interval_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

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
