package interval_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
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

func TestInputFile(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "a,b\n1,2\n") }))
	defer srv.Close()
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		f, err := tx.IO.Input.File("Data").AllowedExtensions(".csv").Run(ctx)
		if err != nil {
			return nil, err
		}
		b, err := f.Bytes(ctx, 1<<20)
		if err != nil {
			return nil, err
		}
		return fmt.Sprintf("%s %s %d %s %q", f.Name, f.Extension(), f.Size, f.LastModified.Format(time.RFC3339), b), nil
	})
	r := a.next()
	c, _ := r.Component("Data")
	if !c.IsStateful || string(c.Props) != `{"allowedExtensions":[".csv"]}` {
		t.Fatalf("render %+v %s", c, c.Props)
	}
	file := func(name string) map[string]any {
		return map[string]any{"name": name, "type": "text/csv", "size": 8, "lastModified": 1704067200000, "url": srv.URL + "/f"}
	}
	r = a.rejects(r, "Data", file("virus.exe"), "Please upload a file of type .csv.")
	r = a.rejects(r, "Data", map[string]any{"name": "x.csv"}, "Please upload a file.")
	a.answer(r, intervaltest.Values{"Data": file("Report.CSV")})
	if res := a.result(); res.Data != `Report.CSV .CSV 8 2024-01-01T00:00:00Z "a,b\n1,2\n"` {
		t.Fatalf("result %v", res.Data)
	}
}

func TestInputFileMultiplePresigned(t *testing.T) {
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		files, err := tx.IO.Input.File("Docs").PresignedURLs(func(ctx context.Context, name, typ string) (string, string, error) {
			if name == "bad" {
				return "", "", errors.New("no")
			}
			return "https://s3/up/" + name, "https://s3/down/" + name, nil
		}).Multiple().Run(ctx)
		return len(files), err
	})
	r := a.next()
	c, _ := r.Component("Docs")
	if !c.IsMultiple || string(c.Props) != `{"fileUrls":null}` || jsonOf(t, c.MultipleProps) != `{}` {
		t.Fatalf("render %+v %s", c, c.Props)
	}
	// A failing presigner is logged and changes nothing; a good state
	// re-renders with the URLs.
	a.setState(r, intervaltest.Values{"Docs": map[string]any{"files": []map[string]string{{"name": "bad", "type": "x"}}}})
	a.setState(r, intervaltest.Values{"Docs": map[string]any{"files": []map[string]string{{"name": "a.pdf", "type": "application/pdf"}}}})
	r = a.next()
	if got := string(mustComponent(t, r, "Docs").Props); got != `{"fileUrls":[{"uploadUrl":"https://s3/up/a.pdf","downloadUrl":"https://s3/down/a.pdf"}]}` {
		t.Fatalf("props after state %s", got)
	}
	r = a.rejects(r, "Docs", "a.pdf", "Please choose one or more values.")
	r = a.rejects(r, "Docs", []any{map[string]any{"name": "a"}}, "Please upload a file.")
	f := map[string]any{"name": "a.pdf", "type": "application/pdf", "size": 1, "lastModified": 0, "url": "https://s3/down/a.pdf"}
	a.answer(r, intervaltest.Values{"Docs": []any{f, f}})
	if res := a.result(); res.Data != float64(2) {
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

func TestInputSpreadsheet(t *testing.T) {
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		rows, err := interval.Spreadsheet[lineItem](tx.IO, "Items").Default(lineItem{Name: "pen", Price: 1.5}).Run(ctx)
		if err != nil {
			return nil, err
		}
		return fmt.Sprintf("%d %s %v %v", len(rows), rows[0].Name, rows[0].Qty == nil, *rows[1].Qty), nil
	})
	r := a.next()
	if got := mustComponent(t, r, "Items").Props; got != `{"columns":{"name":"string","qty":"number?","price":"number","gift":"boolean"},"defaultValue":[{"gift":false,"name":"pen","price":1.5,"qty":null}]}` {
		t.Fatalf("props %s", got)
	}
	r = a.rejects(r, "Items", "x", "Please enter the rows as a table.")
	r = a.rejects(r, "Items", []any{map[string]any{"price": 1, "gift": true}}, "Row 1: name is required.")
	r = a.rejects(r, "Items", []any{map[string]any{"name": "a", "price": "cheap", "gift": true}}, "Row 1: price must be a number.")
	a.answer(r, intervaltest.Values{"Items": []any{
		map[string]any{"name": "a", "price": 1, "gift": true, "qty": nil},
		map[string]any{"name": "b", "price": 2.5, "gift": false, "qty": 3},
	}})
	if res := a.result(); res.Data != "2 a true 3" {
		t.Fatalf("result %v", res.Data)
	}
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

