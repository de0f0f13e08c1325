// Package console serves the Interval web console: a single-page app written
// as plain ES modules (Preact + htm, DOMPurify, highlight.js and Squire vendored under
// assets/vendor) and embedded in the binary with go:embed, so running the
// server needs no Node and no build step.
//
// Handler serves the static files under /assets/ and index.html for every
// console URL of server/API.md; the app talks to the server through the
// console HTTP API and the /websocket browser socket.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

//go:embed index.html assets
var files embed.FS

// assets is the assets directory, served under /assets/.
var assets = func() fs.FS {
	sub, err := fs.Sub(files, "assets")
	if err != nil {
		panic(err)
	}
	return sub
}()

var indexHTML = func() []byte {
	b, err := files.ReadFile("index.html")
	if err != nil {
		panic(err)
	}
	return b
}()

// startTime stands in for the modification time of the embedded files, which
// embed does not record.
var startTime = time.Now()

// appPrefixes are the console URLs answered with index.html (API.md,
// "Console URLs"). "/" itself is matched exactly.
var appPrefixes = []string{
	"/actions/", "/pages/", "/transactions/", "/history", "/queue",
	"/settings", "/login", "/notifications", "/audit",
}

// IsAppPath reports whether path is a console URL that Handler answers with
// the single-page app's index.html.
func IsAppPath(path string) bool {
	if path == "/" || path == "" {
		return true
	}
	if path == "/login/link" {
		return false // the server's one-time login link
	}
	for _, p := range appPrefixes {
		if path == p || strings.HasPrefix(path, p) {
			if strings.HasSuffix(p, "/") || len(path) == len(p) || path[len(p)] == '/' {
				return true
			}
		}
	}
	return false
}

// Handler returns the handler for the console: GET and HEAD of /assets/…
// (the embedded files) and of every console URL (index.html). Any other path
// answers 404, so the server can mount it as a fallback after its own routes;
// for a browser asking for a page there, the 404's body is the app, which
// shows its "Not found" page.
func Handler() http.Handler {
	static := http.StripPrefix("/assets/", http.FileServerFS(assets))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if strings.HasPrefix(r.URL.Path, "/assets/") {
			if strings.HasSuffix(r.URL.Path, "/") {
				http.NotFound(w, r) // no directory listings
				return
			}
			// Assets are not fingerprinted: revalidate, cheaply (Last-Modified).
			h.Set("Cache-Control", "no-cache")
			static.ServeHTTP(w, r)
			return
		}
		h.Set("Cache-Control", "no-cache")
		if !IsAppPath(r.URL.Path) {
			// A browser that opens a mistyped console address gets the
			// app's own "Not found" page (with its navigation), still
			// with status 404; anything else gets a plain 404.
			if !wantsPage(r) {
				http.NotFound(w, r)
				return
			}
			serveIndex(w, r, http.StatusNotFound)
			return
		}
		setIndexHeaders(h)
		http.ServeContent(w, r, "index.html", startTime, bytes.NewReader(indexHTML))
	})
}

// wantsPage reports whether r is a browser asking for a page (Accept
// text/html) at an address that is not the server's own (API, uploads,
// host socket, login links, assets).
func wantsPage(r *http.Request) bool {
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		return false
	}
	for _, p := range []string{"/api/", "/assets/", "/uploads/", "/login/link", "/websocket"} {
		if strings.HasPrefix(r.URL.Path, p) {
			return false
		}
	}
	return true
}

func setIndexHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", csp)
}

// serveIndex writes index.html with status code (HEAD: headers only).
func serveIndex(w http.ResponseWriter, r *http.Request, code int) {
	setIndexHeaders(w.Header())
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		w.Write(indexHTML)
	}
}

// csp allows the app's own scripts and the import map only; images, media
// and links may point anywhere (hosts send arbitrary URLs and data: images),
// and uploads may go to a host's presigned https URLs.
var csp = "default-src 'self'; script-src 'self' '" + importMapHash() + "'; " +
	"style-src 'self' 'unsafe-inline'; img-src * data: blob:; media-src * data: blob:; " +
	"connect-src 'self' ws: wss: https:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// importMapHash is the CSP source of index.html's inline import map.
func importMapHash() string {
	const open, end = `<script type="importmap">`, `</script>`
	s := string(indexHTML)
	i := strings.Index(s, open)
	if i < 0 {
		panic("console: index.html has no import map")
	}
	s = s[i+len(open):]
	s = s[:strings.Index(s, end)]
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}
