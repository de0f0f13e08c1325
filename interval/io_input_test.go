package interval_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

func TestInputSlider(t *testing.T) {
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		return tx.IO.Input.Slider("Level", 0, 10).Step(0.5).Default(5).HelpText("How loud").Run(ctx)
	})
	r := a.next()
	if got := jsonOf(t, props(t, r, "Level")); got != `{"defaultValue":5,"helpText":"How loud","max":10,"min":0,"step":0.5}` {
		t.Fatalf("props %s", got)
	}
	r = a.rejects(r, "Level", "loud", "Please choose a number.")
	r = a.rejects(r, "Level", 11, "Please choose a number between 0 and 10.")
	r = a.rejects(r, "Level", 2.25, "Please choose a multiple of 0.5 from 0.")
	a.answer(r, intervaltest.Values{"Level": 2.5})
	if res := a.result(); res.Data != 2.5 {
		t.Fatalf("result %v", res.Data)
	}
}

func TestInputURL(t *testing.T) {
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		u, err := tx.IO.Input.URL("Site").Placeholder("https://…").Run(ctx)
		if err != nil {
			return nil, err
		}
		return u.Host, nil
	})
	r := a.next()
	if got := jsonOf(t, props(t, r, "Site")); got != `{"allowedProtocols":["http","https"],"placeholder":"https://…"}` {
		t.Fatalf("props %s", got)
	}
	r = a.rejects(r, "Site", 42, "Please enter a URL.")
	r = a.rejects(r, "Site", "not a url", "Please enter a valid URL.")
	r = a.rejects(r, "Site", "ftp://example.com/x", "Please enter a URL starting with http, https.")
	a.answer(r, intervaltest.Values{"Site": "https://example.com/a?b=c"})
	if res := a.result(); res.Data != "example.com" {
		t.Fatalf("result %v", res.Data)
	}
}

func TestInputRichText(t *testing.T) {
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		return tx.IO.Input.RichText("Body").Default("<p>hi</p>").Run(ctx)
	})
	r := a.next()
	if c, _ := r.Component("Body"); c.MethodName != "INPUT_RICH_TEXT" || props(t, r, "Body")["defaultValue"] != "<p>hi</p>" {
		t.Fatalf("render %+v", c)
	}
	r = a.rejects(r, "Body", map[string]any{"html": 1}, "Please enter text.")
	a.answer(r, intervaltest.Values{"Body": "<b>x</b>"})
	if res := a.result(); res.Data != "<b>x</b>" {
		t.Fatalf("result %v", res.Data)
	}
}

func TestInputDateTimeKinds(t *testing.T) {
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		d := tx.IO.Input.Date("Day").Min(interval.Date{Year: 2024, Month: 1, Day: 1}).Max(interval.Date{Year: 2024, Month: 12, Day: 31})
		tm := tx.IO.Input.Time("At").Min(interval.TimeOfDay{Hour: 9}).Max(interval.TimeOfDay{Hour: 17})
		dt := tx.IO.Input.DateTime("When").Optional()
		if _, err := tx.IO.Group(d, tm, dt).Run(ctx); err != nil {
			return nil, err
		}
		return fmt.Sprint(d.Value(), " ", tm.Value(), " ", dt.Answered(), " ", d.Value().Time(time.UTC).Weekday()), nil
	})
	r := a.next()
	if got := jsonOf(t, props(t, r, "At")); got != `{"max":{"hour":17,"minute":0},"min":{"hour":9,"minute":0}}` {
		t.Fatalf("time props %s", got)
	}
	bad := []struct {
		label string
		value any
		msg   string
	}{
		{"Day", map[string]int{"year": 2024, "month": 2, "day": 30}, "Please enter a valid date."},
		{"Day", "2024-01-01", "Please enter a valid date."},
		{"Day", map[string]int{"year": 2023, "month": 12, "day": 31}, "Please choose a date on or after 2024-01-01."},
		{"At", map[string]int{"hour": 25, "minute": 0}, "Please enter a valid time."},
		{"At", map[string]int{"hour": 8, "minute": 59}, "Please choose a time at or after 09:00."},
	}
	good := intervaltest.Values{"Day": map[string]int{"year": 2024, "month": 2, "day": 29}, "At": map[string]int{"hour": 9, "minute": 5}}
	for _, b := range bad {
		v := intervaltest.Values{}
		for k, x := range good {
			v[k] = x
		}
		v[b.label] = b.value
		a.answer(r, v)
		r = a.next()
		if c, _ := r.Component(b.label); c.ValidationErrorMessage != b.msg {
			t.Fatalf("%s=%v: message %q, want %q", b.label, b.value, c.ValidationErrorMessage, b.msg)
		}
	}
	a.answer(r, good)
	if res := a.result(); res.Data != "2024-02-29 09:05 false Thursday" {
		t.Fatalf("result %v", res.Data)
	}
}

func mustComponent(t *testing.T, r *intervaltest.Render, label string) struct {
	MethodName string
	Props      string
	Meta       string
} {
	t.Helper()
	c, ok := r.Component(label)
	if !ok {
		t.Fatalf("no component %q", label)
	}
	return struct {
		MethodName string
		Props      string
		Meta       string
	}{c.MethodName, string(c.Props), string(c.PropsMeta)}
}

type lineItem struct {
	Name  string  `json:"name"`
	Qty   *int    `json:"qty"`
	Price float64 `json:"price"`
	Gift  bool    `json:"gift"`
}

