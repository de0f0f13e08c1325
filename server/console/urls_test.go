package console_test

import (
	"context"
	"testing"

	"github.com/interval-go/sdk/server/console/internal/testhost"
)

// TestBrowserHostURLsNeutralized: a host's javascript: URLs in every place
// the console opens or loads a URL (link, heading menu items, table cells,
// their images and row menus, metadata and its images, grid items and their
// images, images, videos) give no link or source with a script URL, no
// style a host string wrote, and no CSP violation; the server drops such
// URLs, the console's own check (lib/markup.js safeURL, sanitize) is tested
// on its own below, without the server in front, on the real modules.
func TestBrowserHostURLsNeutralized(t *testing.T) {
	t.Parallel()
	const jsURL = "javascript:window.__pwned=1"
	img := map[string]any{"url": jsURL, "alt": "evil"}
	menu := []map[string]any{{"label": "Evil item", "url": jsURL}, {"label": "Docs", "url": "https://example.com/docs"}}
	action := testhost.Action{Slug: "urls", Name: "URLs", Handler: func(ctx context.Context, tx *testhost.Tx) (any, error) {
		_, err := tx.IO([]*testhost.Comp{
			{Method: "DISPLAY_HEADING", Label: "Heading", Props: map[string]any{"menuItems": menu}},
			{Method: "DISPLAY_LINK", Label: "Evil link", Props: map[string]any{"href": jsURL, "theme": "primary"}},
			{Method: "DISPLAY_IMAGE", Label: "Evil image", Props: map[string]any{"url": jsURL, "alt": "evil"}},
			{Method: "DISPLAY_VIDEO", Label: "Evil video", Props: map[string]any{"url": jsURL}},
			{Method: "DISPLAY_METADATA", Label: "Meta", Props: map[string]any{"layout": "grid", "data": []map[string]any{
				{"label": "Evil meta", "value": "v", "url": jsURL, "image": img}}}},
			{Method: "DISPLAY_TABLE", Label: "Table", Props: map[string]any{
				"columns": []map[string]any{{"label": "Cell", "accessorKey": "c"}},
				"data":    []map[string]any{{"key": "0", "data": map[string]any{"c": map[string]any{"label": "Evil cell", "url": jsURL, "image": img}}, "menu": menu}},
			}},
			{Method: "DISPLAY_GRID", Label: "Grid", Props: map[string]any{"data": []map[string]any{{"key": "0", "data": map[string]any{
				"label": "Evil tile", "url": jsURL,
				"image": map[string]any{"url": "https://example.invalid/x.png", "aspectRatio": "1; position: fixed; inset: 0; z-index: 9999", "fit": "cover; position: fixed; inset: 0"},
			}}}}},
		}, testhost.CallOptions{})
		return nil, err
	}}
	e := newEnv(t, []testhost.Action{action}, nil)
	recordCSP(e)
	e.acceptDialogs()
	e.login()
	e.navigate("/actions/urls")
	e.waitText(".grid-item", "Evil tile")
	e.waitText("body", "Evil cell")
	e.waitText("body", "Evil meta")
	e.waitText("body", "Evil link")
	if bad := eval[[]string](e, `[...document.querySelectorAll('[href], [src]')].map(n => n.getAttribute('href') || n.getAttribute('src')).filter(u => /^\s*javascript:/i.test(u))`); len(bad) > 0 {
		t.Fatalf("script URLs in the page: %q", bad)
	}
	if eval[bool](e, `[...document.querySelectorAll('[style]')].some(n => /position|inset|z-index/i.test(n.getAttribute('style')))`) {
		t.Fatalf("a host's string wrote a style: %q", eval[[]string](e, `[...document.querySelectorAll('.grid [style]')].map(n => n.getAttribute('style'))`))
	}
	if got := eval[string](e, `document.querySelector('.grid-img').style.aspectRatio`); got != "1.77778 / 1" {
		t.Fatalf("grid image aspect ratio %q, want the default", got)
	}
	// The safe menu item still links.
	e.waitJS(`document.querySelector('.io-heading a[href="https://example.com/docs"]')`, "the safe menu item")
	noViolations(e, "host URLs")
}

// TestBrowserConsoleURLAndHTMLPolicy checks the console's own wall, as if
// the server had let hostile input through: safeURL refuses script URLs
// however written, components given them render no link or source, a
// redirect to one is not followed, and sanitize (display.html, markdown,
// the rich text editor) keeps only the server policy's harmless styles,
// no <style>, no console class, no script URL.
func TestBrowserConsoleURLAndHTMLPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	recordCSP(e)
	e.login()
	eval[bool](e, `(window.__done = null, Promise.all([
		import('/assets/lib/markup.js'), import('/assets/io/displays.js'), import('/assets/io/table.js'), import('/assets/lib/ui.js'), import('preact'),
	]).then(([u, d, tb, ui, p]) => {
		const bad = ['javascript:alert(1)', ' JaVaScRiPt:alert(1)', 'java\tscript:alert(1)', '\x01javascript:alert(1)', 'vbscript:x', 'data:text/html,<script>x</script>', 'data:,x']
		const good = ['https://example.com', '/actions/x', 'mailto:a@example.com', 'data:image/png;base64,AAAA', 'relative?javascript:x']
		const errs = []
		for (const x of bad) if (u.safeURL(x) !== null) errs.push('safeURL accepted ' + JSON.stringify(x))
		for (const x of good) if (u.safeURL(x) !== x) errs.push('safeURL refused ' + JSON.stringify(x))
		const js = 'javascript:window.__pwned=1'
		const box = document.createElement('div')
		p.render(p.h('div', null,
			p.h(d.Link, { comp: { label: 'l' }, p: { href: js } }),
			p.h(d.Image, { p: { url: js } }),
			p.h(d.Video, { p: { url: js } }),
			p.h(tb.Cell, { v: { label: 'c', url: js, image: { url: js } } }),
			p.h(ui.ButtonItem, { item: { label: 'b', url: js } }),
		), box)
		for (const n of box.querySelectorAll('[href], [src]')) if (/javascript:/i.test(n.getAttribute('href') || n.getAttribute('src'))) errs.push('rendered ' + n.outerHTML)
		const h = u.sanitize('<p class="modal-backdrop" style="position:fixed;inset:0;z-index:9999;color:red;background-image:url(https://evil.example/x)">x</p>' +
			'<style>body{display:none}</style><a href="javascript:alert(1)">a</a><img src="javascript:alert(1)"><code class="language-go">c</code><b style="font-weight: bold; width: 100vw">b</b>')
		for (const f of ['position', 'inset', 'z-index', 'url(', '<style', 'modal', 'javascript', 'width']) if (h.toLowerCase().includes(f)) errs.push('sanitize kept ' + f + ': ' + h)
		for (const w of ['color: red', 'class="language-go"', 'font-weight: bold']) if (!h.includes(w)) errs.push('sanitize dropped ' + w + ': ' + h)
		window.__done = errs
		return true
	}).catch(err => { window.__done = ['failed: ' + err]; return true }), true)`)
	e.waitJS(`window.__done !== null`, "the console's modules")
	if errs := eval[[]string](e, `window.__done`); len(errs) > 0 {
		t.Fatalf("console policy: %q", errs)
	}
	noViolations(e, "console policy")
}
