package interval_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

// badCase is one IO method: its action shows one component labelled
// "Field", bad lists operator values of the wrong type or out of range with
// the message each must get, good is a valid value and result the action's
// result for it.
type badCase struct {
	run    func(ctx context.Context, tx *interval.Tx) (any, error)
	bad    []badValue
	good   any
	result string
}

type badValue struct {
	value any
	msg   string
}

func dateV(y, m, d int) map[string]int { return map[string]int{"year": y, "month": m, "day": d} }

// TestBadInputEveryMethod sends, for every input method, values of the
// wrong type and out of range: each is answered with a validation message
// on the component (never a panic or a failed transaction), and a valid
// value afterwards completes the action.
func TestBadInputEveryMethod(t *testing.T) {
	opts := []interval.Option[int]{{Label: "One", Value: 1}, {Label: "Two", Value: 2}, {Label: "Three", Value: 3}}
	lv := func(label string, v int) map[string]any { return map[string]any{"label": label, "value": v} }
	cases := map[string]badCase{
		"INPUT_TEXT": {run: func(ctx context.Context, tx *interval.Tx) (any, error) {
			return tx.IO.Input.Text("Field").MinLength(2).MaxLength(4).Run(ctx)
		}, bad: []badValue{
			{42, "Please enter text."},
			{[]string{"a"}, "Please enter text."},
			{"a", "Please enter at least 2 characters."},
			{"héllo", "Please enter no more than 4 characters."},
		}, good: "héé", result: `"héé"`},
		"INPUT_EMAIL": {run: func(ctx context.Context, tx *interval.Tx) (any, error) {
			return tx.IO.Input.Email("Field").Run(ctx)
		}, bad: []badValue{
			{true, "Please enter text."},
			{"ada", "Please enter a valid email address."},
			{"Ada <ada@example.com>", "Please enter a valid email address."},
		}, good: "ada@example.com", result: `"ada@example.com"`},
		"INPUT_NUMBER": {run: func(ctx context.Context, tx *interval.Tx) (any, error) {
			return tx.IO.Input.Number("Field").Min(-5).Max(5).Decimals(1).Run(ctx)
		}, bad: []badValue{
			{"3", "Please enter a number."},
			{map[string]any{}, "Please enter a number."},
			{-5.5, "Please enter a number greater than or equal to -5."},
			{7, "Please enter a number less than or equal to 5."},
			{1.25, "Please enter a number with at most 1 decimal places."},
		}, good: -4.5, result: `-4.5`},
		"INPUT_SLIDER": {run: func(ctx context.Context, tx *interval.Tx) (any, error) {
			return tx.IO.Input.Slider("Field", 1, 3).Run(ctx)
		}, bad: []badValue{
			{"2", "Please choose a number."},
			{0, "Please choose a number between 1 and 3."},
			{4, "Please choose a number between 1 and 3."},
		}, good: 2, result: `2`},
		"INPUT_URL": {run: func(ctx context.Context, tx *interval.Tx) (any, error) {
			u, err := tx.IO.Input.URL("Field").Run(ctx)
			if err != nil {
				return nil, err
			}
			return u.String(), nil
		}, bad: []badValue{
			{12, "Please enter a URL."},
			{"example.com", "Please enter a valid URL."},
			{"javascript:alert(1)", "Please enter a URL starting with http, https."},
		}, good: "https://example.com/x", result: `"https://example.com/x"`},
		"INPUT_BOOLEAN": {run: func(ctx context.Context, tx *interval.Tx) (any, error) {
			return tx.IO.Input.Boolean("Field").Run(ctx)
		}, bad: []badValue{
			{"yes", "Please choose yes or no."},
			{1, "Please choose yes or no."},
		}, good: false, result: `false`},
		"INPUT_RICH_TEXT": {run: func(ctx context.Context, tx *interval.Tx) (any, error) {
			return tx.IO.Input.RichText("Field").Run(ctx)
		}, bad: []badValue{
			{3.5, "Please enter text."},
			{map[string]any{"html": "<p>"}, "Please enter text."},
		}, good: "<p>x</p>", result: `"\u003cp\u003ex\u003c/p\u003e"`},
		"INPUT_DATE": {run: func(ctx context.Context, tx *interval.Tx) (any, error) {
			d, err := tx.IO.Input.Date("Field").Min(interval.Date{Year: 2024, Month: 1, Day: 1}).Max(interval.Date{Year: 2024, Month: 6, Day: 30}).Run(ctx)
			return d.String(), err
		}, bad: []badValue{
			{"2024-03-01", "Please enter a valid date."},
			{dateV(2024, 13, 1), "Please enter a valid date."},
			{dateV(2023, 2, 29), "Please enter a valid date."},
			{dateV(2023, 12, 31), "Please choose a date on or after 2024-01-01."},
			{dateV(2024, 7, 1), "Please choose a date on or before 2024-06-30."},
		}, good: dateV(2024, 2, 29), result: `"2024-02-29"`},
		"INPUT_TIME": {run: func(ctx context.Context, tx *interval.Tx) (any, error) {
			v, err := tx.IO.Input.Time("Field").Min(interval.TimeOfDay{Hour: 9}).Max(interval.TimeOfDay{Hour: 17}).Run(ctx)
			return v.String(), err
		}, bad: []badValue{
			{"09:30", "Please enter a valid time."},
			{map[string]int{"hour": 12, "minute": 60}, "Please enter a valid time."},
			{map[string]int{"hour": 8, "minute": 59}, "Please choose a time at or after 09:00."},
			{map[string]int{"hour": 17, "minute": 1}, "Please choose a time at or before 17:00."},
		}, good: map[string]int{"hour": 17, "minute": 0}, result: `"17:00"`},
		"INPUT_DATETIME": {run: func(ctx context.Context, tx *interval.Tx) (any, error) {
			v, err := tx.IO.Input.DateTime("Field").
				Min(interval.DateTime{Date: interval.Date{Year: 2024, Month: 1, Day: 1}, TimeOfDay: interval.TimeOfDay{Hour: 8}}).
				Max(interval.DateTime{Date: interval.Date{Year: 2024, Month: 1, Day: 2}}).Run(ctx)
			return v.String(), err
		}, bad: []badValue{
			{1704067200000, "Please enter a valid date and time."},
			{dateV(2024, 1, 1), "Please enter a valid date and time."}, // no hour/minute: 00:00, before the minimum
			{map[string]int{"year": 2024, "month": 1, "day": 1, "hour": 24, "minute": 0}, "Please enter a valid date and time."},
			{map[string]int{"year": 2024, "month": 1, "day": 1, "hour": 7, "minute": 59}, "Please choose a time on or after 2024-01-01 08:00."},
			{map[string]int{"year": 2024, "month": 1, "day": 2, "hour": 0, "minute": 1}, "Please choose a time on or before 2024-01-02 00:00."},
		}, good: map[string]int{"year": 2024, "month": 1, "day": 1, "hour": 23, "minute": 30}, result: `"2024-01-01 23:30"`},
		"UPLOAD_FILE": {run: func(ctx context.Context, tx *interval.Tx) (any, error) {
			f, err := tx.IO.Input.File("Field").AllowedExtensions("pdf").Run(ctx)
			return f.Name, err
		}, bad: []badValue{
			{"a.pdf", "Please upload a file."},
			{map[string]any{"name": "a.pdf", "url": "https://x/a.pdf"}, "Please upload a file."},
			{map[string]any{"name": "a.exe", "type": "x", "size": 1, "lastModified": 0, "url": "https://x/a.exe"}, "Please upload a file of type pdf."},
		}, good: map[string]any{"name": "a.PDF", "type": "application/pdf", "size": 1, "lastModified": 0, "url": "https://x/a.pdf"}, result: `"a.PDF"`},
		"INPUT_SPREADSHEET": {run: func(ctx context.Context, tx *interval.Tx) (any, error) {
			rows, err := interval.Spreadsheet[lineItem](tx.IO, "Field").Run(ctx)
			return len(rows), err
		}, bad: []badValue{
			{map[string]any{"name": "a"}, "Please enter the rows as a table."},
			{[]any{map[string]any{"name": "a", "price": 1}}, "Row 1: gift is required."},
			{[]any{map[string]any{"name": 5, "price": 1, "gift": true}}, "Row 1: name must be a string."},
			{[]any{map[string]any{"name": "a", "price": 1, "gift": "no"}}, "Row 1: gift must be a boolean."},
		}, good: []any{map[string]any{"name": "a", "price": 1, "gift": true}}, result: `1`},
		"SEARCH": {run: func(ctx context.Context, tx *interval.Tx) (any, error) {
			return interval.Search(tx.IO, "Field", func(ctx context.Context, q string) ([]string, error) { return []string{q}, nil },
				func(s string) interval.SearchResult { return interval.SearchResult{Label: s} }).InitialResults("a", "b").Run(ctx)
		}, bad: []badValue{
			{0, "Please choose a result."},
			{"0:2", "Please choose a result."},
			{"9:0", "Please choose a result."},
			{"0:-1", "Please choose a result."},
		}, good: "0:1", result: `"b"`},
		"SELECT_SINGLE": {run: func(ctx context.Context, tx *interval.Tx) (any, error) {
			return interval.SelectSingle(tx.IO, "Field", opts).Run(ctx)
		}, bad: []badValue{
			{2, "Please choose one of the options."},
			{lv("Four", 4), "Please choose one of the options."},
			{map[string]any{"label": "Two", "value": "2"}, "Please choose one of the options."},
		}, good: lv("Two", 2), result: `2`},
		"SELECT_MULTIPLE": {run: func(ctx context.Context, tx *interval.Tx) (any, error) {
			return interval.SelectMultiple(tx.IO, "Field", opts).MinSelections(1).MaxSelections(2).Run(ctx)
		}, bad: []badValue{
			{lv("One", 1), "Please choose from the options."},
			{[]any{lv("Nine", 9)}, "Please choose from the options."},
			{[]any{}, "Please choose at least 1."},
			{[]any{lv("One", 1), lv("Two", 2), lv("Three", 3)}, "Please choose at most 2."},
		}, good: []any{lv("Three", 3), lv("One", 1)}, result: `[1,3]`},
		"SELECT_TABLE": {run: func(ctx context.Context, tx *interval.Tx) (any, error) {
			rows, err := interval.SelectTable(tx.IO, "Field", people).MaxSelections(1).Run(ctx)
			if err != nil || len(rows) != 1 {
				return nil, err
			}
			return rows[0].Name, nil
		}, bad: []badValue{
			{map[string]any{"key": "0"}, "Please select rows of the table."},
			{[]any{map[string]any{"key": 0}}, "Please select rows of the table."},
			{[]any{map[string]any{"key": "3"}}, "Please select rows of the table."},
			{[]any{map[string]any{"key": "0"}, map[string]any{"key": "1"}}, "Please select at most 1 rows."},
		}, good: []any{map[string]any{"key": "2"}}, result: `"Grace Hopper"`},
		"CONFIRM": {run: func(ctx context.Context, tx *interval.Tx) (any, error) {
			return tx.IO.Confirm("Field").Run(ctx)
		}, bad: []badValue{
			{"yes", "Please confirm or cancel."},
			{[]bool{true}, "Please confirm or cancel."},
		}, good: false, result: `false`},
		"CONFIRM_IDENTITY": {run: func(ctx context.Context, tx *interval.Tx) (any, error) {
			return tx.IO.ConfirmIdentity("Field").Run(ctx)
		}, bad: []badValue{
			{"ok", "Please confirm your identity."},
			{0, "Please confirm your identity."},
		}, good: true, result: `true`},
	}
	for method, c := range cases {
		t.Run(method, func(t *testing.T) {
			a := startAction(t, c.run)
			r := a.next()
			if comp, ok := r.Component("Field"); !ok || comp.MethodName != method {
				t.Fatalf("render %+v", comp)
			}
			for _, b := range c.bad {
				r = a.rejects(r, "Field", b.value, b.msg)
			}
			a.answer(r, intervaltest.Values{"Field": c.good})
			if res := a.result(); jsonOf(t, res.Data) != c.result {
				t.Fatalf("result %s, want %s", jsonOf(t, res.Data), c.result)
			}
		})
	}
}

