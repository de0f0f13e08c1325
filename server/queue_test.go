package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// logBuf collects a server's log lines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuf) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// queuedIDs lists the ids of the queued actions c sees.
func queuedIDs(c *client) []string {
	c.t.Helper()
	var q struct{ Queued []struct{ ID string } }
	c.do("GET", "/api/console/queue", nil, http.StatusOK, &q)
	var ids []string
	for _, x := range q.Queued {
		ids = append(ids, x.ID)
	}
	return ids
}

// A run of a queued action that the server refuses (no host online, wrong
// slug, someone else's assignment) leaves it queued; so does a dequeue by
// a key of another environment or developer. Each refusal is logged.
func TestQueuedActionNotLostOnRefusal(t *testing.T) {
	var logs logBuf
	e := newEnv(t, Options{Logger: logs.logger()})
	admin := e.admin()
	bob := e.newUser(admin, "bob@example.com", "developer")
	live := admin.key("production")
	bobDev := bob.key("development")

	code, out := hostAPI(t, e, live, "/api/actions/enqueue", map[string]any{"slug": "refund", "assignee": admin.email, "params": map[string]any{"id": 7}})
	if code != http.StatusOK {
		t.Fatalf("enqueue: %d %v", code, out)
	}
	qid := out["id"].(string)
	still := func(when string) {
		t.Helper()
		if ids := queuedIDs(admin); len(ids) != 1 || ids[0] != qid {
			t.Fatalf("%s: queue %v, want [%s]", when, ids, qid)
		}
	}
	run := func(c *client, slug string) int {
		return c.try("POST", "/api/console/transactions", map[string]any{"slug": slug, "env": "production", "queuedActionId": qid}, nil)
	}
	// No host serves it yet.
	if code := run(admin, "refund"); code != http.StatusNotFound && code != http.StatusConflict {
		t.Fatalf("run without a host: HTTP %d", code)
	}
	still("after a run without a host")
	h := e.host(live, "", action("refund"), action("other"))
	if code := run(admin, "other"); code != http.StatusNotFound {
		t.Fatalf("run with another slug: HTTP %d", code)
	}
	still("after a run with another slug")
	if code := run(bob, "refund"); code != http.StatusNotFound {
		t.Fatalf("run by someone else than the assignee: HTTP %d", code)
	}
	still("after a run by someone else")
	if code, out := hostAPI(t, e, bobDev, "/api/actions/dequeue", map[string]any{"id": qid}); code != http.StatusNotFound {
		t.Fatalf("dequeue with a development key: %d %v", code, out)
	}
	still("after a dequeue with a development key")
	if !strings.Contains(logs.String(), "dequeue refused") || !strings.Contains(logs.String(), "run refused: unknown queued action") {
		t.Fatalf("refusals not logged:\n%s", logs.String())
	}

	// The assignee runs it: consumed once.
	if code := run(admin, "refund"); code != http.StatusCreated {
		t.Fatalf("run by the assignee: HTTP %d", code)
	}
	if ids := queuedIDs(admin); len(ids) != 0 {
		t.Fatalf("queue after the run %v", ids)
	}
	if code := run(admin, "refund"); code != http.StatusNotFound {
		t.Fatalf("second run of one queued action: HTTP %d", code)
	}
	_ = h

	// A development key's queued action is its developer's alone.
	code, out = hostAPI(t, e, bobDev, "/api/actions/enqueue", map[string]any{"slug": "mine"})
	if code != http.StatusOK {
		t.Fatalf("dev enqueue: %d %v", code, out)
	}
	adminDev := admin.key("development")
	if code, _ := hostAPI(t, e, adminDev, "/api/actions/dequeue", map[string]any{"id": out["id"]}); code != http.StatusNotFound {
		t.Fatalf("dequeue of another developer's action: HTTP %d", code)
	}
	if code, out := hostAPI(t, e, bobDev, "/api/actions/dequeue", map[string]any{"id": out["id"]}); code != http.StatusOK || out["type"] != "success" {
		t.Fatalf("dequeue by its developer: %d %v", code, out)
	}
}

