package isocket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/interval-go/sdk/internal/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// hang bounds waits that would otherwise hang a broken test. It is never
// used as a timing assertion.
const hang = 10 * time.Second

// startServer runs handle for every websocket accepted on /websocket. The
// socket is closed (CloseNow) when handle returns; handle's ctx ends when
// the test ends.
func startServer(t testing.TB, handle func(ctx context.Context, ws *websocket.Conn, r *http.Request)) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		defer ws.CloseNow()
		handle(ctx, ws, r)
	}))
	t.Cleanup(func() {
		cancel()
		srv.Close()
		wg.Wait()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/websocket"
}

// rawWrite writes a text frame.
func rawWrite(ctx context.Context, t testing.TB, ws *websocket.Conn, s string) {
	if err := ws.Write(ctx, websocket.MessageText, []byte(s)); err != nil && ctx.Err() == nil {
		t.Errorf("server write: %v", err)
	}
}

// rawRead reads one frame (empty on error).
func rawRead(ctx context.Context, ws *websocket.Conn) protocol.Frame {
	_, p, err := ws.Read(ctx)
	if err != nil {
		return protocol.Frame{}
	}
	f, _ := protocol.DecodeFrame(p)
	return f
}

// rawAuth sends "authenticated" the way the Interval server does and reads
// its ACK.
func rawAuth(ctx context.Context, t testing.TB, ws *websocket.Conn) {
	id := uuid.NewString()
	rawWrite(ctx, t, ws, string(protocol.AppendMessage(nil, id, protocol.DataAuthenticated)))
	if f := rawRead(ctx, ws); f.Type != protocol.FrameAck || f.ID != id {
		if ctx.Err() == nil {
			t.Errorf("ACK of authenticated: got %+v", f)
		}
	}
}

func dial(t testing.TB, url string, cfg Config) *Conn {
	t.Helper()
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = hang
	}
	c, err := Dial(context.Background(), DialOptions{Endpoint: url, APIKey: "key", InstanceID: uuid.NewString()}, cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func waitDone(t testing.TB, c *Conn) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(hang):
		t.Fatal("connection did not end")
	}
}

func recv(t testing.TB, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(hang):
		t.Fatal("no message")
	}
	return ""
}

// echoServer is an Interval-like server built on NewConn: it checks the
// host headers, sends "authenticated" and answers every message m with
// "echo:"+m.
func echoServer(t testing.TB, cfg Config) string {
	return startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		if r.Header.Get("x-api-key") != "key" || r.Header.Get("x-instance-id") == "" {
			ws.Close(websocket.StatusPolicyViolation, "Missing API key")
			return
		}
		in := make(chan string, 16)
		cfg := cfg
		cfg.OnMessage = func(s string) { in <- s }
		c := NewConn(ws, cfg)
		defer c.Close()
		if err := c.SendAuthenticated(ctx); err != nil {
			return
		}
		for {
			select {
			case s := <-in:
				go c.Send(ctx, "echo:"+s) //nolint:errcheck
			case <-c.Done():
				return
			case <-ctx.Done():
				return
			}
		}
	})
}

func TestDialAuthenticatedAndExchange(t *testing.T) {
	var sentAuth atomic.Bool
	release := make(chan struct{})
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		if r.Header.Get("x-api-key") != "key" || r.Header.Get("x-instance-id") == "" {
			t.Errorf("headers %v", r.Header)
		}
		<-release
		sentAuth.Store(true)
		rawAuth(ctx, t, ws)
		// Then behave like a peer: ACK and echo one message.
		f := rawRead(ctx, ws)
		rawWrite(ctx, t, ws, string(protocol.AppendAck(nil, f.ID)))
		rawWrite(ctx, t, ws, string(protocol.AppendMessage(nil, uuid.NewString(), "echo:"+f.Data)))
		rawRead(ctx, ws) // its ACK
		rawRead(ctx, ws) // until closed
	})
	msgs := make(chan string, 4)
	done := make(chan *Conn)
	go func() {
		c, err := Dial(context.Background(), DialOptions{Endpoint: url, APIKey: "key", InstanceID: uuid.NewString()},
			Config{ConnectTimeout: hang, OnMessage: func(s string) { msgs <- s }})
		if err != nil {
			t.Errorf("Dial: %v", err)
		}
		done <- c
	}()
	close(release)
	c := <-done
	if c == nil {
		return
	}
	defer c.Close()
	if !sentAuth.Load() {
		t.Fatal("Dial returned before the server sent authenticated")
	}
	select {
	case <-c.Authenticated():
	default:
		t.Fatal("Authenticated not closed")
	}
	if err := c.Send(context.Background(), "hello"); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, msgs); got != "echo:hello" {
		t.Fatalf("got %q", got)
	}
	if c.Err() != nil {
		t.Fatalf("Err on open conn: %v", c.Err())
	}
}

