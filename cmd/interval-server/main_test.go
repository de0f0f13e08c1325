package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	wsa "github.com/interval-go/sdk/internal/isocket"
	"github.com/interval-go/sdk/server"
	"github.com/interval-go/sdk/server/store"
	"github.com/interval-go/sdk/server/store/pgtest"
)

// TestMain stops the PostgreSQL server and removes the server binary the
// tests share, then looks for leaked goroutines.
func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	removeBinary()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestKeyAndUserCreateThenServe(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"key", "create", "--data-dir", dir, "--env", "development"}, &out, &errOut); err != nil {
		t.Fatalf("key create: %v\n%s", err, errOut.String())
	}
	key := lastLine(out.String())
	if !strings.HasPrefix(key, "dev_") || len(key) != 4+48 {
		t.Fatalf("key create last line %q", key)
	}
	out.Reset()
	if err := run(ctx, []string{"key", "create", "--data-dir", dir, "--env", "production"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if live := lastLine(out.String()); !strings.HasPrefix(live, "live_") {
		t.Fatalf("live key %q", live)
	}
	out.Reset()
	if err := run(ctx, []string{"user", "create", "--data-dir", dir, "--email", "bob@example.com", "--role", "developer"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if link := lastLine(out.String()); !strings.Contains(link, "/login/link?token=") {
		t.Fatalf("user create last line %q", link)
	}
	if err := run(ctx, []string{"user", "create", "--data-dir", dir, "--email", "x@example.com", "--role", "king"}, &out, &errOut); err == nil {
		t.Fatal("bad role accepted")
	}
	out.Reset()
	if err := run(ctx, []string{"user", "link", "--data-dir", dir, "--email", "bob@example.com"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if link := lastLine(out.String()); !strings.Contains(link, "/login/link?token=") {
		t.Fatalf("user link last line %q", link)
	}
	if err := run(ctx, []string{"user", "link", "--data-dir", dir, "--email", "nobody@example.com"}, &out, &errOut); err == nil {
		t.Fatal("link for an unknown user")
	}

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var sout syncBuf
	done := make(chan error, 1)
	go func() { done <- run(sctx, []string{"--addr", "127.0.0.1:0", "--data-dir", dir}, &sout, &syncBuf{}) }()
	var url string
	deadline := time.Now().Add(20 * time.Second)
	for url == "" && time.Now().Before(deadline) {
		if s := sout.String(); strings.Contains(s, "Interval server: ") {
			url = strings.Fields(strings.SplitN(s, "Interval server: ", 2)[1])[0]
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if url == "" {
		t.Fatal("server did not print its URL")
	}
	c, err := wsa.Dial(ctx, wsa.DialOptions{Endpoint: "ws" + strings.TrimPrefix(url, "http") + "/websocket", APIKey: key}, wsa.Config{DisablePing: true})
	if err != nil {
		t.Fatalf("dial with the created key: %v", err)
	}
	// A key created beside the running server works at once.
	out.Reset()
	if err := run(ctx, []string{"key", "create", "--data-dir", dir, "--env", "production"}, &out, &errOut); err != nil {
		t.Fatalf("key create beside a running server: %v", err)
	}
	c2, err := wsa.Dial(ctx, wsa.DialOptions{Endpoint: "ws" + strings.TrimPrefix(url, "http") + "/websocket", APIKey: lastLine(out.String())}, wsa.Config{DisablePing: true})
	if err != nil {
		t.Fatalf("dial with a key created beside the server: %v", err)
	}
	cancel()
	<-c.Done() // the server closes hosts on shutdown
	<-c2.Done()
	c.Close()
	c2.Close()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

func TestDatabaseURLFlag(t *testing.T) {
	ctx := context.Background()
	var out, errOut bytes.Buffer
	for _, args := range [][]string{
		{"--addr", "127.0.0.1:0"},
		{"key", "create"},
		{"user", "link"},
	} {
		args = append(args, "--data-dir", t.TempDir(), "--database-url", "mysql://root:hunter2secret@db/app")
		err := run(ctx, args, &out, &errOut)
		if !errors.Is(err, server.ErrBadOptions) || !errors.Is(err, store.ErrUnsupportedURL) {
			t.Fatalf("%v: %v", args, err)
		}
		if strings.Contains(err.Error(), "hunter2secret") || strings.Contains(out.String()+errOut.String(), "hunter2secret") {
			t.Fatalf("password shown: %v", err)
		}
	}
	// sqlite:PATH puts the database elsewhere than the data dir.
	dir, db := t.TempDir(), filepath.Join(t.TempDir(), "other.db")
	if err := run(ctx, []string{"key", "create", "--data-dir", dir, "--database-url", "sqlite:" + db}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("sqlite:PATH: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); err == nil {
		t.Fatal("sqlite:PATH also created the default file")
	}
}

// serveOn runs the server on a free port of dir and returns its URL and a
// stop function that waits for it to end.
func serveOn(t *testing.T, dir string, extra ...string) (string, func()) {
	t.Helper()
	sctx, cancel := context.WithCancel(context.Background())
	var sout syncBuf
	done := make(chan error, 1)
	go func() {
		done <- run(sctx, append([]string{"--addr", "127.0.0.1:0", "--data-dir", dir}, extra...), &sout, &syncBuf{})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if s := sout.String(); strings.Contains(s, "Interval server: ") {
			url := strings.Fields(strings.SplitN(s, "Interval server: ", 2)[1])[0]
			return url, func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("serve: %v", err)
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	t.Fatalf("server did not print its URL: %v", <-done)
	return "", nil
}

// The login links of the subcommands point at the server that serves from
// the same store (not at the default port), also after it stopped;
// --public-url overrides; before any server ran they say what they assume.
func TestUserLinkPointsAtServingServer(t *testing.T) {
	t.Setenv("INTERVAL_ADDR", "")
	t.Setenv("INTERVAL_PUBLIC_URL", "")
	ctx := context.Background()
	dir := t.TempDir()
	link := func(args ...string) (string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(ctx, append([]string{"user", "link", "--data-dir", dir}, args...), &out, &errOut); err != nil {
			t.Fatalf("user link %v: %v\n%s", args, err, errOut.String())
		}
		return lastLine(out.String()), errOut.String()
	}
	if l, note := link(); !strings.HasPrefix(l, "http://127.0.0.1:8080/login/link?token=") || !strings.Contains(note, "--public-url") {
		t.Fatalf("link before any server ran: %q, stderr %q", l, note)
	}
	url, stop := serveOn(t, dir)
	if strings.HasSuffix(url, ":8080") {
		t.Fatalf("test server on the default port: %s", url)
	}
	l, note := link()
	if !strings.HasPrefix(l, url+"/login/link?token=") || note != "" {
		t.Fatalf("link beside the server at %s: %q, stderr %q", url, l, note)
	}
	// The link logs in on that server.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(l)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) == 0 {
		t.Fatalf("following the link: HTTP %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"user", "create", "--data-dir", dir, "--email", "bob@example.com"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if l := lastLine(out.String()); !strings.HasPrefix(l, url+"/login/link?token=") {
		t.Fatalf("user create link %q, server at %s", l, url)
	}
	stop()
	if l, _ := link(); !strings.HasPrefix(l, url+"/login/link?token=") {
		t.Fatalf("link after the server stopped: %q, want %s", l, url)
	}
	if l, _ := link("--public-url", "https://ops.example.com/"); !strings.HasPrefix(l, "https://ops.example.com/login/link?token=") {
		t.Fatalf("--public-url link %q", l)
	}
	// A server with a --public-url records that one.
	_, stop = serveOn(t, dir, "--public-url", "https://interval.example.com")
	stop()
	if l, _ := link(); !strings.HasPrefix(l, "https://interval.example.com/login/link?token=") {
		t.Fatalf("link after a server with --public-url: %q", l)
	}
}

// A Slack token that cannot be one stops the server at start, without
// echoing the token; INTERVAL_SLACK_TOKEN is read like the flag.
func TestSlackTokenFlag(t *testing.T) {
	ctx := context.Background()
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--slack-token", "xoxb-secret with-space"}, &out, &errOut)
	if !errors.Is(err, server.ErrBadOptions) || !errors.Is(err, server.ErrSlack) {
		t.Fatalf("bad --slack-token: %v", err)
	}
	if strings.Contains(err.Error()+out.String()+errOut.String(), "secret") {
		t.Fatalf("token shown: %v", err)
	}
	t.Setenv("INTERVAL_SLACK_TOKEN", "xoxb-env secret")
	if err := run(ctx, []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, &out, &errOut); !errors.Is(err, server.ErrSlack) {
		t.Fatalf("bad INTERVAL_SLACK_TOKEN: %v", err)
	}
}

// A retention that is not a duration is refused with its variable named.
func TestUploadRetentionEnv(t *testing.T) {
	var out, errOut bytes.Buffer
	t.Setenv("INTERVAL_UPLOAD_RETENTION", "a month")
	err := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, &out, &errOut)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "INTERVAL_UPLOAD_RETENTION") {
		t.Fatalf("bad INTERVAL_UPLOAD_RETENTION: %v", err)
	}
}

// The environment alone configures serve: INTERVAL_ADDR is where it
// listens, INTERVAL_DATA_DIR and INTERVAL_DATABASE_URL where its data goes,
// INTERVAL_PUBLIC_URL what it prints and links to (and, being https, makes
// the session cookie Secure), INTERVAL_MAX_UPLOAD_MIB its upload limit.
func TestEnvConfiguresServe(t *testing.T) {
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := free.Addr().String()
	free.Close()
	dir, db := filepath.Join(t.TempDir(), "data"), filepath.Join(t.TempDir(), "env.db")
	t.Setenv("INTERVAL_ADDR", addr)
	t.Setenv("INTERVAL_DATA_DIR", dir)
	t.Setenv("INTERVAL_DATABASE_URL", "sqlite:"+db)
	t.Setenv("INTERVAL_PUBLIC_URL", "https://console.example.com")
	t.Setenv("INTERVAL_MAX_UPLOAD_MIB", "1")

	ctx, cancel := context.WithCancel(context.Background())
	var sout syncBuf
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, &sout, &syncBuf{}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(sout.String(), "/login/link?token=") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	out := sout.String()
	if !strings.HasPrefix(out, "Interval server: https://console.example.com (hosts connect to wss://console.example.com/websocket)") {
		t.Fatalf("printed %q", out)
	}
	link := lastLine(out)
	if !strings.HasPrefix(link, "https://console.example.com/login/link?token=") {
		t.Fatalf("login link %q", link)
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("INTERVAL_DATABASE_URL: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); err == nil {
		t.Fatal("the default SQLite file was created beside INTERVAL_DATABASE_URL's")
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("INTERVAL_DATA_DIR not created: %v", err)
	}

	// It serves on INTERVAL_ADDR; the link logs in there with a Secure cookie.
	base := "http://" + addr
	noRedirect := &http.Client{Timeout: wait, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(base + strings.TrimPrefix(link, "https://console.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == server.SessionCookie {
			session = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || session == nil || !session.Secure || !session.HttpOnly {
		t.Fatalf("login: HTTP %d, cookie %+v", resp.StatusCode, session)
	}
	upload := func(size int) int {
		t.Helper()
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", "f.bin")
		fw.Write(bytes.Repeat([]byte{'x'}, size))
		mw.Close()
		req, _ := http.NewRequest("POST", base+"/api/console/uploads", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set(server.ConsoleHeader, "1")
		req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := upload(100 << 10); code != http.StatusOK {
		t.Fatalf("upload under INTERVAL_MAX_UPLOAD_MIB: HTTP %d", code)
	}
	if code := upload(2 << 20); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("upload over INTERVAL_MAX_UPLOAD_MIB=1: HTTP %d", code)
	}
}

// A bad INTERVAL_MAX_UPLOAD_MIB (or --max-upload-mib) is refused, naming
// what to fix.
func TestMaxUploadMiBRefused(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--max-upload-mib", "0"}, &out, &errOut)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--max-upload-mib") {
		t.Fatalf("--max-upload-mib 0: %v", err)
	}
	t.Setenv("INTERVAL_MAX_UPLOAD_MIB", "lots")
	err = run(context.Background(), []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, &out, &errOut)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "INTERVAL_MAX_UPLOAD_MIB") {
		t.Fatalf("INTERVAL_MAX_UPLOAD_MIB=lots: %v", err)
	}
}

// A --commit-delay (INTERVAL_COMMIT_DELAY) out of its range, or that is no
// duration, is refused, naming what to fix.
func TestCommitDelayRefused(t *testing.T) {
	var out, errOut bytes.Buffer
	for _, v := range []string{"-1ms", "2s"} {
		err := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--commit-delay", v}, &out, &errOut)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--commit-delay") {
			t.Fatalf("--commit-delay %s: %v", v, err)
		}
	}
	t.Setenv("INTERVAL_COMMIT_DELAY", "soon")
	err := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, &out, &errOut)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "INTERVAL_COMMIT_DELAY") {
		t.Fatalf("INTERVAL_COMMIT_DELAY=soon: %v", err)
	}
}

// A --trusted-proxies (INTERVAL_TRUSTED_PROXIES) item that is neither an
// address nor a prefix is refused, naming the flag and the item.
func TestTrustedProxiesRefused(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--trusted-proxies", "10.0.0.1, proxy.internal"}, &out, &errOut)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--trusted-proxies") || !strings.Contains(err.Error(), `"proxy.internal"`) {
		t.Fatalf("--trusted-proxies with a host name: %v", err)
	}
	t.Setenv("INTERVAL_TRUSTED_PROXIES", "10.0.0.0/33")
	err = run(context.Background(), []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, &out, &errOut)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "INTERVAL_TRUSTED_PROXIES") {
		t.Fatalf("INTERVAL_TRUSTED_PROXIES=10.0.0.0/33: %v", err)
	}
}

// --log-level (INTERVAL_LOG_LEVEL) sets the least severe lines written:
// at warn a server that starts and stops cleanly writes none of its
// info lines; a level that is no level is refused, naming what to fix.
func TestLogLevel(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-level", "loud"}, &out, &errOut)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--log-level") || !strings.Contains(err.Error(), `"loud"`) {
		t.Fatalf("--log-level loud: %v", err)
	}
	bin := serverBinary(t)
	for _, c := range []struct {
		level string
		info  bool
	}{{"info", true}, {"warn", false}} {
		p := startServer(t, bin, "127.0.0.1:0", []string{"--data-dir", t.TempDir(), "--log-level", c.level})
		logged := p.stop(t)
		if got := strings.Contains(logged, "level=INFO"); got != c.info {
			t.Errorf("--log-level %s: info lines written %v, want %v:\n%s", c.level, got, c.info, logged)
		}
	}
}