// Bad host API input is refused with a clear error and logged.
func TestHostAPIBadInputLogged(t *testing.T) {
	var logs logBuf
	e := newEnv(t, Options{Logger: logs.logger()})
	admin := e.admin()
	live := admin.key("production")
	for _, path := range []string{"/api/notify", "/api/actions/enqueue", "/api/actions/dequeue", "/api/hosts/declare"} {
		req, _ := http.NewRequest("POST", e.hs.URL+path, strings.NewReader(`{"slug":`))
		req.Header.Set("Authorization", "Bearer "+live)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("%s with a broken body: HTTP %d", path, resp.StatusCode)
		}
		if !strings.Contains(logs.String(), "invalid request body\" path="+path) {
			t.Fatalf("%s: broken body not logged:\n%s", path, logs.String())
		}
	}
	big := `{"message":"` + strings.Repeat("a", maxBodyBytes) + `","deliveryInstructions":[]}`
	req, _ := http.NewRequest("POST", e.hs.URL+"/api/notify", strings.NewReader(big))
	req.Header.Set("Authorization", "Bearer "+live)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: HTTP %d", resp.StatusCode)
	}
	for _, slug := range []string{"a?b", "<script>", "a b", strings.Repeat("a", 300), "/lead", "x//y"} {
		if code, out := hostAPI(t, e, live, "/api/actions/enqueue", map[string]any{"slug": slug}); code != http.StatusBadRequest || out["type"] != "error" {
			t.Fatalf("enqueue of slug %.20q: %d %v", slug, code, out)
		}
	}
	if !strings.Contains(logs.String(), "enqueue refused: invalid slug") {
		t.Fatalf("invalid slug not logged:\n%s", logs.String())
	}
	if code, out := hostAPI(t, e, live, "/api/actions/enqueue", map[string]any{"slug": "group/action-1.x"}); code != http.StatusOK {
		t.Fatalf("enqueue of a grouped slug: %d %v", code, out)
	}
}

// An upload over the limit is refused with 413 and a message naming the
// limit, and logged; nothing is kept. A body without the file field is a 400.
func TestUploadTooLarge(t *testing.T) {
	var logs logBuf
	e := newEnv(t, Options{Logger: logs.logger(), MaxUploadBytes: 1 << 20})
	admin := e.admin()
	upload := func(ctype string, body io.Reader) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", e.hs.URL+"/api/console/uploads", body)
		req.Header.Set("Content-Type", ctype)
		req.Header.Set(ConsoleHeader, "1")
		resp, err := admin.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "big.bin")
	fw.Write(bytes.Repeat([]byte("x"), 2<<20))
	mw.Close()
	if code, msg := upload(mw.FormDataContentType(), &body); code != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "1 MiB") {
		t.Fatalf("oversized upload: %d %s", code, msg)
	}
	if !strings.Contains(logs.String(), "upload refused: too large") {
		t.Fatalf("not logged:\n%s", logs.String())
	}
	if ents, _ := os.ReadDir(filepath.Join(e.dir, "uploads")); len(ents) != 0 {
		t.Fatalf("kept %d uploads", len(ents))
	}
	if code, _ := upload("application/json", strings.NewReader(`{}`)); code != http.StatusBadRequest {
		t.Fatalf("upload without a file: HTTP %d", code)
	}
}