func TestNewConnBothEnds(t *testing.T) {
	url := echoServer(t, Config{})
	msgs := make(chan string, 4)
	c := dial(t, url, Config{OnMessage: func(s string) { msgs <- s }})
	for _, s := range []string{"a", `{"id":"1","kind":"CALL","data":{},"methodName":"X"}`, ""} {
		if err := c.Send(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		if got := recv(t, msgs); got != "echo:"+s {
			t.Fatalf("got %q, want echo:%s", got, s)
		}
	}
}

func TestDialUnauthorized(t *testing.T) {
	const reason = "Invalid API key, please check the apiKey property. Get an API key at http://x/dashboard/develop/keys."
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		// The server side of this package refusing a key.
		c := NewConn(ws, Config{})
		c.CloseWith(websocket.StatusPolicyViolation, reason)
	})
	// A connect timeout far beyond the test's own hang bound: an answer
	// only after it would fail the test instead of passing late.
	done := make(chan error, 1)
	go func() {
		c, err := Dial(context.Background(), DialOptions{Endpoint: url, APIKey: "bad"}, Config{ConnectTimeout: time.Hour})
		if c != nil {
			c.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), reason) {
			t.Fatalf("got %v, want ErrUnauthorized with the reason", err)
		}
	case <-time.After(hang):
		t.Fatal("Dial did not return on a 1008 close")
	}
}

func TestDialHTTPRefusal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer srv.Close()
	_, err := Dial(context.Background(), DialOptions{Endpoint: "ws" + strings.TrimPrefix(srv.URL, "http")}, Config{ConnectTimeout: hang})
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("got %v", err)
	}
}

func TestDialClosedBeforeAuthOtherCode(t *testing.T) {
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		ws.Close(websocket.StatusServiceRestart, "Closing briefly for scheduled server restart.")
	})
	_, err := Dial(context.Background(), DialOptions{Endpoint: url}, Config{ConnectTimeout: time.Hour})
	if err == nil || errors.Is(err, ErrUnauthorized) || websocket.CloseStatus(err) != websocket.StatusServiceRestart {
		t.Fatalf("got %v", err)
	}
}

