package interval

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/interval-go/sdk/internal/protocol"
)

// display is the part shared by display components.
type display struct {
	component
}

// Run shows the display alone. With the server's append UI it returns as
// soon as the server accepted it; otherwise once the operator continues.
func (d *display) Run(ctx context.Context) error {
	_, err := d.io.run(ctx, []*component{&d.component}, nil, nil)
	return err
}

func newDisplay(c *ioClient, method, label string) display {
	return display{component{io: c, method: method, label: label, display: true}}
}

// HeadingDisplay shows a heading.
type HeadingDisplay struct {
	display
	p headingProps
}

type headingProps struct {
	Level       int          `json:"level,omitempty"`
	Description string       `json:"description,omitempty"`
	MenuItems   []buttonItem `json:"menuItems,omitempty"`
}

// Heading shows a heading (DISPLAY_HEADING).
func (d DisplayIO) Heading(label string) *HeadingDisplay {
	h := &HeadingDisplay{display: newDisplay(d.c, "DISPLAY_HEADING", label)}
	h.props = func() any { return h.p }
	return h
}

// Level sets the heading level: 2 (default), 3 or 4.
func (h *HeadingDisplay) Level(n int) *HeadingDisplay {
	if n >= 2 && n <= 4 {
		h.p.Level = n
	}
	return h
}

// Description sets a line of text under the heading.
func (h *HeadingDisplay) Description(s string) *HeadingDisplay { h.p.Description = s; return h }

// MenuItems adds buttons beside the heading.
func (h *HeadingDisplay) MenuItems(items ...MenuItem) *HeadingDisplay {
	h.p.MenuItems = wireMenu(items)
	return h
}

// MarkdownDisplay shows GitHub-flavoured markdown.
type MarkdownDisplay struct {
	display
}

// Markdown shows markdown text (DISPLAY_MARKDOWN); the console renders and
// sanitizes it.
func (d DisplayIO) Markdown(text string) *MarkdownDisplay {
	m := &MarkdownDisplay{display: newDisplay(d.c, "DISPLAY_MARKDOWN", text)}
	return m
}

// MenuItem is a button in a page's or heading's menu, or in a table row's
// or grid item's menu: it links to an action or page (Route with Params) or
// to a URL. An item with neither is shown disabled.
type MenuItem struct {
	Label  string
	Route  string
	Params map[string]any
	URL    string
	// Theme is ThemePrimary, ThemeSecondary or ThemeDanger in page and
	// heading menus; row and grid item menus only know ThemeDanger (other
	// themes are dropped there, as the console would refuse them).
	Theme    string
	Disabled bool
}

type buttonItem struct {
	Label    string         `json:"label"`
	Theme    string         `json:"theme,omitempty"`
	Route    string         `json:"route,omitempty"`
	URL      string         `json:"url,omitempty"`
	Params   map[string]any `json:"params,omitempty"`
	Disabled bool           `json:"disabled,omitempty"`
}

func wireMenu(items []MenuItem) []buttonItem {
	if len(items) == 0 {
		return nil
	}
	out := make([]buttonItem, len(items))
	for i, m := range items {
		out[i] = buttonItem{Label: m.Label, Theme: m.Theme, Route: m.Route, URL: m.URL, Params: m.Params, Disabled: m.Disabled}
		if !validTheme(m.Theme) {
			out[i].Theme = "" // an unknown theme would make the console refuse the menu
		}
		if m.Route == "" && m.URL == "" {
			out[i].Disabled = true // the protocol has no item without a target
		}
	}
	return out
}

// wireRowMenu is wireMenu for table rows and grid items, whose menu items
// take only the danger theme.
func wireRowMenu(items []MenuItem) []buttonItem {
	out := wireMenu(items)
	for i := range out {
		if out[i].Theme != ThemeDanger {
			out[i].Theme = ""
		}
	}
	return out
}

// CodeDisplay shows a block of source code.
type CodeDisplay struct {
	display
	p codeProps
}

type codeProps struct {
	Code     string `json:"code"`
	Language string `json:"language,omitempty"`
}

// Code shows code with syntax highlighting (DISPLAY_CODE).
func (d DisplayIO) Code(label, code string) *CodeDisplay {
	c := &CodeDisplay{display: newDisplay(d.c, "DISPLAY_CODE", label), p: codeProps{Code: code}}
	c.props = func() any { return c.p }
	return c
}

// Language sets the highlighting language ("go", "sql", …).
func (c *CodeDisplay) Language(lang string) *CodeDisplay { c.p.Language = lang; return c }

// HTMLDisplay shows HTML, sanitized by the console.
type HTMLDisplay struct {
	display
	p htmlProps
}

type htmlProps struct {
	HTML string `json:"html"`
}

