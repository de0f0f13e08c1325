package interval

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
)

// GridItem is how one item of a Grid display is shown: a card with a
// label, description and image, linking to URL or Route, with a menu.
type GridItem struct {
	Label       string
	Description string
	Image       *GridImage
	Menu        []MenuItem
	URL         string
	Route       string
	Params      map[string]any
}

// GridImage is the picture of a grid item. Fit is "cover" or "contain";
// AspectRatio is width / height.
type GridImage struct {
	URL         string
	Alt         string
	Fit         string
	AspectRatio float64
}

type wireGridItem struct {
	Key  string `json:"key"`
	Data struct {
		Label       string `json:"label,omitempty"`
		Description string `json:"description,omitempty"`
		Image       *struct {
			URL         string  `json:"url,omitempty"`
			Alt         string  `json:"alt,omitempty"`
			Fit         string  `json:"fit,omitempty"`
			AspectRatio float64 `json:"aspectRatio,omitempty"`
		} `json:"image,omitempty"`
		Menu   []buttonItem   `json:"menu,omitempty"`
		URL    string         `json:"url,omitempty"`
		Route  string         `json:"route,omitempty"`
		Params map[string]any `json:"params,omitempty"`
	} `json:"data"`
	FilterValue string `json:"filterValue,omitempty"`
}

// GridDisplay shows rows of T as a grid of cards the operator can page and
// search.
type GridDisplay[T any] struct {
	display
	rows    []T
	render  func(T) GridItem
	engine  *tableEngine[T]
	state   TableState
	touched bool
	p       gridProps
	fetch   TableFetcher[T]
	fetched []T
	total   int
}

type gridProps struct {
	Data             []wireGridItem `json:"data"`
	IdealColumnWidth float64        `json:"idealColumnWidth,omitempty"`
	DefaultPageSize  int            `json:"defaultPageSize,omitempty"`
	HelpText         string         `json:"helpText,omitempty"`
	IsFilterable     bool           `json:"isFilterable"`
	TotalRecords     *int           `json:"totalRecords,omitempty"`
	IsAsync          bool           `json:"isAsync"`
}

// DisplayGrid shows rows as cards rendered by render (DISPLAY_GRID). The
// search box matches the rows' field values.
func DisplayGrid[T any](src Source, label string, rows []T, render func(T) GridItem) *GridDisplay[T] {
	g := &GridDisplay[T]{display: newDisplay(sourceOf(src), "DISPLAY_GRID", label), rows: rows, render: render}
	g.stateful = true
	g.p.IsFilterable = true
	cols, err := resolveColumns[T](nil, rows)
	if err != nil || render == nil {
		g.err = fmt.Errorf("interval: grid %q needs a render function", label)
	}
	g.engine = newTableEngine(rows, cols, nil)
	g.props = func() any {
		p := g.p
		total := len(g.rows)
		p.TotalRecords = &total
		if g.err != nil {
			return p
		}
		if g.fetch != nil {
			p.Data = []wireGridItem{}
			p.TotalRecords = nil
			if g.touched {
				p.TotalRecords = &g.total
				e := newTableEngine(g.fetched, g.engine.cols, nil)
				if len(e.cols) == 0 && len(g.fetched) > 0 {
					e.cols, _ = resolveColumns[T](nil, g.fetched)
				}
				items := &GridDisplay[T]{rows: g.fetched, render: g.render, engine: e}
				p.Data = items.items(nil, 0, len(g.fetched), true)
				for i := range p.Data {
					p.Data[i].Key = strconv.Itoa(g.state.Offset + i)
				}
			}
			return p
		}
		if !g.touched {
			p.Data = g.items(nil, 0, tableBufferSize, true)
			return p
		}
		idx, _ := g.engine.view(g.state.Query, "", "")
		p.Data = g.items(idx, g.state.Offset, g.state.Offset+min(g.state.PageSize*3, tableBufferSize), g.state.Query == "")
		return p
	}
	g.onState = func(ctx context.Context, raw json.RawMessage) error {
		s, _, err := decodeTableState(raw)
		if err != nil {
			return err
		}
		s = TableState{Offset: s.Offset, PageSize: s.PageSize, Query: s.Query}
		if g.fetch != nil {
			rows, total, err := g.fetch(ctx, s)
			if err != nil {
				return fmt.Errorf("grid %q data: %w", label, err)
			}
			g.fetched, g.total = rows, total
		}
		g.state, g.touched = s, true
		return nil
	}
	return g
}

// DisplayGridAsync shows a grid whose items fetch loads per view (offset,
// page size and search; SortColumn is always empty).
func DisplayGridAsync[T any](src Source, label string, fetch TableFetcher[T], render func(T) GridItem) *GridDisplay[T] {
	g := DisplayGrid[T](src, label, nil, render)
	if fetch == nil {
		g.err = fmt.Errorf("interval: grid %q: nil fetcher", label)
	}
	g.fetch = fetch
	g.p.IsAsync = true
	return g
}

func (g *GridDisplay[T]) items(idx []int32, from, to int, withFilter bool) []wireGridItem {
	from, to = viewWindow(idx, len(g.rows), from, to)
	out := make([]wireGridItem, 0, to-from)
	var buf []byte
	for p := from; p < to; p++ {
		i := viewRow(idx, p)
		it := g.render(g.rows[i])
		var w wireGridItem
		w.Key = strconv.Itoa(i)
		w.Data.Label, w.Data.Description = it.Label, it.Description
		w.Data.URL, w.Data.Route, w.Data.Params = it.URL, it.Route, it.Params
		w.Data.Menu = wireRowMenu(it.Menu)
		if im := it.Image; im != nil {
			w.Data.Image = &struct {
				URL         string  `json:"url,omitempty"`
				Alt         string  `json:"alt,omitempty"`
				Fit         string  `json:"fit,omitempty"`
				AspectRatio float64 `json:"aspectRatio,omitempty"`
			}{im.URL, im.Alt, im.Fit, im.AspectRatio}
			if !oneOf(im.Fit, "cover", "contain") {
				w.Data.Image.Fit = "" // unknown to the protocol
			}
		}
		if withFilter {
			w.FilterValue = g.engine.rowFilter(i, &buf)
		}
		out = append(out, w)
	}
	return out
}

// IdealColumnWidth sets the preferred card width in pixels.
func (g *GridDisplay[T]) IdealColumnWidth(px float64) *GridDisplay[T] {
	g.p.IdealColumnWidth = px
	return g
}

// PageSize sets the number of items per page.
func (g *GridDisplay[T]) PageSize(n int) *GridDisplay[T] { g.p.DefaultPageSize = max(n, 0); return g }

// HelpText sets the text shown under the label.
func (g *GridDisplay[T]) HelpText(s string) *GridDisplay[T] { g.p.HelpText = s; return g }

// Filterable turns the search box on (default) or off.
func (g *GridDisplay[T]) Filterable(on bool) *GridDisplay[T] { g.p.IsFilterable = on; return g }