func TestDialContextEnds(t *testing.T) {
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		rawRead(ctx, ws) // never authenticates
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Dial(ctx, DialOptions{Endpoint: url}, Config{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled ctx: %v", err)
	}
	_, err := Dial(context.Background(), DialOptions{Endpoint: url}, Config{ConnectTimeout: 50 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("connect timeout: %v", err)
	}
}

// Every MESSAGE is ACKed before it is processed: the ACK of the first
// message arrives while OnMessage is still blocked on it. Control strings
// are ACKed and never delivered.
// TestAckBeforeProcessing: on a socket the adapter did not dial itself (a
// server's accepted socket, or a caller's own HTTP client) each ACK leaves
// before OnMessage runs.
func TestAckBeforeProcessing(t *testing.T) {
	unblock := make(chan struct{})
	got := make(chan string, 8)
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		rawAuth(ctx, t, ws)
		for i, data := range []string{"first", protocol.DataPing, "second", protocol.DataAuthenticated, "third"} {
			id := uuid.NewString()
			rawWrite(ctx, t, ws, string(protocol.AppendMessage(nil, id, data)))
			f := rawRead(ctx, ws)
			if f.Type != protocol.FrameAck || f.ID != id {
				t.Errorf("after %q: got %+v, want its ACK", data, f)
			}
			if i == 0 {
				close(unblock) // ACKed while OnMessage("first") waits
			}
		}
		rawRead(ctx, ws)
	})
	c, err := Dial(context.Background(), DialOptions{Endpoint: url, APIKey: "key", InstanceID: "i", HTTPClient: http.DefaultClient},
		Config{OnMessage: func(s string) {
			select {
			case <-unblock:
			case <-time.After(hang):
				t.Error("no ACK while OnMessage was running")
			}
			got <- s
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for _, want := range []string{"first", "second", "third"} {
		if s := recv(t, got); s != want {
			t.Fatalf("OnMessage got %q, want %q", s, want)
		}
	}
}

func TestAckWireFormat(t *testing.T) {
	frames := make(chan string, 1)
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		rawWrite(ctx, t, ws, `{"id":"5babc4a2-d889-4a4c-b90b-28e04acfe746","data":"authenticated","type":"MESSAGE"}`)
		_, p, _ := ws.Read(ctx)
		frames <- string(p)
		rawRead(ctx, ws)
	})
	dial(t, url, Config{})
	// Byte-identical to the Node SDK's ACK in trace 00.
	if got := recv(t, frames); got != `{"type":"ACK","id":"5babc4a2-d889-4a4c-b90b-28e04acfe746"}` {
		t.Fatalf("ACK %s", got)
	}
}

func TestSendAckTimeout(t *testing.T) {
	ackNext := make(chan struct{})
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		rawAuth(ctx, t, ws)
		rawRead(ctx, ws) // swallowed, never ACKed
		<-ackNext
		f := rawRead(ctx, ws)
		rawWrite(ctx, t, ws, string(protocol.AppendAck(nil, f.ID)))
		rawRead(ctx, ws)
	})
	c := dial(t, url, Config{SendTimeout: 50 * time.Millisecond})
	if err := c.Send(context.Background(), "lost"); !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("got %v, want ErrAckTimeout", err)
	}
	close(ackNext)
	// The connection stays usable; a late or unknown ACK is ignored.
	if err := c.SendTimeout(context.Background(), "kept", hang); err != nil {
		t.Fatalf("second send: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Send(ctx, "canceled"); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled send: %v", err)
	}
}

func TestMalformedFramesSkipped(t *testing.T) {
	got := make(chan string, 8)
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		rawAuth(ctx, t, ws)
		for _, s := range []string{
			`not json`, `{}`, `[]`, `{"type":"MESSAGE","id":"x"}`, `{"type":"MESSAGE","id":"x","data":{"a":1}}`,
			`{"type":"BOGUS","id":"x","data":"y"}`, `{"type":"ACK","id":"unknown"}`, `{"type":"ACK"}`,
		} {
			rawWrite(ctx, t, ws, s)
		}
		ws.Write(ctx, websocket.MessageBinary, []byte(`{"id":"b","data":"binary","type":"MESSAGE"}`)) //nolint:errcheck
		id := uuid.NewString()
		rawWrite(ctx, t, ws, string(protocol.AppendMessage(nil, id, "valid")))
		if f := rawRead(ctx, ws); f.Type != protocol.FrameAck || f.ID != id {
			t.Errorf("got %+v, want ACK of the valid message only", f)
		}
		rawRead(ctx, ws)
	})
	var logs lockedBuffer
	c := dial(t, url, Config{OnMessage: func(s string) { got <- s },
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if s := recv(t, got); s != "valid" {
		t.Fatalf("got %q", s)
	}
	if c.Err() != nil {
		t.Fatalf("connection ended: %v", c.Err())
	}
	// Each bad frame was logged before the valid one was handled.
	out := logs.String()
	if n := strings.Count(out, "level=WARN msg=\"websocket: ignoring malformed frame\""); n != 7 {
		t.Errorf("%d malformed frames logged, want 7 (every bad text frame but the ACK of an unknown id):\n%s", n, out)
	}
	if !strings.Contains(out, "ignoring binary frame") {
		t.Errorf("binary frame not logged:\n%s", out)
	}
}

// lockedBuffer is a strings.Builder safe for a logger's concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestLargeMessages(t *testing.T) {
	big := strings.Repeat(`{"k":"välue\n"},`, (1<<20)/16)
	url := echoServer(t, Config{})
	msgs := make(chan string, 1)
	c := dial(t, url, Config{OnMessage: func(s string) { msgs <- s }})
	if err := c.SendTimeout(context.Background(), big, hang); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, msgs); got != "echo:"+big {
		t.Fatalf("got %d bytes, want %d", len(got), len(big)+5)
	}
}

