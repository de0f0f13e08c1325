// Package markup makes a host's HTML and markdown safe for the console
// before they reach any browser.
//
// A host may send any HTML in display.html, in the raw HTML of
// display.markdown and in a rich text input's default value. The console
// sanitizes in the browser too (DOMPurify), but a browser that only parses
// an element with an inline event handler, even in an inert document,
// already reports a Content Security Policy violation (Chromium 156 does).
// So the server sanitizes first, with bluemonday, and renders markdown with
// goldmark: what a browser receives never holds a script, an event handler
// or a javascript: URL.
package markup

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	stdhtml "html"
	"regexp"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer/html"
)

// ErrMalformed is returned for an IO call or page layout that is not the
// JSON shape of the protocol.
var ErrMalformed = errors.New("markup: malformed")

var (
	policyOnce sync.Once
	policy     *bluemonday.Policy
	md         goldmark.Markdown
)

func setup() {
	policyOnce.Do(func() {
		p := bluemonday.UGCPolicy()
		// Links that leave the console open in a new tab, without the
		// console's address as referrer or window.opener.
		p.RequireNoFollowOnLinks(false)
		p.AddTargetBlankToFullyQualifiedLinks(true)
		p.RequireNoReferrerOnFullyQualifiedLinks(true)
		p.AllowDataURIImages()
		p.AllowAttrs("class").Matching(regexp.MustCompile(`^language-[\w+#.-]{1,40}$`)).OnElements("code")
		// The inline styles of an HTML email preview, limited to what
		// cannot draw outside its box or load anything.
		p.AllowStyles("color", "background-color", "text-align", "font-weight", "font-style",
			"text-decoration", "vertical-align", "white-space").Globally()
		policy = p
		md = goldmark.New(
			goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify),
			// Raw HTML is kept by goldmark and filtered by the policy, as
			// for display.html.
			goldmark.WithRendererOptions(html.WithUnsafe()),
		)
	})
}

// HTML returns s with everything but safe formatting removed: no script,
// style, form control, event handler or javascript: URL survives.
func HTML(s string) string {
	setup()
	return policy.Sanitize(s)
}

// Markdown renders GitHub-flavoured markdown (tables, strikethrough,
// autolinks) to sanitized HTML. Raw HTML in src goes through [HTML]'s
// policy.
func Markdown(src string) string {
	setup()
	var b bytes.Buffer
	if err := md.Convert([]byte(src), &b); err != nil {
		// goldmark fails only when writing to the buffer fails; keep the
		// text readable rather than lose it.
		return "<p>" + stdhtml.EscapeString(src) + "</p>"
	}
	return policy.Sanitize(b.String())
}

// IOCall returns the ioCall string of SEND_IO_CALL as the console gets it:
// every URL SafeURL refuses, under a URL prop (href, url, imageUrl, src) at
// any depth of any component's props, made "" (no link, image or video);
// display.html's props.html sanitized, display.markdown given props.html
// (its label rendered and sanitized; the label stays the source) and a rich
// text input's props.defaultValue sanitized. Everything else is kept; an
// IO call with none of these components is returned unchanged.
func IOCall(ioCall string) (string, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(ioCall), &top); err != nil {
		return "", fmt.Errorf("%w: ioCall: %v", ErrMalformed, err)
	}
	changed, err := rewriteRender(top)
	if err != nil || !changed {
		return ioCall, err
	}
	b, err := marshal(top)
	return string(b), err
}

// MayRewrite reports whether IOCall may change ioCall: false when it holds
// none of the components IOCall rewrites (display.html, display.markdown,
// a rich text input) and no string a URL prop could be refused for, as a
// scan of the text shows (anything written with \u escapes counts as
// possible). With false, IOCall returns a well-formed ioCall unchanged, so
// a caller that checked its form already may skip it.
func MayRewrite(ioCall string) bool {
	if mayHoldUnsafeURL([]byte(ioCall)) {
		return true
	}
	for _, m := range []string{`"DISPLAY_HTML"`, `"DISPLAY_MARKDOWN"`, `"INPUT_RICH_TEXT"`} {
		if strings.Contains(ioCall, m) {
			return true
		}
	}
	return false
}