// TestBadStateIgnored sends malformed state updates to every stateful
// component: each is ignored (no re-render, no panic) and the component
// still answers a valid update and a valid value.
func TestBadStateIgnored(t *testing.T) {
	wrongType := []any{"offset", 12, []any{1}, true}
	tableBad := append(wrongType, map[string]any{"offset": "x", "pageSize": 10}, map[string]any{"queryTerm": 5, "pageSize": 10},
		map[string]any{"offset": 0}, map[string]any{"offset": 1.5, "pageSize": 10})
	cases := map[string]struct {
		run  func(ctx context.Context, tx *interval.Tx) error
		bad  []any
		good any
	}{
		"SELECT_TABLE": {run: func(ctx context.Context, tx *interval.Tx) error {
			_, err := interval.SelectTable(tx.IO, "Field", people).Optional().Run(ctx)
			return err
		}, bad: tableBad, good: map[string]any{"queryTerm": "grace", "offset": 0, "pageSize": 10}},
		"DISPLAY_TABLE": {run: func(ctx context.Context, tx *interval.Tx) error {
			return interval.DisplayTable(tx.IO, "Field", people).Run(ctx)
		}, bad: tableBad, good: map[string]any{"queryTerm": "grace", "offset": 0, "pageSize": 10}},
		"DISPLAY_GRID": {run: func(ctx context.Context, tx *interval.Tx) error {
			return interval.DisplayGrid(tx.IO, "Field", people, func(p person) interval.GridItem { return interval.GridItem{Label: p.Name} }).Run(ctx)
		}, bad: tableBad, good: map[string]any{"queryTerm": "grace", "offset": 0, "pageSize": 10}},
		"SEARCH": {run: func(ctx context.Context, tx *interval.Tx) error {
			_, err := interval.Search(tx.IO, "Field", func(ctx context.Context, q string) ([]string, error) { return []string{"grace"}, nil },
				func(s string) interval.SearchResult { return interval.SearchResult{Label: s} }).Optional().Run(ctx)
			return err
		}, bad: append(wrongType, map[string]any{"queryTerm": 5}, map[string]any{}), good: map[string]any{"queryTerm": "grace"}},
		"UPLOAD_FILE": {run: func(ctx context.Context, tx *interval.Tx) error {
			_, err := tx.IO.Input.File("Field").Optional().PresignedURLs(func(ctx context.Context, name, typ string) (string, string, error) {
				if name == "" {
					return "", "", errors.New("no name")
				}
				return "https://up/grace", "https://down/grace", nil
			}).Run(ctx)
			return err
		}, bad: append(wrongType, map[string]any{"files": "a.txt"}, map[string]any{"files": []any{map[string]any{"name": 1}}}),
			good: map[string]any{"files": []any{map[string]any{"name": "a.txt", "type": "text/plain"}}}},
	}
	for method, c := range cases {
		t.Run(method, func(t *testing.T) {
			a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
				return "ok", c.run(ctx, tx)
			}, intervaltest.WithoutAppendUI())
			r := a.next()
			if comp, _ := r.Component("Field"); comp.MethodName != method {
				t.Fatalf("render %s", comp.MethodName)
			}
			for _, b := range c.bad {
				a.setState(r, intervaltest.Values{"Field": b})
			}
			// Only the good update re-renders (renders come in order, so a
			// re-render for a bad one would be seen first).
			a.setState(r, intervaltest.Values{"Field": c.good})
			r = a.next()
			if got := mustComponent(t, r, "Field").Props; !containsAll(strings.ToLower(got), "grace") {
				t.Fatalf("re-render after the good state %s", got)
			}
			a.answer(r, intervaltest.Values{"Field": nil})
			if res := a.result(); res.Data != "ok" {
				t.Fatalf("result %v", res.Data)
			}
		})
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// TestConfirmIsExclusive: Confirm, like ConfirmIdentity, is refused in a
// group with ErrExclusive naming it, before anything is sent; the
// transaction goes on.
func TestConfirmIsExclusive(t *testing.T) {
	errs := make(chan error, 2)
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		_, err := tx.IO.Group(tx.IO.Input.Text("Name"), tx.IO.Confirm("Sure?")).Run(ctx)
		errs <- err
		_, err = tx.IO.Group(tx.IO.Confirm("Alone?")).Run(ctx) // alone in a group: allowed
		errs <- err
		return "ok", nil
	})
	err := <-errs
	if !errors.Is(err, interval.ErrExclusive) || !containsAll(err.Error(), "CONFIRM", `"Sure?"`) {
		t.Fatalf("group err %v", err)
	}
	r := a.next()
	if labels := r.Labels(); len(labels) != 1 || labels[0] != "Alone?" {
		t.Fatalf("first render %v: the refused group must not be sent", labels)
	}
	a.answer(r, intervaltest.Values{"Alone?": true})
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	a.result()
}

