package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/interval-go/sdk/server/console"
)

func get(t *testing.T, h http.Handler, method, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Result()
}

// TestHandler serves index.html for every console URL, the embedded assets
// with their types, and 404 for anything else.
func TestHandler(t *testing.T) {
	h := console.Handler()
	for _, p := range []string{"/", "/actions/hello", "/actions/billing/refund?x=1", "/pages/customers", "/transactions/abc",
		"/history", "/queue", "/settings/keys", "/settings/users", "/settings/account", "/login"} {
		res := get(t, h, "GET", p)
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || !strings.Contains(string(body), `<script type="module" src="/assets/app.js">`) {
			t.Errorf("GET %s: %d %.80q", p, res.StatusCode, body)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self' 'sha256-") {
			t.Errorf("GET %s: CSP %q", p, csp)
		}
	}
	for p, typ := range map[string]string{
		"/assets/app.js":                         "text/javascript",
		"/assets/style.css":                      "text/css",
		"/assets/vendor/preact/preact.module.js": "text/javascript",
		"/assets/vendor/dompurify/purify.es.js":  "text/javascript",
		"/assets/vendor/htm/htm.module.js":       "text/javascript",
		"/assets/favicon.svg":                    "image/svg+xml",
		"/assets/vendor/preact/LICENSE":          "text/plain",
	} {
		res := get(t, h, "GET", p)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), typ) {
			t.Errorf("GET %s: %d %q, want %s", p, res.StatusCode, res.Header.Get("Content-Type"), typ)
		}
	}
	for _, p := range []string{"/assets/", "/assets/vendor/", "/assets/nope.js", "/api/console/routes", "/uploads/x/y", "/login/link", "/historyx", "/favicon.ico"} {
		if res := get(t, h, "GET", p); res.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, res.StatusCode)
		}
	}
	// A browser asking for an unknown page gets the app (its "Not found"
	// page), still with status 404; the server's own addresses do not.
	for p, app := range map[string]bool{"/nothing/here": true, "/historyx": true, "/api/console/nope": false, "/assets/nope.js": false, "/uploads/x/y": false, "/login/link": false} {
		req := httptest.NewRequest("GET", p, nil)
		req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		isApp := strings.Contains(rec.Body.String(), `<script type="module" src="/assets/app.js">`)
		if rec.Code != 404 || isApp != app {
			t.Errorf("GET %s (a browser): %d, app %v; want 404, app %v", p, rec.Code, isApp, app)
		}
		if app && !strings.Contains(rec.Header().Get("Content-Security-Policy"), "script-src 'self' 'sha256-") {
			t.Errorf("GET %s (a browser): CSP %q", p, rec.Header().Get("Content-Security-Policy"))
		}
	}
	if res := get(t, h, "POST", "/"); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", res.StatusCode)
	}
	if res := get(t, h, "HEAD", "/history"); res.StatusCode != 200 {
		t.Errorf("HEAD /history: %d", res.StatusCode)
	}
}

func TestIsAppPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/": true, "/actions/a/b": true, "/pages/x": true, "/transactions/1": true, "/history": true, "/queue": true, "/notifications": true,
		"/settings": true, "/settings/keys": true, "/login": true, "/login/link": false, "/api/auth/me": false,
		"/assets/app.js": false, "/queue2": false, "/websocket": false,
	} {
		if got := console.IsAppPath(p); got != want {
			t.Errorf("IsAppPath(%q) = %v, want %v", p, got, want)
		}
	}
}