func TestConfirmIdentityIsExclusive(t *testing.T) {
	errs := make(chan error, 1)
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		_, err := tx.IO.Group(tx.IO.ConfirmIdentity("Who"), tx.IO.Input.Text("x")).Run(ctx)
		errs <- err
		return tx.IO.ConfirmIdentity("Confirm it's you").GracePeriod(time.Minute).Run(ctx)
	})
	if err := <-errs; !errors.Is(err, interval.ErrExclusive) {
		t.Fatalf("group err %v", err)
	}
	r := a.next()
	if c := mustComponent(t, r, "Confirm it's you"); c.MethodName != "CONFIRM_IDENTITY" || c.Props != `{"gracePeriodMs":60000}` {
		t.Fatalf("render %+v", c)
	}
	r = a.rejects(r, "Confirm it's you", "yes", "Please confirm your identity.")
	a.answer(r, intervaltest.Values{"Confirm it's you": true})
	if res := a.result(); res.Data != true {
		t.Fatalf("result %v", res.Data)
	}
}

// Every optional input left empty reads as absent: Run of the group
// succeeds, Answered is false and Value is the zero value (nil for a URL,
// no instant for the date types), and a Form's optional fields stay zero or
// nil; an empty Default, Min or Max of a date input is not sent as a date
// of year 0.
func TestOptionalInputsLeftEmpty(t *testing.T) {
	type form struct {
		When  time.Time     `interval:"optional"`
		At    *time.Time    `interval:"label=At ptr"`
		Day   interval.Date `interval:"optional"`
		Slot  *interval.DateTime
		Hour  *interval.TimeOfDay
		Count *int
		Note  string `interval:"optional"`
	}
	type person struct{ Name string }
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		in := tx.IO.Input
		text := in.Text("Text").Optional()
		email := in.Email("Email").Optional()
		number := in.Number("Number").Optional()
		boolean := in.Boolean("Boolean").Optional()
		slider := in.Slider("Slider", 0, 10).Optional()
		u := in.URL("URL").Optional()
		rich := in.RichText("Rich").Optional()
		date := in.Date("Date").Optional().Default(interval.Date{}).Min(interval.Date{})
		tm := in.Time("Time").Optional()
		dt := in.DateTime("DateTime").Optional().DefaultTime(time.Time{}).Max(interval.DateTime{})
		single := tx.IO.Select.Single("Single", "a", "b").Optional()
		multiple := tx.IO.Select.Multiple("Multiple", "a", "b").Optional()
		table := interval.SelectTable(tx.IO, "Table", []person{{"Ada"}}).Optional()
		sheet := interval.Spreadsheet[person](tx.IO, "Sheet").Optional()
		search := interval.Search(tx.IO, "Search", func(ctx context.Context, q string) ([]person, error) { return nil, nil },
			func(p person) interval.SearchResult { return interval.SearchResult{Label: p.Name} }).Optional()
		file := in.File("File").Optional()
		if _, err := tx.IO.Group(text, email, number, boolean, slider, u, rich, date, tm, dt, single, multiple, table, sheet, search, file).Run(ctx); err != nil {
			return nil, err
		}
		var problems []string
		for _, c := range []struct {
			name     string
			answered bool
			value    any
		}{
			{"Text", text.Answered(), text.Value()}, {"Email", email.Answered(), email.Value()},
			{"Number", number.Answered(), number.Value()}, {"Boolean", boolean.Answered(), boolean.Value()},
			{"Slider", slider.Answered(), slider.Value()}, {"URL", u.Answered(), u.Value()},
			{"Rich", rich.Answered(), rich.Value()}, {"Date", date.Answered(), date.Value()},
			{"Time", tm.Answered(), tm.Value()}, {"DateTime", dt.Answered(), dt.Value()},
			{"Single", single.Answered(), single.Value()}, {"Multiple", multiple.Answered(), multiple.Value()},
			{"Table", table.Answered(), table.Value()}, {"Sheet", sheet.Answered(), sheet.Value()},
			{"Search", search.Answered(), search.Value()}, {"File", file.Answered(), file.Value()},
		} {
			if c.answered || (c.value != nil && !reflect.ValueOf(c.value).IsZero()) {
				problems = append(problems, fmt.Sprintf("%s answered=%v value=%#v", c.name, c.answered, c.value))
			}
		}
		if !date.Value().Time(nil).IsZero() || !dt.Value().Time(time.Local).IsZero() || !dt.Value().IsZero() {
			problems = append(problems, fmt.Sprintf("date times %v %v", date.Value().Time(nil), dt.Value().Time(time.Local)))
		}
		f, err := interval.Form[form](tx.IO, "").Run(ctx)
		if err != nil {
			return nil, err
		}
		if !reflect.ValueOf(f).IsZero() {
			problems = append(problems, fmt.Sprintf("form %+v", f))
		}
		return strings.Join(problems, "; "), nil
	})
	r := a.next()
	for _, label := range []string{"Date", "DateTime"} {
		if p := props(t, r, label); len(p) != 0 {
			t.Errorf("%s props %v: an empty default or bound was sent", label, p)
		}
	}
	a.answer(r, nil) // every value null: nothing entered
	r = a.next()
	a.answer(r, nil)
	if res := a.result(); res.Data != "" {
		t.Fatalf("optional inputs left empty: %v", res.Data)
	}
}
