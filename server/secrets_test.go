package server

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

// No secret ever reaches the log, at any level: API keys (right, wrong
// and revoked), passwords (right and wrong), session cookies (real and
// forged), login-link tokens, and a secret in a serverless host's URL.
// Every flow below logs something (checked), so the test would see a
// secret if one of those lines carried it.
func TestNoSecretLogged(t *testing.T) {
	var logs logBuf
	e := newEnv(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ctx := context.Background()
	var secrets []string
	keep := func(s string) string {
		t.Helper()
		if s == "" {
			t.Fatal("empty secret")
		}
		secrets = append(secrets, s)
		return s
	}
	token := func(link string) string {
		t.Helper()
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		return keep(u.Query().Get("token"))
	}

	_, link, err := e.s.EnsureAdmin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	token(link)
	admin := e.login(link)
	base, _ := url.Parse(e.hs.URL)
	for _, c := range admin.http.Jar.Cookies(base) {
		if c.Name == SessionCookie {
			keep(c.Value)
		}
	}

	// Hosts: a good key runs a transaction; a wrong one and a revoked one
	// are refused.
	dev := keep(admin.key(store.EnvDevelopment))
	live := keep(admin.key(store.EnvProduction))
	h := e.host(dev, "", action("greet"))
	b := admin.browser()
	id := admin.startRun(b, h, "greet", store.EnvDevelopment)
	complete(t, h, id, "hi")
	b.next(protocol.MethodTransactionCompleted)
	if _, err := dialHost(t, e, keep("dev_WrongKeySecret0123456789"), ""); err == nil {
		t.Fatal("a wrong key connected")
	}
	revoked := keep(admin.key(store.EnvDevelopment))
	var keys struct{ Keys []struct{ ID string } }
	admin.do("GET", "/api/console/keys", nil, http.StatusOK, &keys)
	admin.do("DELETE", "/api/console/keys/"+keys.Keys[0].ID, nil, http.StatusNoContent, nil)
	if _, err := dialHost(t, e, revoked, ""); err == nil {
		t.Fatal("a revoked key connected")
	}

	// The host HTTP API with good, wrong and missing keys.
	post := func(key, body string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", e.hs.URL+"/api/notify", strings.NewReader(body))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(live, `{"message":"hi","deliveryInstructions":[],"createdAt":"2026-01-01T00:00:00Z"}`); code != http.StatusOK {
		t.Fatalf("notify: HTTP %d", code)
	}
	if code := post(live, `{"message":`); code != http.StatusBadRequest {
		t.Fatalf("notify with a bad body: HTTP %d", code)
	}
	if code := post(keep("live_WrongBearerSecret0123456789"), `{}`); code != http.StatusForbidden {
		t.Fatalf("notify with a wrong key: HTTP %d", code)
	}
	if code := post("", `{}`); code != http.StatusUnauthorized {
		t.Fatalf("notify without a key: HTTP %d", code)
	}

	// Passwords: a user created with one logs in; a wrong one fails.
	password := keep("Correct-Horse-Battery-Staple")
	var created struct{ LoginLink string }
	admin.do("POST", "/api/console/users", map[string]any{"email": "pat@example.com", "role": "member", "password": password}, http.StatusCreated, &created)
	token(created.LoginLink)
	login := func(pw string) int {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"email": "pat@example.com", "password": pw})
		req, _ := http.NewRequest("POST", e.hs.URL+"/api/auth/login", bytes.NewReader(body))
		req.Header.Set(ConsoleHeader, "1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, c := range resp.Cookies() {
			if c.Name == SessionCookie && c.Value != "" {
				keep(c.Value)
			}
		}
		return resp.StatusCode
	}
	if code := login(keep("Wrong-Horse-Battery-Staple")); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: HTTP %d", code)
	}
	if code := login(password); code != http.StatusOK {
		t.Fatalf("right password: HTTP %d", code)
	}
	admin.do("POST", "/api/auth/password", map[string]string{"password": keep("Another-Long-Password")}, http.StatusNoContent, nil)
	// A used login link, and a forged session on the browser socket.
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	hdr := http.Header{}
	hdr.Set("Cookie", SessionCookie+"="+keep("ForgedSessionSecret0123456789"))
	hdr.Set("Origin", e.hs.URL)
	if ws, _, err := websocket.Dial(ctx, e.wsURL(), &websocket.DialOptions{HTTPHeader: hdr}); err == nil {
		ws.Read(ctx) // closed by the server
		ws.CloseNow()
	}

	// A serverless host whose URL carries a secret, unreachable.
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	}))
	defer fn.Close()
	admin.do("POST", "/api/console/http-hosts", map[string]string{"url": fn.URL + "/api/fn?code=" + keep("AzureFunctionKeySecret")}, http.StatusCreated, nil)

	out := logs.String()
	for _, want := range []string{"host connected", "host refused: invalid API key", "host API refused: invalid API key",
		"host API refused: missing API key", "host API refused: invalid request body", "password login failed",
		"browser socket refused: unknown or expired session", `msg="serverless host unreachable"`, "/api/fn?…"} {
		if !strings.Contains(out, want) {
			t.Fatalf("no line %q logged (the test no longer covers it):\n%s", want, out)
		}
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Fatalf("secret %q logged:\n%s", s, out)
		}
	}
}
