package markup

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// hostile holds what a hostile host might send; none of it may reach a
// browser.
var hostile = []string{
	`<img src=x onerror="alert(1)">`,
	`<a href="javascript:alert(1)">x</a>`,
	`<script>alert('xss')</script>`,
	`<svg onload=alert(1)><circle r=1 /></svg>`,
	`<iframe src="https://evil.example"></iframe>`,
	`<form action="https://evil.example"><input name=p><button>go</button></form>`,
	`<style>body{display:none}</style>`,
	`<p style="position:fixed;background:url(https://evil.example/x)">s</p>`,
	`<object data="x.swf"></object><embed src="x.swf">`,
	`<math><mi xlink:href="javascript:alert(1)">m</mi></math>`,
	`<details open ontoggle=alert(1)>d</details>`,
	`<a href="  JaVaScRiPt:alert(1)">x</a>`,
	`<img src="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">`,
	// Styles that would lay something over the console.
	`<a href="https://evil.example" style="position:fixed;inset:0;z-index:2147483647;display:block;width:100vw;height:100vh;opacity:0">x</a>`,
	`<p style="color: red; position: absolute; top: 0; left: 0; transform: scale(50); margin: -100px">x</p>`,
	`<span style="background-color: url(javascript:alert(1)); color: expression(alert(1))">x</span>`,
	`<div style="background-image: url(https://evil.example/x.png); font-size: 900px; line-height: 900px">x</div>`,
}

var forbidden = []string{"onerror", "onload", "onclick", "ontoggle", "javascript:", "<script", "<iframe", "<form", "<input", "<button", "<style", "<object", "<embed", "position:", "url(", "data:text/html", "alert(",
	"inset", "z-index", "display:", "width:", "height:", "opacity", "transform", "margin", "top:", "font-size", "line-height", "expression", "background-image"}

func assertSafe(t *testing.T, what, out string) {
	t.Helper()
	low := strings.ToLower(out)
	for _, f := range forbidden {
		if strings.Contains(low, f) {
			t.Errorf("%s: %q survives in %q", what, f, out)
		}
	}
}

func TestHTMLRemovesEveryHandlerAndScript(t *testing.T) {
	for _, h := range hostile {
		assertSafe(t, h, HTML(h))
	}
}

func TestHTMLKeepsFormatting(t *testing.T) {
	in := `<h3>Thanks!</h3><p>Order <b>ord_1</b> ships <i>tomorrow</i>.</p><img src=x alt="logo"><a href="https://example.com">Track</a><a href="/actions/hello">in</a><table><tr><td style="color: red">1</td></tr></table>`
	out := HTML(in)
	for _, want := range []string{"<h3>Thanks!</h3>", "<b>ord_1</b>", `<img src="x" alt="logo">`, `href="https://example.com"`, `target="_blank"`, `noopener`, `noreferrer`, `<a href="/actions/hello">in</a>`, "<td", "color: red"} {
		if !strings.Contains(out, want) {
			t.Errorf("HTML dropped %q: %s", want, out)
		}
	}
}

func TestMarkdownRendersGFMAndSanitizesRawHTML(t *testing.T) {
	src := "## Notes\n\n**bold** ~~old~~ `code` https://example.com\n\n| a | b |\n| - | - |\n| 1 | 2 |\n\n```go\nfmt.Println(1)\n```\n\n" + strings.Join(hostile, "\n\n") + "\n\n[bad](javascript:alert(1))"
	out := Markdown(src)
	for _, want := range []string{"<h2>Notes</h2>", "<strong>bold</strong>", "<del>old</del>", "<code>code</code>", `<a href="https://example.com"`, "<table>", `<code class="language-go">`} {
		if !strings.Contains(out, want) {
			t.Errorf("Markdown dropped %q: %s", want, out)
		}
	}
	assertSafe(t, "markdown", out)
}