// HTML shows an HTML fragment (DISPLAY_HTML); the console sanitizes it.
func (d DisplayIO) HTML(label, html string) *HTMLDisplay {
	h := &HTMLDisplay{display: newDisplay(d.c, "DISPLAY_HTML", label), p: htmlProps{HTML: html}}
	h.props = func() any { return h.p }
	return h
}

// ImageDisplay shows a picture.
type ImageDisplay struct {
	display
	p wireImage
}

// Image shows the image at url (DISPLAY_IMAGE); use ImageData for bytes.
func (d DisplayIO) Image(label, url string) *ImageDisplay {
	im := &ImageDisplay{display: newDisplay(d.c, "DISPLAY_IMAGE", label), p: wireImage{URL: url}}
	im.props = func() any { return im.p }
	return im
}

// ImageData shows an image from its bytes, sent as a data: URL.
func (d DisplayIO) ImageData(label string, data []byte) *ImageDisplay {
	return d.Image(label, dataURL(data, http.DetectContentType(data)))
}

func dataURL(data []byte, mime string) string {
	return "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(data)
}

// Alt sets the image's alternative text.
func (im *ImageDisplay) Alt(s string) *ImageDisplay { im.p.Alt = s; return im }

// Size sets the width and height: SizeThumbnail, SizeSmall, SizeMedium or
// SizeLarge (another value makes Run fail).
func (im *ImageDisplay) Size(s string) *ImageDisplay { return im.Width(s).Height(s) }

// Width sets the width (an image size name).
func (im *ImageDisplay) Width(s string) *ImageDisplay { im.setSize(&im.p.Width, s); return im }

// Height sets the height (an image size name).
func (im *ImageDisplay) Height(s string) *ImageDisplay { im.setSize(&im.p.Height, s); return im }

// setSize sets a width or height prop to s, an image size name; another
// value makes Run fail.
func (d *display) setSize(prop *string, s string) {
	*prop = s
	if s != "" && !validSize(s) && d.err == nil {
		d.err = badValue(d.method, d.label, "size", s, "thumbnail, small, medium or large")
	}
}

// VideoDisplay shows a video.
type VideoDisplay struct {
	display
	p videoProps
}

type videoProps struct {
	Width  string `json:"width,omitempty"`
	Height string `json:"height,omitempty"`
	URL    string `json:"url"`
	Loop   bool   `json:"loop,omitempty"`
	Muted  bool   `json:"muted,omitempty"`
}

// Video shows the video at url (DISPLAY_VIDEO).
func (d DisplayIO) Video(label, url string) *VideoDisplay {
	v := &VideoDisplay{display: newDisplay(d.c, "DISPLAY_VIDEO", label), p: videoProps{URL: url}}
	v.props = func() any { return v.p }
	return v
}

// Size sets the width and height (an image size name; another value makes
// Run fail).
func (v *VideoDisplay) Size(s string) *VideoDisplay { return v.Width(s).Height(s) }

// Width sets the width alone (an image size name).
func (v *VideoDisplay) Width(s string) *VideoDisplay { v.setSize(&v.p.Width, s); return v }

// Height sets the height alone (an image size name).
func (v *VideoDisplay) Height(s string) *VideoDisplay { v.setSize(&v.p.Height, s); return v }

// Loop plays the video in a loop.
func (v *VideoDisplay) Loop() *VideoDisplay { v.p.Loop = true; return v }

// Muted plays the video without sound.
func (v *VideoDisplay) Muted() *VideoDisplay { v.p.Muted = true; return v }

// LinkDisplay shows a link button.
type LinkDisplay struct {
	display
	p linkProps
}

type linkProps struct {
	Theme    string         `json:"theme,omitempty"`
	Href     string         `json:"href,omitempty"`
	URL      string         `json:"url,omitempty"`
	Download string         `json:"download,omitempty"`
	Route    string         `json:"route,omitempty"`
	Params   map[string]any `json:"params,omitempty"`
}

// Link shows a button linking to a URL (DISPLAY_LINK); use Route for an
// action or page of this organization.
func (d DisplayIO) Link(label, url string) *LinkDisplay {
	l := &LinkDisplay{display: newDisplay(d.c, "DISPLAY_LINK", label), p: linkProps{URL: url}}
	l.props = func() any { return l.p }
	return l
}

// Route links to the action or page with this slug, with params (nil for
// none), instead of a URL.
func (l *LinkDisplay) Route(slug string, params map[string]any) *LinkDisplay {
	l.p.URL, l.p.Href, l.p.Download = "", "", ""
	l.p.Route, l.p.Params = slug, params
	return l
}

// Href sets the URL with the legacy href key instead of url.
func (l *LinkDisplay) Href(url string) *LinkDisplay {
	l.p.Route, l.p.Params, l.p.URL = "", nil, ""
	l.p.Href = url
	return l
}

