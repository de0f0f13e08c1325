package interval_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

// traceCall is one SEND_IO_CALL render or one IO_RESPONSE of a Node SDK
// 2.0.0 trace (internal/protocol/testdata, see
// shared/conformance/node-sdk-traces/README.md).
type traceCall struct {
	Render   map[string]any // decoded ioCall
	Response map[string]any // decoded IO_RESPONSE value
}

// loadTrace returns the renders and responses of a trace, in order.
func loadTrace(t *testing.T, prefix string) []traceCall {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "internal", "protocol", "testdata", prefix+"-*.jsonl"))
	if len(files) != 1 {
		t.Fatalf("trace %s: found %v", prefix, files)
	}
	fh, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []traceCall
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var line struct {
			Event string `json:"event"`
			Raw   string `json:"raw"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		if line.Event != "ws-text" {
			continue
		}
		var frame struct {
			Data string `json:"data"`
		}
		if json.Unmarshal([]byte(line.Raw), &frame) != nil || !strings.HasPrefix(frame.Data, "{") {
			continue
		}
		var env struct {
			Kind       string `json:"kind"`
			MethodName string `json:"methodName"`
			Data       struct {
				IOCall string `json:"ioCall"`
				Value  string `json:"value"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(frame.Data), &env); err != nil || env.Kind != "CALL" {
			continue
		}
		var tc traceCall
		switch env.MethodName {
		case "SEND_IO_CALL":
			if err := json.Unmarshal([]byte(env.Data.IOCall), &tc.Render); err != nil {
				t.Fatal(err)
			}
		case "IO_RESPONSE":
			if err := json.Unmarshal([]byte(env.Data.Value), &tc.Response); err != nil {
				t.Fatal(err)
			}
		default:
			continue
		}
		out = append(out, tc)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (tc traceCall) toRender(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, c := range tc.Render["toRender"].([]any) {
		out = append(out, c.(map[string]any))
	}
	return out
}