func TestIOCallRewritesOnlyMarkup(t *testing.T) {
	in := `{"id":"c1","inputGroupKey":"k","toRender":[` +
		`{"methodName":"DISPLAY_HTML","label":"Preview","props":{"html":"<b>hi</b><img src=x onerror=alert(1)>"},"isStateful":false},` +
		`{"methodName":"DISPLAY_MARKDOWN","label":"**md** <img src=x onerror=alert(2)>","props":{"html":"<img src=x onerror=alert(3)>"}},` +
		`{"methodName":"INPUT_RICH_TEXT","label":"Body","props":{"defaultValue":"<p onclick=x()>p</p>"}},` +
		`{"methodName":"INPUT_TEXT","label":"<img src=x onerror=alert(4)>","props":{"placeholder":"<b>"}}` +
		`],"kind":"RENDER","choiceButtons":[{"label":"Go","value":"go"}]}`
	out, err := IOCall(in)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		ID            string
		InputGroupKey string
		Kind          string
		ChoiceButtons []map[string]string
		ToRender      []struct {
			MethodName string
			Label      string
			IsStateful *bool
			Props      map[string]any
		}
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if r.ID != "c1" || r.InputGroupKey != "k" || r.Kind != "RENDER" || len(r.ChoiceButtons) != 1 || len(r.ToRender) != 4 {
		t.Fatalf("fields lost: %s", out)
	}
	if got := r.ToRender[0].Props["html"]; got != "<b>hi</b><img src=\"x\">" {
		t.Errorf("display.html: %q", got)
	}
	if r.ToRender[0].IsStateful == nil {
		t.Error("isStateful lost")
	}
	if got := r.ToRender[1].Props["html"]; got != "<p><strong>md</strong> <img src=\"x\"></p>\n" {
		t.Errorf("display.markdown html: %q", got)
	}
	if r.ToRender[1].Label != "**md** <img src=x onerror=alert(2)>" {
		t.Errorf("markdown source changed: %q", r.ToRender[1].Label)
	}
	if got := r.ToRender[2].Props["defaultValue"]; got != "<p>p</p>" {
		t.Errorf("rich text default: %q", got)
	}
	// Text is rendered as text by the console: untouched.
	if r.ToRender[3].Label != "<img src=x onerror=alert(4)>" || r.ToRender[3].Props["placeholder"] != "<b>" {
		t.Errorf("plain text changed: %+v", r.ToRender[3])
	}
}

func TestIOCallWithoutMarkupUnchanged(t *testing.T) {
	in := `{"id":"c1","inputGroupKey":"k","toRender":[{"methodName":"INPUT_TEXT","label":"<b>","props":{"n":12345678901234567890}}],"kind":"RENDER"}`
	out, err := IOCall(in)
	if err != nil || out != in {
		t.Fatalf("IOCall = %q, %v; want the input unchanged", out, err)
	}
	if MayRewrite(in) {
		t.Fatal("MayRewrite of an IO call with nothing to rewrite")
	}
	// Each thing IOCall rewrites is seen, however it is spelt.
	for _, in := range []string{
		`{"toRender":[{"methodName":"DISPLAY_HTML","props":{"html":"<b>"}}]}`,
		`{"toRender":[{"methodName":"DISPLAY_MARKDOWN","label":"*x*"}]}`,
		`{"toRender":[{"methodName":"INPUT_RICH_TEXT","props":{"defaultValue":"<i>"}}]}`,
		`{"toRender":[{"methodName":"DISPLAY_\u0048TML","props":{"html":"<b>"}}]}`,
		`{"toRender":[{"methodName":"DISPLAY_LINK","props":{"href":"JavaScript:alert(1)"}}]}`,
		`{"toRender":[{"methodName":"DISPLAY_IMAGE","props":{"url":"data:text/html,x"}}]}`,
		`{"toRender":[{"methodName":"DISPLAY_LINK","props":{"href":"java\tscript:alert(1)"}}]}`,
	} {
		if !MayRewrite(in) {
			t.Errorf("MayRewrite(%s) = false", in)
		}
	}
}

func TestIOCallOddShapes(t *testing.T) {
	for _, in := range []string{
		`{"id":"c","toRender":[{"methodName":"DISPLAY_HTML","label":"x","props":null}]}`,
		`{"id":"c","toRender":[{"methodName":"DISPLAY_HTML","label":"x","props":{"html":42}}]}`,
		`{"id":"c","toRender":[{"methodName":"DISPLAY_MARKDOWN"}]}`,
		`{"id":"c","toRender":null}`,
	} {
		out, err := IOCall(in)
		if err != nil {
			t.Errorf("IOCall(%s): %v", in, err)
		}
		if !json.Valid([]byte(out)) || strings.Contains(out, `"html":42`) {
			t.Errorf("IOCall(%s) = %s", in, out)
		}
	}
	for _, in := range []string{`not json`, `{"toRender":{}}`, `{"toRender":[{"methodName":"DISPLAY_HTML","props":[1]}]}`} {
		if _, err := IOCall(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("IOCall(%s): err %v, want ErrMalformed", in, err)
		}
	}
}

