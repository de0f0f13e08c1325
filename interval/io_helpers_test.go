package interval_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

// act runs one action in a fresh harness and returns its transaction.
type act struct {
	t   *testing.T
	ctx context.Context
	h   *intervaltest.Harness
	run *intervaltest.Transaction
}

func startAction(t *testing.T, fn interval.HandlerFunc, opts ...intervaltest.StartOption) *act {
	t.Helper()
	h := intervaltest.New(t, routes{"a": fn})
	ctx := testCtx(t)
	run, err := h.Start(ctx, "a", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return &act{t: t, ctx: ctx, h: h, run: run}
}

func (a *act) next() *intervaltest.Render {
	a.t.Helper()
	r, err := a.run.Next(a.ctx)
	if err != nil {
		a.t.Fatal(err)
	}
	return r
}

// answer answers r with values and returns nothing; use next for the
// re-render or result for the outcome.
func (a *act) answer(r *intervaltest.Render, v intervaltest.Values) {
	a.t.Helper()
	if err := r.Answer(a.ctx, v); err != nil {
		a.t.Fatal(err)
	}
}

func (a *act) setState(r *intervaltest.Render, v intervaltest.Values) {
	a.t.Helper()
	if err := r.SetState(a.ctx, v); err != nil {
		a.t.Fatal(err)
	}
}

// rejects answers r with a bad value and checks the re-render shows msg on
// the component; it returns the re-render.
func (a *act) rejects(r *intervaltest.Render, label string, value any, msg string) *intervaltest.Render {
	a.t.Helper()
	a.answer(r, intervaltest.Values{label: value})
	next := a.next()
	c, ok := next.Component(label)
	if !ok {
		a.t.Fatalf("no component %q in re-render", label)
	}
	if c.ValidationErrorMessage != msg {
		a.t.Fatalf("%q answered %v: message %q, want %q", label, value, c.ValidationErrorMessage, msg)
	}
	if next.InputGroupKey != r.InputGroupKey || next.ID == r.ID {
		a.t.Fatal("re-render must keep inputGroupKey and change id")
	}
	return next
}

func (a *act) result() intervaltest.Result {
	a.t.Helper()
	res, err := a.run.Result(a.ctx)
	if err != nil {
		a.t.Fatal(err)
	}
	if res.Status != "SUCCESS" {
		a.t.Fatalf("result %s", res.Raw)
	}
	return res
}

// props decodes the props of the component with this label.
func props(t *testing.T, r *intervaltest.Render, label string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := r.Props(label, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// decodeFresh zeroes *v and decodes raw into it (json.Unmarshal alone
// would merge into maps left from an earlier decode).
func decodeFresh[T any](t *testing.T, raw json.RawMessage, v *T) {
	t.Helper()
	var zero T
	*v = zero
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}

// jsonOf is the compact JSON of v (sorted keys for maps).
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