// decoded turns a value into its decoded JSON form.
func decoded(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameRender checks that our render has the Node render's components
// (methodName, label, props, propsMeta, flags, multipleProps, messages)
// and choice buttons, comparing decoded JSON.
func sameRender(t *testing.T, want map[string]any, got *intervaltest.Render) {
	t.Helper()
	g := decoded(t, got.IORender).(map[string]any)
	wantComps := want["toRender"].([]any)
	gotComps := g["toRender"].([]any)
	if len(wantComps) != len(gotComps) {
		t.Fatalf("toRender has %d components, Node's %d", len(gotComps), len(wantComps))
	}
	for i := range wantComps {
		w, c := wantComps[i].(map[string]any), gotComps[i].(map[string]any)
		for _, k := range []string{"methodName", "label", "props", "propsMeta", "isStateful", "isOptional", "isMultiple", "multipleProps", "validationErrorMessage"} {
			if !reflect.DeepEqual(w[k], c[k]) {
				wb, _ := json.Marshal(w[k])
				cb, _ := json.Marshal(c[k])
				t.Errorf("component %d %s:\n ours %s\nNode's %s", i, k, cb, wb)
			}
		}
	}
	if !reflect.DeepEqual(want["choiceButtons"], g["choiceButtons"]) {
		t.Errorf("choiceButtons: ours %v, Node's %v", g["choiceButtons"], want["choiceButtons"])
	}
}

// replay answers our render with the values and choice of the trace's
// response.
func replay(t *testing.T, ctx context.Context, txID string, r *intervaltest.Render, resp map[string]any) {
	t.Helper()
	b, _ := json.Marshal(resp["values"])
	choice, _ := resp["choice"].(string)
	kind, _ := resp["kind"].(string)
	out := map[string]any{"id": r.ID, "transactionId": txID, "inputGroupKey": r.InputGroupKey,
		"values": json.RawMessage(b), "kind": kind}
	if choice != "" {
		out["choice"] = choice
	}
	raw, _ := json.Marshal(out)
	if err := r.RespondRaw(ctx, string(raw)); err != nil {
		t.Fatal(err)
	}
}

// golden runs action, checks each of its renders against the trace's, in
// order, and replays the trace's responses; it returns the result.
func golden(t *testing.T, prefix string, action interval.HandlerFunc, opts ...intervaltest.StartOption) intervaltest.Result {
	t.Helper()
	trace := loadTrace(t, prefix)
	h := intervaltest.New(t, routes{"golden": action})
	ctx := testCtx(t)
	run, err := h.Start(ctx, "golden", opts...)
	if err != nil {
		t.Fatal(err)
	}
	var last *intervaltest.Render
	renders := 0
	for i, tc := range trace {
		if tc.Render != nil {
			// The Node SDK re-renders twice per state change; we once.
			if i > 0 && trace[i-1].Render != nil && reflect.DeepEqual(trace[i-1].Render["toRender"], tc.Render["toRender"]) {
				continue
			}
			r, err := run.Next(ctx)
			if err != nil {
				t.Fatalf("render %d: %v", renders, err)
			}
			sameRender(t, tc.Render, r)
			last = r
			renders++
			continue
		}
		if last == nil {
			t.Fatal("response before any render")
		}
		replay(t, ctx, run.ID, last, tc.Response)
	}
	res, err := run.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestGoldenInputText(t *testing.T) {
	res := golden(t, "01", func(ctx context.Context, tx *interval.Tx) (any, error) {
		name, err := tx.IO.Input.Text("Your name").Placeholder("Jane Doe").HelpText("First and last name").MinLength(1).MaxLength(80).Run(ctx)
		return map[string]any{"name": name}, err
	})
	if res.Status != "SUCCESS" {
		t.Fatalf("result %+v", res)
	}
}

func TestGoldenInputNumber(t *testing.T) {
	res := golden(t, "02", func(ctx context.Context, tx *interval.Tx) (any, error) {
		amount, err := tx.IO.Input.Number("Amount").Min(0).Max(100).Decimals(2).Currency(interval.USD).HelpText("Refund amount").Run(ctx)
		return map[string]any{"amount": amount}, err
	})
	if res.Raw != `{"schemaVersion":1,"status":"SUCCESS","data":{"amount":42}}` {
		t.Fatalf("result %s", res.Raw)
	}
}

func TestGoldenInputBoolean(t *testing.T) {
	res := golden(t, "03", func(ctx context.Context, tx *interval.Tx) (any, error) {
		v, err := tx.IO.Input.Boolean("Subscribe to newsletter?").Default(false).HelpText("We send one email a month").Run(ctx)
		return map[string]any{"subscribe": v}, err
	})
	if res.Raw != `{"schemaVersion":1,"status":"SUCCESS","data":{"subscribe":true}}` {
		t.Fatalf("result %s", res.Raw)
	}
}

func TestGoldenInputDateDateTime(t *testing.T) {
	res := golden(t, "04", func(ctx context.Context, tx *interval.Tx) (any, error) {
		d, err := tx.IO.Input.Date("Start date").Min(interval.Date{Year: 2024, Month: 1, Day: 1}).HelpText("Pick a day").Run(ctx)
		if err != nil {
			return nil, err
		}
		dt, err := tx.IO.Input.DateTime("Meeting time").DefaultTime(time.Date(2024, 6, 1, 9, 30, 0, 0, time.UTC)).Run(ctx)
		return map[string]any{"date": d.String(), "datetime": dt.Time(time.UTC)}, err
	})
	m, _ := res.Data.(map[string]any)
	if m["date"] != "2024-02-29" || !m["datetime"].(time.Time).Equal(time.Date(2024, 2, 29, 13, 45, 0, 0, time.UTC)) {
		t.Fatalf("result %s", res.Raw)
	}
}

func TestGoldenSelectSingle(t *testing.T) {
	res := golden(t, "05", func(ctx context.Context, tx *interval.Tx) (any, error) {
		color, err := interval.SelectSingle(tx.IO, "Favorite color", []interval.Option[string]{
			{Label: "Red", Value: "red", Description: "Warm"},
			{Label: "Green", Value: "green"},
			{Label: "Blue", Value: "blue"},
		}).Default("red").HelpText("Choose one").Run(ctx)
		return map[string]any{"color": color}, err
	})
	if res.Raw != `{"schemaVersion":1,"status":"SUCCESS","data":{"color":"green"}}` {
		t.Fatalf("result %s", res.Raw)
	}
}

func TestGoldenSelectMultiple(t *testing.T) {
	res := golden(t, "06", func(ctx context.Context, tx *interval.Tx) (any, error) {
		fruits, err := tx.IO.Select.Multiple("Fruits", "apple", "banana", "cherry").Default("apple").MinSelections(1).MaxSelections(2).Run(ctx)
		return map[string]any{"fruits": fruits}, err
	})
	if res.Raw != `{"schemaVersion":1,"status":"SUCCESS","data":{"fruits":["apple","banana"]}}` {
		t.Fatalf("result %s", res.Raw)
	}
}

type smallUser struct {
	ID        int       `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"createdAt"`
}

func smallUsers() []smallUser {
	day := func(d int) time.Time { return time.Date(2024, 1, d, 10, 0, 0, 0, time.UTC) }
	return []smallUser{
		{1, "Ada Lovelace", "ada@example.com", true, day(1)},
		{2, "Alan Turing", "alan@example.com", false, day(2)},
		{3, "Grace Hopper", "grace@example.com", true, day(3)},
		{4, "Edsger Dijkstra", "edsger@example.com", true, day(4)},
		{5, "Barbara Liskov", "barbara@example.com", false, day(5)},
	}
}

func TestGoldenDisplayTableSmall(t *testing.T) {
	golden(t, "07", func(ctx context.Context, tx *interval.Tx) (any, error) {
		err := interval.DisplayTable(tx.IO, "Users", smallUsers()).
			Columns(
				interval.Column[smallUser]{Accessor: "id"},
				interval.Column[smallUser]{Accessor: "name"},
				interval.Column[smallUser]{Label: "Email", Accessor: "email"},
				interval.Column[smallUser]{Label: "Profile", Render: func(u smallUser) interval.Cell {
					return interval.Cell{Label: u.Name, URL: "https://example.com/u/" + strconv.Itoa(u.ID)}
				}},
				interval.Column[smallUser]{Accessor: "active"},
				interval.Column[smallUser]{Accessor: "createdAt"},
			).
			RowMenu(func(u smallUser) []interval.MenuItem {
				return []interval.MenuItem{
					{Label: "Edit", Route: "input_text", Params: map[string]any{"id": u.ID}},
					{Label: "Delete", Route: "confirm", Theme: interval.ThemeDanger},
				}
			}).
			HelpText("5 users").Run(ctx)
		return "ok", err
	})
}

type bigRow struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Score int    `json:"score"`
}

func bigRows(n int) []bigRow {
	rows := make([]bigRow, n)
	for i := range rows {
		rows[i] = bigRow{ID: i, Name: "row " + strconv.Itoa(i), Score: (i * 37) % 101}
	}
	return rows
}

// TestGoldenDisplayTable1000 checks the initial render (the trace keeps
// rows 0, 1, 2 and 499 of its 500), the paging re-render and the
// search+sort re-render against the Node SDK's.
func TestGoldenDisplayTable1000(t *testing.T) {
	trace := loadTrace(t, "08")
	h := intervaltest.New(t, routes{"big": func(ctx context.Context, tx *interval.Tx) (any, error) {
		return "ok", interval.DisplayTable(tx.IO, "Big table", bigRows(1000)).PageSize(20).Run(ctx)
	}})
	ctx := testCtx(t)
	run, err := h.Start(ctx, "big", intervaltest.WithoutAppendUI())
	if err != nil {
		t.Fatal(err)
	}
	first, err := run.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Initial render: cut ours the way the trace was cut.
	c := decoded(t, first.ToRender[0]).(map[string]any)
	props := c["props"].(map[string]any)
	data := props["data"].([]any)
	if len(data) != 500 {
		t.Fatalf("initial render has %d rows, want 500", len(data))
	}
	meta := c["propsMeta"].(map[string]any)["values"].(map[string]any)
	if len(meta) != 500 || meta["data.499.menu"] == nil {
		t.Fatalf("propsMeta has %d entries, want 500 undefined menus", len(meta))
	}
	props["data"] = []any{data[0], data[1], data[2], data[499]}
	c["propsMeta"] = map[string]any{"values": map[string]any{"data.0.menu": meta["data.0.menu"], "data.1.menu": meta["data.1.menu"],
		"data.2.menu": meta["data.2.menu"], "data.3.menu": meta["data.499.menu"]}}
	want := trace[0].toRender(t)[0]
	for _, k := range []string{"methodName", "label", "props", "propsMeta", "isStateful", "isOptional", "isMultiple"} {
		if !reflect.DeepEqual(want[k], c[k]) {
			wb, _ := json.Marshal(want[k])
			cb, _ := json.Marshal(c[k])
			t.Errorf("initial %s:\n ours %s\nNode's %s", k, cb, wb)
		}
	}
	// SET_STATE paging, then search + sort: one re-render each, equal to
	// the Node SDK's.
	r := first
	for _, step := range []struct{ resp, render int }{{1, 2}, {4, 5}} {
		replay(t, ctx, run.ID, r, trace[step.resp].Response)
		if r, err = run.Next(ctx); err != nil {
			t.Fatal(err)
		}
		sameRender(t, trace[step.render].Render, r)
	}
	replay(t, ctx, run.ID, r, trace[len(trace)-1].Response)
	if res, err := run.Result(ctx); err != nil || res.Data != "ok" {
		t.Fatalf("result %+v %v", res, err)
	}
}

func TestGoldenDisplayMarkdown(t *testing.T) {
	golden(t, "09", func(ctx context.Context, tx *interval.Tx) (any, error) {
		return "ok", tx.IO.Display.Markdown("# Heading\n\nSome **bold** text and a [link](https://example.com).").Run(ctx)
	})
}

func TestGoldenDisplayMetadata(t *testing.T) {
	golden(t, "10", func(ctx context.Context, tx *interval.Tx) (any, error) {
		return "ok", tx.IO.Display.Metadata("Order details",
			interval.MetaItem{Label: "Order ID", Value: "ord_123"},
			interval.MetaItem{Label: "Total", Value: 99.5},
			interval.MetaItem{Label: "Created", Value: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
			interval.MetaItem{Label: "Customer", Value: "Ada", URL: "https://example.com/c/1"},
			interval.MetaItem{Label: "Refund", Value: "Refund it", Route: "input_number", Params: map[string]any{"orderId": "ord_123"}},
			interval.MetaItem{Label: "Notes", Value: nil},
		).Layout(interval.LayoutCard).Run(ctx)
	})
}

func TestGoldenGroupTwoInputs(t *testing.T) {
	res := golden(t, "12", func(ctx context.Context, tx *interval.Tx) (any, error) {
		name := tx.IO.Input.Text("First name")
		qty := tx.IO.Input.Number("Quantity").Min(1).Max(10)
		_, err := tx.IO.Group(name, qty).Run(ctx)
		return map[string]any{"firstName": name.Value(), "quantity": qty.Value()}, err
	})
	if res.Raw != `{"schemaVersion":1,"status":"SUCCESS","data":{"firstName":"Alice","quantity":10}}` {
		t.Fatalf("result %s", res.Raw)
	}
}

func TestGoldenGroupWithChoices(t *testing.T) {
	type signup struct {
		Email string `interval:"email"`
		Note  string `interval:"multiline=3,optional"`
		Agree bool
	}
	res := golden(t, "13", func(ctx context.Context, tx *interval.Tx) (any, error) {
		f := interval.Form[signup](tx.IO, "").WithChoices(
			interval.Choice{Label: "Approve", Value: "approve", Theme: interval.ThemePrimary},
			interval.Choice{Label: "Reject", Value: "reject", Theme: interval.ThemeDanger})
		v, err := f.Run(ctx)
		return map[string]any{"choice": f.Choice(), "email": v.Email, "note": v.Note, "agree": v.Agree}, err
	})
	if res.Raw != `{"schemaVersion":1,"status":"SUCCESS","data":{"agree":true,"choice":"approve","email":"alice@example.com","note":"Alice"}}` {
		t.Fatalf("result %s", res.Raw)
	}
}

func TestGoldenConfirm(t *testing.T) {
	res := golden(t, "14", func(ctx context.Context, tx *interval.Tx) (any, error) {
		ok, err := tx.IO.Confirm("Delete 3 users?").HelpText("This cannot be undone.").Run(ctx)
		return map[string]any{"confirmed": ok}, err
	})
	if res.Raw != `{"schemaVersion":1,"status":"SUCCESS","data":{"confirmed":true}}` {
		t.Fatalf("result %s", res.Raw)
	}
}

func TestGoldenDisplayMarkdownWithoutAppendUI(t *testing.T) {
	golden(t, "11", func(ctx context.Context, tx *interval.Tx) (any, error) {
		return "ok", tx.IO.Display.Markdown("# Heading\n\nSome **bold** text and a [link](https://example.com).").Run(ctx)
	}, intervaltest.WithoutAppendUI())
}

func TestGoldenValidation(t *testing.T) {
	res := golden(t, "15", func(ctx context.Context, tx *interval.Tx) (any, error) {
		n, err := tx.IO.Input.Number("Pick a number >= 10").Validate(func(v float64) error {
			if v < 10 {
				return errors.New("Must be at least 10")
			}
			return nil
		}).Run(ctx)
		return map[string]any{"n": n}, err
	})
	if res.Raw != `{"schemaVersion":1,"status":"SUCCESS","data":{"n":15}}` {
		t.Fatalf("result %s", res.Raw)
	}
}