// Page returns the page string of SEND_PAGE with its children, and the
// URLs of its own menu items, made safe as [IOCall] does.
func Page(page string) (string, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(page), &top); err != nil {
		return "", fmt.Errorf("%w: page: %v", ErrMalformed, err)
	}
	// The layout's own URLs (menu items) first, then its children.
	changed := false
	for k, v := range top {
		if k == "children" {
			continue
		}
		nv, did, err := dropUnsafeURLs(v)
		if err != nil {
			return "", fmt.Errorf("page %s: %w", k, err)
		}
		if did {
			top[k], changed = nv, true
		}
	}
	if raw, ok := top["children"]; ok && !isNull(raw) {
		var children map[string]json.RawMessage
		if err := json.Unmarshal(raw, &children); err != nil {
			return "", fmt.Errorf("%w: page children: %v", ErrMalformed, err)
		}
		did, err := rewriteRender(children)
		if err != nil {
			return "", err
		}
		if did {
			if top["children"], err = marshal(children); err != nil {
				return "", err
			}
			changed = true
		}
	}
	if !changed {
		return page, nil
	}
	b, err := marshal(top)
	return string(b), err
}

func rewriteRender(r map[string]json.RawMessage) (bool, error) {
	raw, ok := r["toRender"]
	if !ok || isNull(raw) {
		return false, nil
	}
	var comps []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &comps); err != nil {
		return false, fmt.Errorf("%w: toRender: %v", ErrMalformed, err)
	}
	changed := false
	for i, c := range comps {
		var method string
		json.Unmarshal(c["methodName"], &method) // a missing name rewrites nothing
		var err error
		var did bool
		if p, ok := c["props"]; ok {
			var np json.RawMessage
			if np, did, err = dropUnsafeURLs(p); err != nil {
				return false, fmt.Errorf("component %d (%s): props: %w", i, method, err)
			} else if did {
				c["props"], changed = np, true
			}
		}
		switch method {
		case "DISPLAY_HTML":
			did, err = rewriteProp(c, "html", func(s string) string { return HTML(s) })
		case "DISPLAY_MARKDOWN":
			var label string
			json.Unmarshal(c["label"], &label)
			did, err = setProp(c, "html", Markdown(label))
		case "INPUT_RICH_TEXT":
			did, err = rewriteProp(c, "defaultValue", func(s string) string { return HTML(s) })
		}
		if err != nil {
			return false, fmt.Errorf("component %d (%s): %w", i, method, err)
		}
		changed = changed || did
	}
	if !changed {
		return false, nil
	}
	b, err := marshal(comps)
	if err != nil {
		return false, err
	}
	r["toRender"] = b
	return true, nil
}

func props(c map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	p := map[string]json.RawMessage{}
	if raw, ok := c["props"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("%w: props: %v", ErrMalformed, err)
		}
	}
	return p, nil
}

// rewriteProp replaces the string prop name with f of it. A prop that is
// absent or not a string is removed (the console would have shown
// nothing for it).
func rewriteProp(c map[string]json.RawMessage, name string, f func(string) string) (bool, error) {
	p, err := props(c)
	if err != nil {
		return false, err
	}
	raw, ok := p[name]
	if !ok {
		return false, nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		delete(p, name)
	} else if p[name], err = marshal(f(s)); err != nil {
		return false, err
	}
	c["props"], err = marshal(p)
	return true, err
}

func setProp(c map[string]json.RawMessage, name, value string) (bool, error) {
	p, err := props(c)
	if err != nil {
		return false, err
	}
	if p[name], err = marshal(value); err != nil {
		return false, err
	}
	c["props"], err = marshal(p)
	return true, err
}

func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// marshal encodes v without escaping <, > and & (the console reads JSON,
// not HTML) and without encoding/json's trailing newline.
func marshal(v any) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// looksHTML matches text that starts with an element a rich text editor or
// a template writes: such a result is shown formatted.
var looksHTML = regexp.MustCompile(`(?is)^\s*<(p|div|h[1-6]|ul|ol|li|blockquote|pre|table|b|strong|i|em|u|s|a|br|hr|span|img)\b[^>]*>`)

// ResultHTML returns, for an action result (the JSON text of
// MARK_TRANSACTION_COMPLETE's result, {status, data, meta}) whose data is
// an HTML string, that HTML sanitized by [HTML]'s policy; "" for any other
// result.
func ResultHTML(result string) string {
	if !strings.Contains(result, "<") && !strings.Contains(result, `\u003c`) { // JSON may escape it
		return ""
	}
	var r struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal([]byte(result), &r) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(r.Data, &s) != nil || !looksHTML.MatchString(s) {
		return ""
	}
	return HTML(s)
}
