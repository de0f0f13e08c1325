package interval_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

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