func TestPingKeepsConnectionAlive(t *testing.T) {
	url := echoServer(t, Config{DisablePing: true})
	c := dial(t, url, Config{
		PingInterval:             2 * time.Millisecond,
		PingTimeout:              hang,
		CloseUnresponsiveTimeout: 20 * time.Millisecond,
	})
	// Watch several pongs over more than the unresponsive timeout.
	first := c.LastPong()
	pongs := 0
	last := first
	deadline := time.After(hang)
	for pongs < 10 || time.Since(first) < 5*20*time.Millisecond {
		select {
		case <-c.Done():
			t.Fatalf("answered pings, still closed: %v", c.Err())
		case <-deadline:
			t.Fatalf("only %d pongs", pongs)
		case <-time.After(time.Millisecond):
		}
		if lp := c.LastPong(); lp.After(last) {
			pongs++
			last = lp
		}
	}
	if err := c.Send(context.Background(), "still here"); err != nil {
		t.Fatal(err)
	}
}

// A server whose reader is blocked answers no ping: after
// CloseUnresponsiveTimeout the connection ends with ErrUnresponsive.
func TestUnresponsivePeerClosed(t *testing.T) {
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		rawAuth(ctx, t, ws)
		<-ctx.Done() // stop reading: pings go unanswered
	})
	c := dial(t, url, Config{
		PingInterval:             10 * time.Millisecond,
		PingTimeout:              20 * time.Millisecond,
		CloseUnresponsiveTimeout: 100 * time.Millisecond,
	})
	waitDone(t, c)
	if !errors.Is(c.Err(), ErrUnresponsive) {
		t.Fatalf("Err = %v, want ErrUnresponsive", c.Err())
	}
	if err := c.Send(context.Background(), "x"); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Send after close: %v", err)
	}
}

// The "ping" MESSAGE (browser liveness) is ACKed and counts as a sign of life.
func TestPingMessage(t *testing.T) {
	got := make(chan string, 4)
	start := make(chan struct{})
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		rawAuth(ctx, t, ws)
		<-start
		for _, d := range []string{protocol.DataPing, "after"} {
			id := uuid.NewString()
			rawWrite(ctx, t, ws, string(protocol.AppendMessage(nil, id, d)))
			if f := rawRead(ctx, ws); f.Type != protocol.FrameAck || f.ID != id {
				t.Errorf("%q: got %+v, want ACK", d, f)
			}
		}
		rawRead(ctx, ws)
	})
	c := dial(t, url, Config{DisablePing: true, OnMessage: func(s string) { got <- s }})
	before := c.LastPong()
	time.Sleep(time.Millisecond) // let the clock move past before
	close(start)
	if s := recv(t, got); s != "after" {
		t.Fatalf("OnMessage got %q, want only \"after\"", s)
	}
	if !c.LastPong().After(before) {
		t.Errorf("ping MESSAGE did not update LastPong")
	}
}

func TestPeerCloseEndsConn(t *testing.T) {
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		rawAuth(ctx, t, ws)
		ws.Close(websocket.StatusServiceRestart, "restart")
	})
	c := dial(t, url, Config{})
	waitDone(t, c)
	if websocket.CloseStatus(c.Err()) != websocket.StatusServiceRestart {
		t.Fatalf("Err = %v", c.Err())
	}
	if err := c.Send(context.Background(), "x"); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Send: %v", err)
	}
}

func TestCloseLocally(t *testing.T) {
	closed := make(chan websocket.StatusCode, 1)
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		rawAuth(ctx, t, ws)
		_, _, err := ws.Read(ctx)
		closed <- websocket.CloseStatus(err)
	})
	c := dial(t, url, Config{})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(c.Err(), ErrClosedLocally) {
		t.Fatalf("Err = %v", c.Err())
	}
	select {
	case code := <-closed:
		if code != websocket.StatusNormalClosure {
			t.Fatalf("server saw close %v", code)
		}
	case <-time.After(hang):
		t.Fatal("server saw no close")
	}
	c.Close() // twice is fine
}