func TestPageSanitizesChildren(t *testing.T) {
	in := `{"kind":"BASIC","title":"<b>T</b>","children":{"id":"p","inputGroupKey":"k","toRender":[{"methodName":"DISPLAY_HTML","label":"h","props":{"html":"<i>ok</i><svg onload=alert(1)>"}}],"kind":"RENDER"},"errors":[]}`
	out, err := Page(in)
	if err != nil {
		t.Fatal(err)
	}
	assertSafe(t, "page", out)
	if !strings.Contains(out, `"title":"<b>T</b>"`) || !strings.Contains(out, `<i>ok</i>`) || !strings.Contains(out, `"errors":[]`) {
		t.Errorf("page lost fields: %s", out)
	}
	if same, err := Page(`{"kind":"BASIC","errors":[]}`); err != nil || same != `{"kind":"BASIC","errors":[]}` {
		t.Errorf("a page without children: %q, %v", same, err)
	}
}

func FuzzIOCall(f *testing.F) {
	f.Add(`{"id":"c","toRender":[{"methodName":"DISPLAY_HTML","props":{"html":"<img src=x onerror=alert(1)>"}}]}`)
	f.Add(`{"id":"c","toRender":[{"methodName":"DISPLAY_MARKDOWN","label":"<script>x</script>"}]}`)
	f.Fuzz(func(t *testing.T, in string) {
		out, err := IOCall(in)
		if err != nil {
			return
		}
		if !json.Valid([]byte(out)) {
			t.Fatalf("IOCall(%q) = %q: not JSON", in, out)
		}
		if !MayRewrite(in) && out != in {
			t.Fatalf("IOCall(%q) = %q, changed though MayRewrite said it would not", in, out)
		}
	})
}

// SafeURL refuses what browsers would run as script or open as a document,
// however it is spelt, and nothing else.
func TestSafeURL(t *testing.T) {
	for _, u := range []string{
		"javascript:alert(1)", "JaVaScRiPt:alert(1)", "  javascript:alert(1)", "\x00\x1fjavascript:alert(1)",
		"java\tscript:alert(1)", "java\nscr\ript:alert(1)", "vbscript:msgbox(1)", "livescript:x",
		"data:text/html,<script>alert(1)</script>", "data:text/html;base64,PHNjcmlwdD4=", "DATA:application/xhtml+xml,x",
		"data:,hello",
	} {
		if SafeURL(u) {
			t.Errorf("SafeURL(%q) = true", u)
		}
	}
	for _, u := range []string{
		"https://example.com/a?b=javascript:1", "http://x", "mailto:a@example.com", "tel:+1", "/actions/hello",
		"relative/path", "?q=1", "#frag", "", "slack://open", "data:image/png;base64,iVBOR", "data:video/mp4;base64,AAAA",
		"javascript", "./javascript:alert(1)", "1javascript:alert(1)",
	} {
		if !SafeURL(u) {
			t.Errorf("SafeURL(%q) = false", u)
		}
	}
}