// A browser socket with a forged or expired session cookie is refused
// (1008) and logged; with no cookie and no key it is told what is missing.
func TestBrowserSocketForgedSession(t *testing.T) {
	var logs logBuf
	e := newEnv(t, Options{Logger: logs.logger()})
	dial := func(cookie string) (websocket.StatusCode, string) {
		t.Helper()
		h := http.Header{}
		if cookie != "" {
			h.Set("Cookie", SessionCookie+"="+cookie)
		}
		h.Set("Origin", e.hs.URL)
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, e.wsURL(), &websocket.DialOptions{HTTPHeader: h})
		if err != nil {
			t.Fatal(err)
		}
		defer ws.CloseNow()
		_, _, err = ws.Read(ctx)
		return closeStatus(err)
	}
	if code, reason := dial("forged-session-token"); code != websocket.StatusPolicyViolation || !strings.Contains(reason, "Invalid session") {
		t.Fatalf("forged cookie: %d %q", code, reason)
	}
	if !strings.Contains(logs.String(), "unknown or expired session") {
		t.Fatalf("forged cookie not logged:\n%s", logs.String())
	}
	if code, reason := dial(""); code != websocket.StatusPolicyViolation || !strings.Contains(reason, "Missing API key") {
		t.Fatalf("no cookie: %d %q", code, reason)
	}
}

// Password guessing is throttled per email: after loginMaxFails failures
// even the right password gets 429 (with Retry-After) for a while; other
// emails are not affected; failures are logged.
func TestPasswordLoginThrottled(t *testing.T) {
	var logs logBuf
	e := newEnv(t, Options{Logger: logs.logger()})
	e.s.logins.setClientLimit(loginClientEvery, 100) // one client guesses here
	admin := e.admin()
	admin.do("POST", "/api/auth/password", map[string]string{"password": "correct horse"}, http.StatusNoContent, nil)
	bob := e.newUser(admin, "bob@example.com", "member")
	bob.do("POST", "/api/auth/password", map[string]string{"password": "battery staple"}, http.StatusNoContent, nil)
	login := func(email, password string) (int, string) {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"email": email, "password": password})
		req, _ := http.NewRequest("POST", e.hs.URL+"/api/auth/login", bytes.NewReader(b))
		req.Header.Set(ConsoleHeader, "1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	if code, _ := login(admin.email, "correct horse"); code != http.StatusOK {
		t.Fatalf("right password: HTTP %d", code)
	}
	for i := 0; i < loginMaxFails; i++ {
		if code, _ := login(strings.ToUpper(admin.email), "guess"); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: HTTP %d", i, code)
		}
	}
	if code, after := login(admin.email, "correct horse"); code != http.StatusTooManyRequests || after == "" {
		t.Fatalf("right password after %d guesses: HTTP %d, Retry-After %q", loginMaxFails, code, after)
	}
	if code, _ := login("bob@example.com", "battery staple"); code != http.StatusOK {
		t.Fatalf("another email: HTTP %d", code)
	}
	if !strings.Contains(logs.String(), "password login failed") || !strings.Contains(logs.String(), "too many failures") {
		t.Fatalf("not logged:\n%s", logs.String())
	}
	// The window passes.
	e.s.logins.mu.Lock()
	for k, fs := range e.s.logins.fails {
		for i := range fs {
			fs[i] = fs[i].Add(-loginFailWindow)
		}
		e.s.logins.fails[k] = fs
	}
	e.s.logins.mu.Unlock()
	if code, _ := login(admin.email, "correct horse"); code != http.StatusOK {
		t.Fatalf("after the window: HTTP %d", code)
	}
}

// A developer cannot read another developer's development run by its id
// (the list already hides it); production runs of others stay visible.
func TestDevelopmentRunsPrivate(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	bob := e.newUser(admin, "bob@example.com", "developer")
	carol := e.newUser(admin, "carol@example.com", "developer")
	e.host(bob.key("development"), "bobs", action("mine"))
	e.host(admin.key("production"), "prod", action("shared"))
	dev := bob.createTx("mine", "development")
	prod := bob.createTx("shared", "production")
	if code := carol.try("GET", "/api/console/transactions/"+dev, nil, nil); code != http.StatusNotFound {
		t.Fatalf("another developer's development run: HTTP %d", code)
	}
	if code := carol.try("GET", "/api/console/transactions/"+prod, nil, nil); code != http.StatusOK {
		t.Fatalf("a production run: HTTP %d", code)
	}
	for _, c := range []*client{bob, admin} {
		if code := c.try("GET", "/api/console/transactions/"+dev, nil, nil); code != http.StatusOK {
			t.Fatalf("%s reading the development run: HTTP %d", c.email, code)
		}
	}
}

