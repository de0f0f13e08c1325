package server

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Session cookies are HTTP-only and SameSite=Lax always, and Secure when
// the console is served over https: a public URL with https, or (without
// a public URL) a TLS request. Password logins and logouts set the same.
func TestSessionCookieFlags(t *testing.T) {
	for _, c := range []struct {
		name, public string
		tls, secure  bool
	}{
		{"http public URL", "http://127.0.0.1:8080", false, false},
		{"https public URL", "https://console.example.com", false, true},
		{"no public URL, plain request", "", false, false},
		{"no public URL, TLS request", "", true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := New(context.Background(), Options{DataDir: t.TempDir(), PublicURL: c.public})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			link := s.FirstRunLoginLink()
			u, err := url.Parse(link)
			if err != nil || link == "" {
				t.Fatalf("login link %q: %v", link, err)
			}
			serve := func(req *http.Request) *http.Cookie {
				t.Helper()
				if c.tls {
					req.TLS = &tls.ConnectionState{}
				}
				w := httptest.NewRecorder()
				s.ServeHTTP(w, req)
				for _, ck := range w.Result().Cookies() {
					if ck.Name == SessionCookie {
						return ck
					}
				}
				t.Fatalf("%s %s: HTTP %d, no session cookie", req.Method, req.URL.Path, w.Code)
				return nil
			}
			check := func(what string, ck *http.Cookie) {
				t.Helper()
				if !ck.HttpOnly || ck.Secure != c.secure || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
					t.Fatalf("%s: cookie HttpOnly=%v Secure=%v SameSite=%v Path=%q, want HttpOnly, Secure=%v, Lax, /",
						what, ck.HttpOnly, ck.Secure, ck.SameSite, ck.Path, c.secure)
				}
			}
			ck := serve(httptest.NewRequest("GET", u.RequestURI(), nil))
			check("login link", ck)
			pw := httptest.NewRequest("POST", "/api/auth/password", strings.NewReader(`{"password":"long enough password"}`))
			pw.Header.Set(ConsoleHeader, "1")
			pw.AddCookie(ck)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, pw)
			if w.Code != http.StatusNoContent {
				t.Fatalf("set password: HTTP %d %s", w.Code, w.Body)
			}
			login := httptest.NewRequest("POST", "/api/auth/login", strings.NewReader(`{"email":"`+DefaultAdminEmail+`","password":"long enough password"}`))
			login.Header.Set(ConsoleHeader, "1")
			check("password login", serve(login))
			logout := httptest.NewRequest("POST", "/api/auth/logout", nil)
			logout.Header.Set(ConsoleHeader, "1")
			logout.AddCookie(ck)
			out := serve(logout)
			check("logout", out)
			if out.MaxAge >= 0 || out.Value != "" {
				t.Fatalf("logout cookie not cleared: %+v", out)
			}
		})
	}
}
