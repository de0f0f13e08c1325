package interval

import "context"

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
