package httphost_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/interval-go/sdk/adapters/httphost"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/router"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// deadEndpoint is a loopback address where nothing listens.
func deadEndpoint(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "ws://" + addr + "/websocket"
}

func newHandler(t *testing.T) *httphost.Handler {
	t.Helper()
	r := router.New()
	r.Action("hello", func(ctx context.Context, tx *interval.Tx) (any, error) { return "hi", nil })
	c, err := interval.New(interval.Options{Endpoint: deadEndpoint(t), APIKey: "live_test", Routes: r,
		Logger: slog.New(slog.DiscardHandler), ConnectTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h := httphost.New(c)
	h.Logger = slog.New(slog.DiscardHandler)
	return h
}

func TestParseBody(t *testing.T) {
	for _, tc := range []struct {
		body string
		want error
	}{
		{`{"requestId":"r"}`, nil},
		{`{"httpHostId":"h","extra":1}`, nil},
		{`{}`, httphost.ErrNoID},
		{`{"requestId":""}`, httphost.ErrNoID},
		{`{"requestId":5}`, httphost.ErrBadBody},
		{`[]`, httphost.ErrBadBody},
		{`null`, httphost.ErrBadBody},
		{`"x"`, httphost.ErrBadBody},
		{`{`, httphost.ErrBadBody},
		{``, httphost.ErrBadBody},
	} {
		if _, err := httphost.ParseBody([]byte(tc.body)); !errors.Is(err, tc.want) {
			t.Errorf("ParseBody(%q) = %v, want %v", tc.body, err, tc.want)
		}
	}
}

// TestServeHTTP checks the answers that need no server, and that a request
// the host cannot serve (the server is down) answers 500, bounded by the
// request.
func TestServeHTTP(t *testing.T) {
	srv := httptest.NewServer(newHandler(t))
	defer srv.Close()
	do := func(method, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do("GET", ""); code != 200 || body != "OK" {
		t.Fatalf("GET: %d %q", code, body)
	}
	if code, _ := do("PUT", "{}"); code != 405 {
		t.Fatalf("PUT: %d", code)
	}
	for _, body := range []string{"", "nope", "[]", "{}", `{"requestId":1}`, `{"x":"` + strings.Repeat("a", httphost.MaxBodyBytes) + `"}`} {
		if code, _ := do("POST", body); code != 400 {
			t.Fatalf("POST %.20q: %d", body, code)
		}
	}
	if code, body := do("POST", `{"requestId":"r1"}`); code != 500 || !strings.Contains(body, "r1") {
		t.Fatalf("unreachable server, requestId: %d %q", code, body)
	}
	if code, body := do("POST", `{"httpHostId":"h1"}`); code != 500 || !strings.Contains(body, "h1") {
		t.Fatalf("unreachable server, httpHostId: %d %q", code, body)
	}
}

func TestLambda(t *testing.T) {
	h := newHandler(t)
	ev := func(method, body string, b64 bool) httphost.LambdaRequest {
		var e httphost.LambdaRequest
		e.Version = "2.0"
		e.RequestContext.HTTP.Method = method
		e.Body, e.IsBase64Encoded = body, b64
		return e
	}
	for _, tc := range []struct {
		name string
		ev   httphost.LambdaRequest
		want int
	}{
		{"GET", ev("GET", "", false), 200},
		{"DELETE", ev("DELETE", "", false), 405},
		{"no body", ev("POST", "", false), 400},
		{"bad JSON", ev("POST", "{", false), 400},
		{"bad base64", ev("POST", "%%%", true), 400},
		{"neither id (500, as the Node SDK)", ev("POST", "{}", false), 500},
		{"base64, server down", ev("POST", base64.StdEncoding.EncodeToString([]byte(`{"requestId":"r"}`)), true), 500},
	} {
		res, err := h.Lambda(context.Background(), tc.ev)
		if err != nil || res.StatusCode != tc.want || res.IsBase64Encoded {
			t.Errorf("%s: %+v %v, want %d", tc.name, res, err, tc.want)
		}
	}
	// The JSON shapes API Gateway sends and expects.
	var in httphost.LambdaRequest
	if err := json.Unmarshal([]byte(`{"version":"2.0","requestContext":{"http":{"method":"POST"}},"body":"e30=","isBase64Encoded":true}`), &in); err != nil ||
		in.RequestContext.HTTP.Method != "POST" || in.Body != "e30=" || !in.IsBase64Encoded {
		t.Fatalf("event: %+v %v", in, err)
	}
	out, _ := json.Marshal(httphost.LambdaResponse{StatusCode: 200, Headers: map[string]string{}, Body: "OK"})
	if string(out) != `{"isBase64Encoded":false,"statusCode":200,"headers":{},"body":"OK"}` {
		t.Fatalf("response JSON %s", out)
	}
}

// TestRequestBoundedByContext: a request whose context ends while the
// client connects ends at once.
func TestRequestBoundedByContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close() // accepts (in the kernel) but never answers the upgrade
	r := router.New()
	c, err := interval.New(interval.Options{Endpoint: "ws://" + l.Addr().String() + "/websocket", APIKey: "live_test", Routes: r,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h := httphost.New(c)
	h.Logger = slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = h.Handle(ctx, httphost.Body{RequestID: "r"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Handle: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Handle took %v after its context ended", d)
	}
}