// TestGroupChoicesAndFieldError: a display with choice buttons waits for a
// click even with the append UI; a group's Validate gets the clicked
// choice and can put its message on one component (FieldError) or on the
// whole form; an unknown choice value is passed through as sent.
func TestGroupChoicesAndFieldError(t *testing.T) {
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		choice, err := tx.IO.Group(tx.IO.Display.Markdown("Ship it?")).WithChoices(interval.ChoiceOf("Ship"), interval.ChoiceOf("Wait")).Run(ctx)
		if err != nil {
			return nil, err
		}
		qty := tx.IO.Input.Number("Qty")
		note := tx.IO.Input.Text("Note").Optional()
		second, err := tx.IO.Group(qty, note).WithChoices(interval.ChoiceOf("Save"), interval.ChoiceOf("Discard")).Validate(func(c string) error {
			switch {
			case c == "Save" && qty.Value() > 10:
				return interval.FieldError(qty, "At most 10 when saving.")
			case c == "Save" && !note.Answered():
				return errors.New("Saving needs a note.")
			}
			return nil
		}).Run(ctx)
		return choice + "|" + second + "|" + note.Value(), err
	})
	r := a.next()
	if len(r.ChoiceButtons) != 2 {
		t.Fatalf("choices %+v", r.ChoiceButtons)
	}
	if err := r.Choose(a.ctx, "Ship", intervaltest.Values{"Ship it?": nil}); err != nil {
		t.Fatal(err)
	}
	r = a.next()
	if err := r.Choose(a.ctx, "Save", intervaltest.Values{"Qty": 11, "Note": "x"}); err != nil {
		t.Fatal(err)
	}
	r = a.next()
	if q, _ := r.Component("Qty"); q.ValidationErrorMessage != "At most 10 when saving." || r.ValidationErrorMessage != "" {
		t.Fatalf("qty %q, form %q", q.ValidationErrorMessage, r.ValidationErrorMessage)
	}
	if err := r.Choose(a.ctx, "Save", intervaltest.Values{"Qty": 3, "Note": nil}); err != nil {
		t.Fatal(err)
	}
	r = a.next()
	if q, _ := r.Component("Qty"); q.ValidationErrorMessage != "" || r.ValidationErrorMessage != "Saving needs a note." {
		t.Fatalf("qty %q, form %q", q.ValidationErrorMessage, r.ValidationErrorMessage)
	}
	if err := r.Choose(a.ctx, "Discard", intervaltest.Values{"Qty": 30, "Note": nil}); err != nil {
		t.Fatal(err)
	}
	if res := a.result(); res.Data != "Ship|Discard|" {
		t.Fatalf("result %v", res.Data)
	}
}