// A server closing a socket from inside OnMessage (say, a rate limit) must
// not deadlock.
func TestCloseFromOnMessage(t *testing.T) {
	closed := make(chan error, 1)
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		var c *Conn
		ready := make(chan struct{})
		c = NewConn(ws, Config{OnMessage: func(s string) {
			<-ready
			closed <- c.CloseWith(websocket.StatusPolicyViolation, "Rate limit exceeded.")
		}})
		close(ready)
		c.SendAuthenticated(ctx) //nolint:errcheck
		select {
		case <-c.Done():
		case <-ctx.Done():
		}
		c.Close()
	})
	client := dial(t, url, Config{})
	client.Send(context.Background(), "too many") //nolint:errcheck
	select {
	case <-closed:
	case <-time.After(hang):
		t.Fatal("CloseWith inside OnMessage deadlocked")
	}
	waitDone(t, client)
	if websocket.CloseStatus(client.Err()) != websocket.StatusPolicyViolation {
		t.Fatalf("client Err = %v", client.Err())
	}
}

func TestConcurrentSends(t *testing.T) {
	url := echoServer(t, Config{})
	var n atomic.Int64
	c := dial(t, url, Config{OnMessage: func(string) { n.Add(1) }})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if err := c.SendTimeout(context.Background(), `{"x":1}`, hang); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	// Every message was delivered to the server and echoed back.
	deadline := time.After(hang)
	for n.Load() < 8*50 {
		select {
		case <-deadline:
			t.Fatalf("%d echoes, want %d", n.Load(), 8*50)
		case <-time.After(time.Millisecond):
		}
	}
}

func BenchmarkRoundTrip(b *testing.B) {
	url := startServer(b, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		c := NewConn(ws, Config{DisablePing: true})
		defer c.Close()
		if c.SendAuthenticated(ctx) != nil {
			return
		}
		select {
		case <-c.Done():
		case <-ctx.Done():
		}
	})
	c := dial(b, url, Config{DisablePing: true})
	msg := `{"id":"2","kind":"CALL","data":{"transactionId":"cf7234b7-27e7-45da-8407-317af7846b34","ioCall":"{}"},"methodName":"SEND_IO_CALL"}`
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for b.Loop() {
		if err := c.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPostAcked: Post returns once written and reports each message's fate
// exactly once: the ACK, a missing ACK, or the connection ending.
func TestPostAcked(t *testing.T) {
	release := make(chan struct{})
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		rawAuth(ctx, t, ws)
		f := rawRead(ctx, ws)
		rawWrite(ctx, t, ws, string(protocol.AppendAck(nil, f.ID)))
		rawRead(ctx, ws) // never ACKed: times out
		rawRead(ctx, ws) // never ACKed: the connection ends first
		<-release
	})
	c := dial(t, url, Config{})
	results := make(chan error, 8)
	record := func(err error) { results <- err }
	if err := c.Post(context.Background(), "acked", hang, record); err != nil {
		t.Fatal(err)
	}
	if err := <-results; err != nil {
		t.Fatalf("acknowledged message reported %v", err)
	}
	if err := c.Post(context.Background(), "lost", 20*time.Millisecond, record); err != nil {
		t.Fatal(err)
	}
	if err := <-results; !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("unacknowledged message reported %v, want ErrAckTimeout", err)
	}
	if err := c.Post(context.Background(), "pending", hang, record); err != nil {
		t.Fatal(err)
	}
	close(release) // the server hangs up
	if err := <-results; !errors.Is(err, ErrNotConnected) {
		t.Fatalf("message pending at close reported %v, want ErrNotConnected", err)
	}
	waitDone(t, c)
	if err := c.Post(context.Background(), "after", hang, record); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Post on an ended connection: %v", err)
	}
	select {
	case err := <-results:
		t.Fatalf("acked called again (%v)", err)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestAckAndReplyBatched: on a dialed socket the ACK of a message and what
// OnMessage writes leave together, in order: the ACK, then the reply.
func TestAckAndReplyBatched(t *testing.T) {
	type frame struct{ typ, id, data string }
	frames := make(chan frame, 8)
	start := make(chan struct{})
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		rawAuth(ctx, t, ws)
		<-start
		for range 3 {
			rawWrite(ctx, t, ws, string(protocol.AppendMessage(nil, uuid.NewString(), "call")))
			for range 2 {
				f := rawRead(ctx, ws)
				if f.Type == protocol.FrameMessage {
					rawWrite(ctx, t, ws, string(protocol.AppendAck(nil, f.ID)))
				}
				frames <- frame{string(f.Type), f.ID, f.Data}
			}
		}
		rawRead(ctx, ws)
	})
	var c *Conn
	replies := make(chan error, 3)
	c = dial(t, url, Config{OnMessage: func(s string) {
		if err := c.Post(context.Background(), "reply:"+s, hang, func(err error) { replies <- err }); err != nil {
			t.Error(err)
		}
	}})
	close(start)
	for range 3 {
		ack, reply := <-frames, <-frames
		if ack.typ != string(protocol.FrameAck) || reply.typ != string(protocol.FrameMessage) || reply.data != "reply:call" {
			t.Fatalf("got %+v then %+v, want the ACK then the reply", ack, reply)
		}
		if err := <-replies; err != nil {
			t.Fatalf("reply not acknowledged: %v", err)
		}
	}
}

