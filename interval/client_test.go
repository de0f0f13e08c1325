package interval_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// routes is a minimal static interval.Routes for these tests.
type routes map[string]interval.HandlerFunc

func (r routes) RouteTable() interval.RouteTable {
	var t interval.RouteTable
	for slug, h := range r {
		t.Actions = append(t.Actions, interval.ActionRoute{ActionInfo: interval.ActionInfo{Slug: slug}, Handler: h})
	}
	return t
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// logRecorder is a slog.Handler that keeps every record as one line
// ("LEVEL message key=value ..."), for tests of what the client logs.
type logRecorder struct {
	*logLines
	attrs []slog.Attr
}

type logLines struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{}
}

func newLogRecorder() *logRecorder {
	return &logRecorder{logLines: &logLines{changed: make(chan struct{})}}
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	for _, a := range h.attrs {
		fmt.Fprintf(&b, " %s", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s", a)
		return true
	})
	h.mu.Lock()
	h.lines = append(h.lines, b.String())
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
	return nil
}

func (h *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &logRecorder{logLines: h.logLines, attrs: append(slices.Clip(h.attrs), as...)}
}

func (h *logRecorder) WithGroup(string) slog.Handler { return h }

// count is the number of lines logged so far.
func (h *logRecorder) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.lines)
}

// find returns the first line from index from on that contains every part.
func (h *logRecorder) find(from int, parts ...string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, l := range h.lines[min(from, len(h.lines)):] {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return l, true
		}
	}
	return "", false
}

// wait waits for a line, logged at index from or later, that contains every
// part.
func (h *logRecorder) wait(ctx context.Context, from int, parts ...string) (string, error) {
	for {
		h.mu.Lock()
		ch := h.changed
		h.mu.Unlock()
		if l, ok := h.find(from, parts...); ok {
			return l, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			h.mu.Lock()
			defer h.mu.Unlock()
			return "", fmt.Errorf("no log line with %q in:\n%s", parts, strings.Join(h.lines, "\n"))
		}
	}
}

func withLogger(l *slog.Logger) func(*interval.Options) {
	return func(o *interval.Options) { o.Logger = l }
}

// withLiveKey gives the client a live key: the server answers in the
// production environment.
func withLiveKey(o *interval.Options) { o.APIKey = "live_test_key" }

// The host sends the Node SDK's name and wire version (the server gates
// features on them, like a User-Agent) and names itself honestly in the
// extra implementation field and in its log line.
func TestSDKIdentity(t *testing.T) {
	logs := newLogRecorder()
	h := intervaltest.New(t, routes{}, withLogger(slog.New(logs)))
	ctx := testCtx(t)
	host, err := h.WaitHost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := host.Definitions()
	if d.SDKName != "@interval/sdk" || d.SDKVersion != "2.0.0" {
		t.Fatalf("sdkName %q, sdkVersion %q", d.SDKName, d.SDKVersion)
	}
	if d.Implementation == nil || d.Implementation.Name != "interval-go" || d.Implementation.Version != interval.Version {
		t.Fatalf("implementation %+v", d.Implementation)
	}
	if _, err := logs.wait(ctx, 0, "INFO", "connected to Interval server", "sdk=interval-go/"+interval.Version, "component=interval"); err != nil {
		t.Fatal(err)
	}
	if _, ok := logs.find(0, "@interval/sdk"); ok {
		t.Fatal("the log names the Node SDK as this host")
	}
}

func ptrTo[T any](v T) *T { return &v }