// Download makes a URL link download the file under this name.
func (l *LinkDisplay) Download(name string) *LinkDisplay { l.p.Download = name; return l }

// Theme sets the button theme: ThemePrimary, ThemeSecondary or ThemeDanger
// (another value makes Run fail).
func (l *LinkDisplay) Theme(t string) *LinkDisplay {
	l.p.Theme = t
	if !validTheme(t) && l.err == nil {
		l.err = badValue(l.method, l.label, "theme", t, "primary, secondary or danger")
	}
	return l
}

// ObjectDisplay shows nested data as a tree.
type ObjectDisplay struct {
	display
	p objectProps
}

type objectProps struct {
	Data any `json:"data"`
}

// Object shows any JSON-encodable value (maps, slices, structs) as a tree
// (DISPLAY_OBJECT); time.Time values travel as Dates.
func (d DisplayIO) Object(label string, data any) *ObjectDisplay {
	o := &ObjectDisplay{display: newDisplay(d.c, "DISPLAY_OBJECT", label), p: objectProps{Data: data}}
	o.props = func() any { return o.p }
	return o
}

// MetaItem is one labelled value of a Metadata display. Value may be a
// string, number, bool, time.Time, *big.Int or nil; URL or Route make it a
// link.
type MetaItem struct {
	Label  string
	Value  any
	URL    string
	Route  string
	Params map[string]any
	Image  *Image
	// Error is shown instead of the value.
	Error string
	// Lazy, when set, computes Value after the metadata is shown (the
	// official SDK's promise or function values): the item first appears
	// without a value, then the display is shown again with the value, or
	// with the error as Error. ctx ends when the client closes. In a page,
	// lazy values are computed before the layout is sent.
	Lazy func(ctx context.Context) (any, error)
}

type wireMetaItem struct {
	Label  string         `json:"label"`
	Value  any            `json:"value"`
	URL    string         `json:"url,omitempty"`
	Image  *wireImage     `json:"image,omitempty"`
	Route  string         `json:"route,omitempty"`
	Params map[string]any `json:"params,omitempty"`
	Error  string         `json:"error,omitempty"`
}

// MetadataDisplay shows labelled values.
type MetadataDisplay struct {
	display
	p     metadataProps
	items []MetaItem

	mu   sync.Mutex
	lazy map[int]wireMetaItem // resolved lazy items
}

type metadataProps struct {
	Data   []wireMetaItem `json:"data"`
	Layout string         `json:"layout"`
}

// Metadata layouts.
const (
	LayoutGrid = "grid"
	LayoutList = "list"
	LayoutCard = "card"
)

// Metadata shows labelled values (DISPLAY_METADATA) in a grid (default),
// list or card layout.
func (d DisplayIO) Metadata(label string, items ...MetaItem) *MetadataDisplay {
	m := &MetadataDisplay{display: newDisplay(d.c, "DISPLAY_METADATA", label), p: metadataProps{Layout: LayoutGrid},
		items: items, lazy: map[int]wireMetaItem{}}
	hasLazy := false
	for _, it := range items {
		hasLazy = hasLazy || it.Lazy != nil
	}
	// A lazy item not resolved yet is sent as the Node SDK sends a pending
	// promise: value null, annotated undefined in the superjson meta.
	m.rawProps = func() (any, json.RawMessage, error) {
		p := m.p
		p.Data = make([]wireMetaItem, len(m.items))
		var pending []string
		m.mu.Lock()
		for i, it := range m.items {
			w := wireMetaItem{Label: it.Label, Value: it.Value, URL: it.URL, Image: it.Image.wire(),
				Route: it.Route, Params: it.Params, Error: it.Error}
			if it.Lazy != nil {
				if r, ok := m.lazy[i]; ok {
					w.Value, w.Error = r.Value, r.Error
				} else {
					w.Value = nil
					pending = append(pending, "data."+strconv.Itoa(i)+".value")
				}
			}
			p.Data[i] = w
		}
		m.mu.Unlock()
		plain, meta, err := protocol.Serialize(p)
		if err != nil || len(pending) == 0 {
			return plain, meta, err
		}
		meta, err = addUndefined(meta, pending)
		return plain, meta, err
	}
	if hasLazy {
		m.shown = func(ctx context.Context, rerender func()) {
			var wg sync.WaitGroup
			for i, it := range m.items {
				if it.Lazy == nil {
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					m.resolve(ctx, i, it.Lazy)
					rerender()
				}()
			}
			wg.Wait()
		}
	}
	return m
}

// addUndefined adds "undefined" annotations at paths to superjson meta.
func addUndefined(meta json.RawMessage, paths []string) (json.RawMessage, error) {
	values := map[string]any{}
	if len(meta) > 0 {
		var m struct {
			Values map[string]any `json:"values"`
		}
		if err := json.Unmarshal(meta, &m); err != nil {
			return nil, fmt.Errorf("props meta: %w", err)
		}
		if m.Values != nil {
			values = m.Values
		}
	}
	for _, p := range paths {
		values[p] = []string{protocol.AnnotUndefined}
	}
	return json.Marshal(protocol.Meta{Values: values})
}

