package interval

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// SearchResult is how one search result is shown.
type SearchResult struct {
	Label       string
	Description string
	Image       *Image
}

type wireSearchResult struct {
	Value       string     `json:"value"`
	Label       string     `json:"label"`
	Description string     `json:"description,omitempty"`
	Image       *wireImage `json:"image,omitempty"`
}

// SearchInput asks the operator to search for and pick a result; every
// query typed calls the action's search function.
type SearchInput[T any] struct {
	field[T]
	p       searchProps
	search  func(ctx context.Context, query string) ([]T, error)
	render  func(T) SearchResult
	batches map[string][]T
	batch   int
}

type searchProps struct {
	Results      []wireSearchResult `json:"results"`
	DefaultValue *string            `json:"defaultValue,omitempty"`
	Placeholder  string             `json:"placeholder,omitempty"`
	HelpText     string             `json:"helpText,omitempty"`
	Disabled     bool               `json:"disabled"`
}

// Search asks the operator to find and pick one T (SEARCH): each query
// they type calls search, whose results are shown with render. Run returns
// the picked result.
func Search[T any](src Source, label string, search func(ctx context.Context, query string) ([]T, error), render func(T) SearchResult) *SearchInput[T] {
	s := &SearchInput[T]{field: newField[T](sourceOf(src), "SEARCH", label), search: search, render: render,
		batches: map[string][]T{"0": nil}}
	if search == nil || render == nil {
		s.err = fmt.Errorf("interval: search %q needs a search and a render function", label)
	}
	s.stateful = true
	s.p.Results = []wireSearchResult{}
	s.props = func() any { return s.p }
	s.bind(s.lookup)
	s.onState = func(ctx context.Context, raw json.RawMessage) error {
		var st struct {
			QueryTerm *string `json:"queryTerm"`
		}
		if err := json.Unmarshal(raw, &st); err != nil || st.QueryTerm == nil {
			return fmt.Errorf("search state without queryTerm")
		}
		results, err := s.search(ctx, *st.QueryTerm)
		if err != nil {
			return fmt.Errorf("search %q: %w", label, err)
		}
		s.batch++
		s.p.Results = s.renderBatch(strconv.Itoa(s.batch), results)
		return nil
	}
	return s
}

func (s *SearchInput[T]) renderBatch(batch string, results []T) []wireSearchResult {
	s.batches[batch] = results
	out := make([]wireSearchResult, len(results))
	for i, r := range results {
		out[i] = s.wireResult(batch+":"+strconv.Itoa(i), r)
	}
	return out
}

func (s *SearchInput[T]) wireResult(value string, r T) wireSearchResult {
	sr := SearchResult{Label: fmt.Sprint(r)}
	if s.render != nil {
		sr = s.render(r)
	}
	return wireSearchResult{Value: value, Label: sr.Label, Description: sr.Description, Image: sr.Image.wire()}
}

func (s *SearchInput[T]) lookup(raw json.RawMessage) (T, string) {
	var zero T
	v, msg := decodeString(raw)
	if msg != "" {
		return zero, "Please choose a result."
	}
	batch, index, ok := strings.Cut(v, ":")
	results, found := s.batches[batch]
	i, err := strconv.Atoi(index)
	if !ok || !found || err != nil || i < 0 || i >= len(results) {
		return zero, "Please choose a result."
	}
	return results[i], ""
}

// addDefault registers v as a default result and returns its value.
func (s *SearchInput[T]) addDefault(v T) string {
	value := "default:" + strconv.Itoa(len(s.batches["default"]))
	s.batches["default"] = append(s.batches["default"], v)
	s.p.Results = append(s.p.Results, s.wireResult(value, v))
	return value
}

// InitialResults sets the results shown before the operator types.
func (s *SearchInput[T]) InitialResults(results ...T) *SearchInput[T] {
	s.p.Results = s.renderBatch("0", results)
	return s
}

// Default preselects v.
func (s *SearchInput[T]) Default(v T) *SearchInput[T] {
	d := s.addDefault(v)
	s.p.DefaultValue = &d
	return s
}

// Placeholder sets the placeholder of the empty search box.
func (s *SearchInput[T]) Placeholder(t string) *SearchInput[T] { s.p.Placeholder = t; return s }

// HelpText sets the text shown under the label.
func (s *SearchInput[T]) HelpText(t string) *SearchInput[T] { s.p.HelpText = t; return s }

// Disabled shows the search read-only.
func (s *SearchInput[T]) Disabled() *SearchInput[T] { s.p.Disabled = true; return s }

// Optional lets the operator pick nothing.
func (s *SearchInput[T]) Optional() *SearchInput[T] { s.optional = true; return s }

// Validate sets a check of the picked result.
func (s *SearchInput[T]) Validate(fn func(T) error) *SearchInput[T] { s.validate = fn; return s }

// Multiple lets the operator pick several results; Run then returns []T.
// Defaults of the list (ListInput.Default) are shown as results.
func (s *SearchInput[T]) Multiple() *ListInput[T] {
	return newList(s.component, s.lookup, func(v T) (any, bool) { return s.addDefault(v), true })
}

// Run shows the search alone and returns the picked result.
func (s *SearchInput[T]) Run(ctx context.Context) (T, error) { return s.run(ctx) }
