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