// Uploaded files are deleted after the retention; an upload that would
// eat into the disk reserve is refused with a message and a log line.
func TestUploadRetentionAndDiskReserve(t *testing.T) {
	var logs logBuf
	e := newEnv(t, Options{Logger: logs.logger()})
	admin := e.admin()
	upload := func(name string) (int, map[string]any) {
		t.Helper()
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", name)
		fw.Write([]byte("hello " + name))
		mw.Close()
		req, _ := http.NewRequest("POST", e.hs.URL+"/api/console/uploads", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set(ConsoleHeader, "1")
		resp, err := admin.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	get := func(u string) int {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	code, old := upload("old.txt")
	if code != http.StatusOK {
		t.Fatalf("upload: %d %v", code, old)
	}
	code, fresh := upload("fresh.txt")
	if code != http.StatusOK {
		t.Fatalf("upload: %d %v", code, fresh)
	}
	// Age the first one past the retention.
	oldURL := old["url"].(string)
	dir := filepath.Join(e.dir, "uploads", strings.Split(strings.TrimPrefix(oldURL, e.hs.URL+"/uploads/"), "/")[0])
	past := time.Now().Add(-DefaultUploadRetention - time.Hour)
	if err := os.Chtimes(dir, past, past); err != nil {
		t.Fatal(err)
	}
	if n := e.s.sweepUploads(time.Now()); n != 1 {
		t.Fatalf("swept %d uploads, want 1", n)
	}
	if get(oldURL) != http.StatusNotFound || get(fresh["url"].(string)) != http.StatusOK {
		t.Fatal("the old upload should be gone and the fresh one kept")
	}
	if !strings.Contains(logs.String(), "deleted old uploads") {
		t.Error("sweep not logged")
	}

	// A reserve larger than the disk's free space refuses uploads (where
	// the free space is known: Linux).
	if _, known := freeDisk(e.dir); !known {
		return
	}
	e.s.opts.UploadDiskReserve = 1 << 62
	code, out := upload("full.txt")
	if code != http.StatusInsufficientStorage || !strings.Contains(fmt.Sprint(out["message"], out["error"]), "low on disk space") {
		t.Fatalf("upload over the reserve: %d %v", code, out)
	}
	if !strings.Contains(logs.String(), "upload refused: the data dir's disk is nearly full") {
		t.Error("refusal not logged")
	}
}

// The host HTTP API is rate limited per API key: a burst beyond it is
// answered 429 with Retry-After and logged; another key is unaffected.
func TestHostAPIRateLimit(t *testing.T) {
	var logs logBuf
	e := newEnv(t, Options{Logger: logs.logger()})
	admin := e.admin()
	flood, other := admin.key("production"), admin.key("production")
	// Calls faster than the rate use the burst up and are then refused
	// (the loop stops at the first refusal; its bound is far past the
	// burst plus what refills while a slow machine runs it).
	refused, calls := 0, 0
	for ; refused == 0 && calls < 30*hostAPIBurst; calls++ {
		req, _ := http.NewRequest("POST", e.hs.URL+"/api/actions/dequeue", strings.NewReader(`{"id":"nope"}`))
		req.Header.Set("Authorization", "Bearer "+flood)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			refused++
			if resp.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		}
	}
	if refused == 0 || calls <= hostAPIBurst {
		t.Fatalf("refused %d after %d calls; want the first refusal after the burst of %d", refused, calls, hostAPIBurst)
	}
	if !strings.Contains(logs.String(), "host API refused: rate limit") {
		t.Error("not logged")
	}
	if code, out := hostAPI(t, e, other, "/api/actions/dequeue", map[string]any{"id": "nope"}); code == http.StatusTooManyRequests {
		t.Fatalf("another key was limited: %v", out)
	}
}