// resolve computes the lazy value of item i (a panic becomes its error).
func (m *MetadataDisplay) resolve(ctx context.Context, i int, fn func(context.Context) (any, error)) {
	var w wireMetaItem
	func() {
		defer func() {
			if r := recover(); r != nil {
				w = wireMetaItem{Error: fmt.Sprintf("panic: %v", r)}
			}
		}()
		v, err := fn(ctx)
		if err != nil {
			w.Error = err.Error()
			return
		}
		w.Value = v
	}()
	m.mu.Lock()
	m.lazy[i] = w
	m.mu.Unlock()
}

// resolveAll computes every lazy value not known yet, in place (pages send
// their layout once the values are known).
func (m *MetadataDisplay) resolveAll(ctx context.Context) {
	var wg sync.WaitGroup
	for i, it := range m.items {
		m.mu.Lock()
		_, done := m.lazy[i]
		m.mu.Unlock()
		if it.Lazy == nil || done {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.resolve(ctx, i, it.Lazy)
		}()
	}
	wg.Wait()
}

// Layout sets LayoutGrid, LayoutList or LayoutCard.
func (m *MetadataDisplay) Layout(layout string) *MetadataDisplay {
	switch layout {
	case LayoutGrid, LayoutList, LayoutCard:
		m.p.Layout = layout
	}
	return m
}

// ProgressStepsDisplay shows progress through numbered steps; it never
// waits for the operator.
type ProgressStepsDisplay struct {
	display
	p progressStepsProps
}

type progressStepsProps struct {
	Steps struct {
		Completed int `json:"completed"`
		Total     int `json:"total"`
	} `json:"steps"`
	CurrentStep string `json:"currentStep,omitempty"`
	SubTitle    string `json:"subTitle,omitempty"`
}

// ProgressSteps shows "completed of total" steps
// (DISPLAY_PROGRESS_STEPS); Run returns as soon as it is shown.
func (d DisplayIO) ProgressSteps(label string, completed, total int) *ProgressStepsDisplay {
	p := &ProgressStepsDisplay{display: newDisplay(d.c, "DISPLAY_PROGRESS_STEPS", label)}
	p.immediate = true
	p.p.Steps.Completed, p.p.Steps.Total = completed, total
	p.props = func() any { return p.p }
	return p
}

// CurrentStep names the step in progress.
func (p *ProgressStepsDisplay) CurrentStep(s string) *ProgressStepsDisplay {
	p.p.CurrentStep = s
	return p
}

// SubTitle sets a line under the label.
func (p *ProgressStepsDisplay) SubTitle(s string) *ProgressStepsDisplay { p.p.SubTitle = s; return p }

// ProgressIndeterminateDisplay shows a spinner; it never waits for the
// operator.
type ProgressIndeterminateDisplay struct {
	display
}

// ProgressIndeterminate shows a spinner with a label
// (DISPLAY_PROGRESS_INDETERMINATE); Run returns as soon as it is shown.
func (d DisplayIO) ProgressIndeterminate(label string) *ProgressIndeterminateDisplay {
	p := &ProgressIndeterminateDisplay{display: newDisplay(d.c, "DISPLAY_PROGRESS_INDETERMINATE", label)}
	p.immediate = true
	return p
}

// ProgressItem is one item of a ProgressThroughList display.
type ProgressItem struct {
	Label      string
	IsComplete bool
	// Result describes the outcome of a completed item.
	Result string
}

type wireProgressItem struct {
	Label             string  `json:"label"`
	IsComplete        bool    `json:"isComplete"`
	ResultDescription *string `json:"resultDescription"`
}

// ProgressThroughListDisplay shows a checklist of items.
type ProgressThroughListDisplay struct {
	display
	p struct {
		Items []wireProgressItem `json:"items"`
	}
}

// ProgressThroughList shows items with their completion
// (DISPLAY_PROGRESS_THROUGH_LIST).
func (d DisplayIO) ProgressThroughList(label string, items ...ProgressItem) *ProgressThroughListDisplay {
	p := &ProgressThroughListDisplay{display: newDisplay(d.c, "DISPLAY_PROGRESS_THROUGH_LIST", label)}
	p.p.Items = []wireProgressItem{}
	for _, it := range items {
		w := wireProgressItem{Label: it.Label, IsComplete: it.IsComplete}
		if it.Result != "" {
			r := it.Result
			w.ResultDescription = &r
		}
		p.p.Items = append(p.p.Items, w)
	}
	p.props = func() any { return p.p }
	return p
}