func TestSearch(t *testing.T) {
	type user struct {
		ID   int
		Name string
	}
	all := []user{{1, "Ada"}, {2, "Alan"}, {3, "Grace"}}
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		u, err := interval.Search(tx.IO, "User", func(ctx context.Context, q string) ([]user, error) {
			if q == "fail" {
				return nil, errors.New("backend down")
			}
			var out []user
			for _, u := range all {
				if len(q) > 0 && u.Name[0] == q[0] {
					out = append(out, u)
				}
			}
			return out, nil
		}, func(u user) interval.SearchResult {
			return interval.SearchResult{Label: u.Name, Description: fmt.Sprintf("#%d", u.ID)}
		}).InitialResults(all[2]).Placeholder("Name").Run(ctx)
		return u.ID, err
	})
	r := a.next()
	if got := mustComponent(t, r, "User").Props; got != `{"results":[{"value":"0:0","label":"Grace","description":"#3"}],"placeholder":"Name","disabled":false}` {
		t.Fatalf("props %s", got)
	}
	a.setState(r, intervaltest.Values{"User": map[string]any{"queryTerm": "fail"}}) // logged, ignored
	a.setState(r, intervaltest.Values{"User": map[string]any{"unexpected": true}})  // bad state, ignored
	a.setState(r, intervaltest.Values{"User": map[string]any{"queryTerm": "A"}})
	r = a.next()
	if got := mustComponent(t, r, "User").Props; got != `{"results":[{"value":"1:0","label":"Ada","description":"#1"},{"value":"1:1","label":"Alan","description":"#2"}],"placeholder":"Name","disabled":false}` {
		t.Fatalf("props after search %s", got)
	}
	r = a.rejects(r, "User", "7:0", "Please choose a result.")
	r = a.rejects(r, "User", 12, "Please choose a result.")
	a.answer(r, intervaltest.Values{"User": "1:1"})
	if res := a.result(); res.Data != float64(2) {
		t.Fatalf("result %v", res.Data)
	}
}

func TestSearchMultipleDefaults(t *testing.T) {
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		return interval.Search(tx.IO, "Tags", func(ctx context.Context, q string) ([]string, error) {
			return []string{q + "1", q + "2"}, nil
		}, func(s string) interval.SearchResult { return interval.SearchResult{Label: s} }).Multiple().Default("go").Run(ctx)
	})
	r := a.next()
	c, _ := r.Component("Tags")
	if !c.IsMultiple || jsonOf(t, c.MultipleProps) != `{"defaultValue":["default:0"]}` ||
		string(c.Props) != `{"results":[{"value":"default:0","label":"go"}],"disabled":false}` {
		t.Fatalf("render %s %s", jsonOf(t, c.MultipleProps), c.Props)
	}
	a.setState(r, intervaltest.Values{"Tags": map[string]any{"queryTerm": "x"}})
	r = a.next()
	a.answer(r, intervaltest.Values{"Tags": []string{"default:0", "1:1"}})
	if res := a.result(); jsonOf(t, res.Data) != `["go","x2"]` {
		t.Fatalf("result %v", res.Data)
	}
}