// TestAckDeadlinesShareOneTimer: messages with different ACK timeouts, sent
// in any order, each time out at their own deadline (a later message with
// a shorter timeout does not wait for an earlier, longer one), and a
// message acknowledged in time is not failed by the expiry of others; once
// nothing waits, the connection lets its timer go.
func TestAckDeadlinesShareOneTimer(t *testing.T) {
	ackLong := make(chan struct{})
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		rawAuth(ctx, t, ws)
		long := rawRead(ctx, ws)
		rawRead(ctx, ws) // "short": never ACKed
		<-ackLong
		rawWrite(ctx, t, ws, string(protocol.AppendAck(nil, long.ID)))
		rawRead(ctx, ws) // "again": never ACKed
		rawRead(ctx, ws)
	})
	c := dial(t, url, Config{DisablePing: true})
	longRes, shortRes, againRes := make(chan error, 1), make(chan error, 1), make(chan error, 1)
	if err := c.Post(context.Background(), "long", hang, func(err error) { longRes <- err }); err != nil {
		t.Fatal(err)
	}
	if err := c.Post(context.Background(), "short", 20*time.Millisecond, func(err error) { shortRes <- err }); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-shortRes:
		if !errors.Is(err, ErrAckTimeout) {
			t.Fatalf("short: %v, want ErrAckTimeout", err)
		}
	case err := <-longRes:
		t.Fatalf("long reported %v before short timed out", err)
	case <-time.After(hang):
		t.Fatal("short never timed out: it waited for the long deadline")
	}
	close(ackLong)
	if err := <-longRes; err != nil {
		t.Fatalf("long: %v, want its ACK", err)
	}
	// The timer serves later messages too.
	if err := c.Post(context.Background(), "again", 20*time.Millisecond, func(err error) { againRes <- err }); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-againRes:
		if !errors.Is(err, ErrAckTimeout) {
			t.Fatalf("again: %v, want ErrAckTimeout", err)
		}
	case <-time.After(hang):
		t.Fatal("again never timed out")
	}
	c.mu.Lock()
	held := c.ackTimer != nil
	c.mu.Unlock()
	if held {
		t.Fatal("a connection with nothing waiting for an ACK keeps its timer")
	}
}