// TestUnknownEnumValues: a builder given a value the protocol does not
// know (image size, currency, theme) makes Run fail with an error naming
// it, before anything is sent; such values computed per row or item
// (highlight colours, fits, menu themes, option image sizes) are dropped
// rather than sent, as the console would refuse the whole component.
func TestUnknownEnumValues(t *testing.T) {
	errs := make(chan error, 5)
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		d := tx.IO.Display
		errs <- d.Image("Logo", "https://x/l.png").Size("huge").Run(ctx)
		errs <- d.Video("Clip", "https://x/c.mp4").Width("xl").Run(ctx)
		_, err := tx.IO.Input.Number("Price").Currency("BTC").Run(ctx)
		errs <- err
		errs <- d.Link("Docs", "https://x").Theme("blue").Run(ctx)
		_, err = tx.IO.Group(d.Markdown("x")).WithChoices(interval.Choice{Label: "Go", Theme: "blue"}).Run(ctx)
		errs <- err
		_, err = tx.IO.Group(
			d.Heading("Head").MenuItems(interval.MenuItem{Label: "Open", Route: "a", Theme: "blue"}),
			interval.DisplayTable(tx.IO, "Rows", people[:1]).Columns(interval.Column[person]{Label: "Name", Render: func(p person) interval.Cell {
				return interval.Cell{Label: p.Name, HighlightColor: "teal"}
			}}),
			interval.DisplayGrid(tx.IO, "Cards", people[:1], func(p person) interval.GridItem {
				return interval.GridItem{Label: p.Name, Image: &interval.GridImage{URL: "https://x/p.png", Fit: "fill"}}
			}),
			interval.SelectSingle(tx.IO, "Pick", []interval.Option[int]{{Label: "One", Value: 1, Image: &interval.Image{URL: "https://x/1.png", Size: "huge"}}}),
		).Run(ctx)
		return nil, err
	})
	for _, want := range []string{`size "huge"`, `size "xl"`, `currency "BTC"`, `theme "blue"`, `theme "blue"`} {
		if err := <-errs; err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err %v, want one naming %s", err, want)
		}
	}
	r := a.next()
	if labels := strings.Join(r.Labels(), ","); labels != "Head,Rows,Cards,Pick" {
		t.Fatalf("the first render is %s: a refused call was sent", labels)
	}
	for label, want := range map[string]string{
		"Head":  `"menuItems":[{"label":"Open","route":"a"}]`,
		"Rows":  `"data":{"0":{"label":"Ada Lovelace"}}`,
		"Cards": `"image":{"url":"https://x/p.png"}`,
		"Pick":  `"image":{"url":"https://x/1.png"}`,
	} {
		if got := mustComponent(t, r, label).Props; !strings.Contains(got, want) {
			t.Errorf("%s props %s, want %s", label, got, want)
		}
	}
	a.answer(r, intervaltest.Values{"Pick": map[string]any{"label": "One", "value": 1}})
	a.result()
}