// Every place a host puts a URL the console opens or loads — a link, menu
// items (headings, tables, grids), table cells and their images, metadata
// and its images, grid items and their images, images, videos, options'
// images — loses a javascript: URL on the server; safe URLs, other props
// and large numbers are kept as they were.
func TestIOCallDropsScriptURLs(t *testing.T) {
	bad := []string{"javascript:alert(1)", " JAVASCRIPT:alert(1)", "java\\tscript:alert(1)", "\\u006aavascript:alert(1)", "data:text/html,<script>alert(1)</script>"}
	for _, js := range bad {
		comps := []string{
			`{"methodName":"DISPLAY_LINK","label":"l","props":{"href":"` + js + `","url":"` + js + `","theme":"danger"}}`,
			`{"methodName":"DISPLAY_IMAGE","label":"i","props":{"url":"` + js + `","alt":"a"}}`,
			`{"methodName":"DISPLAY_VIDEO","label":"v","props":{"url":"` + js + `"}}`,
			`{"methodName":"DISPLAY_HEADING","label":"h","props":{"menuItems":[{"label":"m","url":"` + js + `"},{"label":"ok","url":"https://example.com"}]}}`,
			`{"methodName":"DISPLAY_METADATA","label":"md","props":{"data":[{"label":"a","value":1,"url":"` + js + `","image":{"url":"` + js + `"}}]}}`,
			`{"methodName":"DISPLAY_TABLE","label":"t","props":{"data":[{"key":"0","data":{"id":12345678901234567890,"c":{"label":"x","url":"` + js + `","image":{"url":"` + js + `"}}},"menu":[{"label":"m","url":"` + js + `"}]}]}}`,
			`{"methodName":"DISPLAY_GRID","label":"g","props":{"data":[{"key":"0","data":{"label":"x","url":"` + js + `","image":{"url":"` + js + `"},"menu":[{"label":"m","url":"` + js + `"}]}}]}}`,
			`{"methodName":"SELECT_SINGLE","label":"s","props":{"options":[{"label":"o","value":"v","image":{"url":"` + js + `"},"imageUrl":"` + js + `"}]}}`,
		}
		in := `{"id":"1","inputGroupKey":"g","kind":"RENDER","toRender":[` + strings.Join(comps, ",") + `]}`
		out, err := IOCall(in)
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		low := strings.ToLower(out)
		for _, f := range []string{"javascript", "script:", "text/html", `\u006a`} {
			if strings.Contains(low, f) {
				t.Errorf("%q survives: %s", f, out)
			}
		}
		for _, want := range []string{`"url":"https://example.com"`, `12345678901234567890`, `"theme":"danger"`, `"alt":"a"`, `"value":"v"`} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: %q lost: %s", js, want, out)
			}
		}
	}
	// Safe URLs: unchanged, byte for byte.
	ok := `{"id":"1","inputGroupKey":"g","kind":"RENDER","toRender":[{"methodName":"DISPLAY_LINK","label":"l","props":{"href":"https://example.com/data:x?javascript","url":"/x"}}]}`
	if out, err := IOCall(ok); err != nil || out != ok {
		t.Fatalf("safe link rewritten: %s %v", out, err)
	}
}

// A page's own menu items lose script URLs too.
func TestPageDropsScriptURLs(t *testing.T) {
	in := `{"kind":"BASIC","title":"t","menuItems":[{"label":"evil","url":"javascript:alert(1)"},{"label":"ok","url":"https://example.com"}],"children":{"id":"1","inputGroupKey":"g","kind":"RENDER","toRender":[{"methodName":"DISPLAY_LINK","label":"l","props":{"href":"javascript:alert(2)"}}]}}`
	out, err := Page(in)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "javascript") || !strings.Contains(out, `"url":"https://example.com"`) || !strings.Contains(out, `"title":"t"`) {
		t.Fatalf("page %s", out)
	}
}

func TestResultHTML(t *testing.T) {
	for in, want := range map[string]string{
		`{"status":"SUCCESS","data":"<p>Hi <b>there</b></p><img src=x onerror=alert(1)>"}`: `<p>Hi <b>there</b></p><img src="x">`,
		`{"status":"SUCCESS","data":"  <ul><li>a</li></ul>"}`:                              `  <ul><li>a</li></ul>`,
		`{"status":"SUCCESS","data":"a < b and c > d"}`:                                    "",
		`{"status":"SUCCESS","data":{"html":"<p>x</p>"}}`:                                  "",
		`{"status":"SUCCESS","data":42}`:                                                   "",
		`not json <p>`:                                                                     "",
		`{"status":"SUCCESS","data":"\u003cp\u003eescaped\u003c/p\u003e"}`:                 `<p>escaped</p>`,
		`{"status":"SUCCESS","data":"<script>alert(1)</script>"}`:                          "",
	} {
		if got := ResultHTML(in); got != want {
			t.Errorf("ResultHTML(%s) = %q, want %q", in, got, want)
		}
	}
}