// TestAckDeadlineOutlivesAPause: an ACK timer that fires much later than
// it was due (the process was stopped, or its machine paused: its timers
// did not fire) does not fail the messages waiting at once, as their ACKs
// may wait unread in the connection: the ACK read then resolves the
// message. The deadlines move once: a peer that stays silent still fails
// them. (After a freeze, a server closed sockets whose peers had
// acknowledged everything.)
func TestAckDeadlineOutlivesAPause(t *testing.T) {
	const timeout = 50 * time.Millisecond
	ackSecond := make(chan struct{})
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		rawAuth(ctx, t, ws)
		rawRead(ctx, ws) // "silent": never ACKed
		second := rawRead(ctx, ws)
		select {
		case <-ackSecond:
		case <-ctx.Done():
			return
		}
		rawWrite(ctx, t, ws, string(protocol.AppendAck(nil, second.ID)))
		rawRead(ctx, ws)
	})
	c := dial(t, url, Config{DisablePing: true})
	silent, acked := make(chan error, 1), make(chan error, 1)
	// pause posts a message and stops the ACK timer for longer than the
	// slack, as a stopped process's timers do not fire; it returns when
	// the timer would have fired late.
	pause := func(data string, res chan error) {
		t.Helper()
		if err := c.Post(context.Background(), data, timeout, func(err error) { res <- err }); err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		c.ackTimer.Stop()
		c.mu.Unlock()
		time.Sleep(ackPauseSlack + 2*timeout)
	}

	pause("silent", silent)
	c.expireAcks() // the timer, late
	select {
	case err := <-silent:
		t.Fatalf("a message failed (%v) as the timer fired late", err)
	default:
	}
	select {
	case err := <-silent:
		if !errors.Is(err, ErrAckTimeout) {
			t.Fatalf("the silent peer's message: %v, want ErrAckTimeout", err)
		}
	case <-time.After(hang):
		t.Fatal("a peer that stays silent never failed the message once its deadline moved")
	}

	pause("second", acked)
	c.expireAcks()
	close(ackSecond) // an ACK that came during the pause, read now
	select {
	case err := <-acked:
		if err != nil {
			t.Fatalf("the message acknowledged after the pause: %v, want its ACK", err)
		}
	case <-time.After(hang):
		t.Fatal("the message acknowledged after the pause never resolved")
	}
}

// TestMessagesOutliveTheReadBuffer: messages are read into buffers that
// are used again for later messages; the data handed to OnMessage is its
// own and stays intact, in either frame shape (the fast decoder's and
// encoding/json's).
func TestMessagesOutliveTheReadBuffer(t *testing.T) {
	var want []string
	for i := range 50 {
		want = append(want, fmt.Sprintf("message %d %s", i, strings.Repeat(string(rune('a'+i%26)), i*40)))
	}
	url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
		rawAuth(ctx, t, ws)
		for i, s := range want {
			frame := string(protocol.AppendMessage(nil, uuid.NewString(), s))
			if i%2 == 1 { // another key order: decoded by encoding/json
				frame = fmt.Sprintf(`{"type":"MESSAGE","data":%q,"id":%q}`, s, uuid.NewString())
			}
			rawWrite(ctx, t, ws, frame)
		}
		for rawRead(ctx, ws).Type != "" { // the ACKs, until the close
		}
	})
	got := make(chan string, len(want))
	dial(t, url, Config{DisablePing: true, OnMessage: func(s string) { got <- s }})
	var all []string
	for range want {
		all = append(all, recv(t, got))
	}
	for i := range want {
		if all[i] != want[i] {
			t.Fatalf("message %d: got %.40q…, want %.40q…", i, all[i], want[i])
		}
	}
}

// A message whose ACK is overdue makes the connection ping its peer at
// once: a peer that answers no ping either (a network path that died
// without a close: nothing is read) is closed as unresponsive then, not
// after CloseUnresponsiveTimeout; one that answers keeps its connection,
// however slow its ACKs.
func TestOverdueAckProbesPeer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		reading bool // the peer reads on (its reader answers pings) without ACKing
	}{{"silent peer", false}, {"peer slow to acknowledge", true}} {
		t.Run(tc.name, func(t *testing.T) {
			url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
				rawAuth(ctx, t, ws)
				rawRead(ctx, ws) // never ACKed
				if tc.reading {
					for ctx.Err() == nil {
						rawRead(ctx, ws)
					}
				}
				<-ctx.Done()
			})
			c := dial(t, url, Config{SendTimeout: 50 * time.Millisecond, PingInterval: time.Hour,
				PingTimeout: 200 * time.Millisecond, CloseUnresponsiveTimeout: time.Hour})
			if err := c.Send(context.Background(), "unacknowledged"); !errors.Is(err, ErrAckTimeout) {
				t.Fatalf("got %v, want ErrAckTimeout", err)
			}
			select {
			case <-c.Done():
				if !tc.reading && !errors.Is(c.Err(), ErrUnresponsive) {
					t.Fatalf("closed with %v, want ErrUnresponsive", c.Err())
				}
				if tc.reading {
					t.Fatalf("a peer that answers pings lost its connection: %v", c.Err())
				}
			case <-time.After(2 * time.Second):
				if !tc.reading {
					t.Fatal("the connection to a peer answering neither ACKs nor pings is still open 2s after an ACK was overdue")
				}
			}
		})
	}
}
