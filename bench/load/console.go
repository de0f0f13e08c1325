package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	wsa "github.com/interval-go/sdk/internal/isocket"
	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/internal/rpc"
)

// console is an operator's logged-in session: the console's HTTP API with
// the session cookie, and the browser sockets opened with it.
type console struct {
	base string // http://host:port
	http *http.Client
	// keyRuns gives each run created a "run" param of its own (runKeys
	// counts them), for hosts that are not told a run's id.
	keyRuns bool
	runKeys atomic.Uint64
}

// errStatus is wrapped by the errors of API calls answered with an
// unexpected HTTP status.
var errStatus = errors.New("unexpected HTTP status")

// statusError is an API call's unexpected HTTP status; it wraps
// errStatus.
type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string { return fmt.Sprintf("%v %d: %s", errStatus, e.code, e.body) }

func (e *statusError) Unwrap() error { return errStatus }

// login opens a console session with a one-time login link, as a browser
// following it does.
func login(ctx context.Context, link string, conns int) (*console, error) {
	u, err := url.Parse(link)
	if err != nil {
		return nil, fmt.Errorf("login link: %w", err)
	}
	jar, _ := cookiejar.New(nil)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conns
	tr.MaxIdleConns = conns
	c := &console{base: u.Scheme + "://" + u.Host, http: &http.Client{Jar: jar, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return nil, fmt.Errorf("login link: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("login link: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		return nil, fmt.Errorf("login link: %w %d", errStatus, resp.StatusCode)
	}
	if len(jar.Cookies(u)) == 0 {
		return nil, errors.New("login link: no session cookie (used or expired link?)")
	}
	return c, nil
}

// close ends the session's idle HTTP connections.
func (c *console) close() { c.http.CloseIdleConnections() }

// do sends a console API request (with the CSRF header) and decodes the
// JSON answer into out when the status is want.
func (c *console) do(ctx context.Context, method, path string, body, out any, want int) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("X-Interval-Console", "1")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %w", method, path, &statusError{code: resp.StatusCode, body: protocol.Clip(strings.TrimSpace(string(data)), 200)})
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// createKey creates an API key of env and returns it.
func (c *console) createKey(ctx context.Context, env string) (string, error) {
	var out struct{ Key string }
	if err := c.do(ctx, http.MethodPost, "/api/console/keys", map[string]string{"env": env, "label": "bench/load"}, &out, http.StatusCreated); err != nil {
		return "", fmt.Errorf("creating a %s key: %w", env, err)
	}
	return out.Key, nil
}

// onlineHosts returns how many hosts of env are online and whether slug is
// served.
func (c *console) onlineHosts(ctx context.Context, env, slug string) (int, bool, error) {
	var out struct {
		Actions []struct {
			Slug   string
			Online bool
		}
		Hosts []struct{ Status string }
	}
	if err := c.do(ctx, http.MethodGet, "/api/console/routes?env="+env, nil, &out, http.StatusOK); err != nil {
		return 0, false, err
	}
	n := 0
	for _, h := range out.Hosts {
		if h.Status == "ONLINE" {
			n++
		}
	}
	for _, a := range out.Actions {
		if a.Slug == slug && a.Online {
			return n, true, nil
		}
	}
	return n, false, nil
}

// createRun creates a run of slug (POST /api/console/transactions), as the
// console does when an operator opens an action, and returns its id.
// With keyRuns set, each run gets a param "run" of its own, by which a Node
// SDK host tells its runs apart (prochosts.go).
func (c *console) createRun(ctx context.Context, slug, env string) (string, error) {
	var out struct{ ID string }
	params := map[string]any{}
	if c.keyRuns {
		params["run"] = strconv.FormatUint(c.runKeys.Add(1), 10)
	}
	if err := c.do(ctx, http.MethodPost, "/api/console/transactions", map[string]any{"slug": slug, "env": env, "params": params}, &out, http.StatusCreated); err != nil {
		return "", fmt.Errorf("creating a run: %w", err)
	}
	return out.ID, nil
}

// A browser is one console socket, as the console's lib/socket.js opens
// it: ISocket framing (every MESSAGE acknowledged on receipt), DuplexRPC,
// INITIALIZE_CLIENT first; server calls are answered true (void for the
// methods socket.js answers void).
type browser struct {
	conn *wsa.Conn
	peer *rpc.Peer

	mu   sync.Mutex
	runs map[string]*watch
	// The server closes a socket that makes more than its limit of calls
	// in one wall-clock second (browserCallsPerSecond, 100); calls are
	// reserved against budget per second so that the load never trips it.
	sec    int64
	used   int
	budget int
}

// watch receives what the server tells a browser about one run.
type watch struct {
	render    chan string                              // RENDER's toRender
	completed chan protocol.TransactionCompletedInputs // TRANSACTION_COMPLETED
}

// voidMethods are answered without data, as socket.js does.
var voidMethods = map[string]bool{protocol.MethodClientUsurped: true, protocol.MethodHostClosedUnexpectedly: true, protocol.MethodHostReconnected: true}

// dialBrowser opens and initializes a console socket with the session's
// cookie; budget is the calls it may make per second.
func (c *console) dialBrowser(ctx context.Context, budget int) (*browser, error) {
	u, _ := url.Parse(c.base)
	h := http.Header{}
	for _, ck := range c.http.Jar.Cookies(u) {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	h.Set("Origin", c.base)
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(c.base, "http")+"/websocket", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		return nil, fmt.Errorf("browser socket: %w", err)
	}
	b := &browser{runs: map[string]*watch{}, budget: budget}
	b.peer = rpc.NewPostPeer(func(ctx context.Context, data string, acked func(error)) error {
		return b.conn.Post(ctx, data, wsa.DefaultSendTimeout, acked)
	}, b.handle, nil, nil)
	b.conn = wsa.NewConn(ws, wsa.Config{OnMessage: b.peer.Receive, DisablePing: true})
	if err := b.reserve(ctx, 1); err != nil {
		b.close()
		return nil, err
	}
	if err := b.must(ctx, protocol.MethodInitializeClient, nil); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// handle answers the server's calls; it runs on the socket's reader and
// never blocks.
func (b *browser) handle(method string, data json.RawMessage) (any, error) {
	switch method {
	case protocol.MethodRender:
		var in protocol.RenderInputs
		if json.Unmarshal(data, &in) == nil {
			if w := b.watching(in.TransactionID); w != nil {
				select {
				case w.render <- in.ToRender:
				default: // a replayed render of a call already seen
				}
			}
		}
	case protocol.MethodTransactionCompleted:
		var in protocol.TransactionCompletedInputs
		if json.Unmarshal(data, &in) == nil {
			if w := b.watching(in.TransactionID); w != nil {
				select {
				case w.completed <- in:
				default:
				}
			}
		}
	}
	if voidMethods[method] {
		return nil, nil
	}
	return true, nil
}

func (b *browser) watching(id string) *watch {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.runs[id]
}

// watch starts collecting the renders and the completion of run id.
func (b *browser) watch(id string) *watch {
	w := &watch{render: make(chan string, 1), completed: make(chan protocol.TransactionCompletedInputs, 1)}
	b.mu.Lock()
	b.runs[id] = w
	b.mu.Unlock()
	return w
}

func (b *browser) unwatch(id string) {
	b.mu.Lock()
	delete(b.runs, id)
	b.mu.Unlock()
}

// tryReserve takes n calls from the current second's budget, if they fit.
func (b *browser) tryReserve(n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now := time.Now().Unix(); now != b.sec {
		b.sec, b.used = now, 0
	}
	if b.used+n > b.budget {
		return false
	}
	b.used += n
	return true
}

// reservedSec returns the wall-clock second of the last reservation.
func (b *browser) reservedSec() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sec
}

// reserve waits until n calls fit in a second's budget and takes them.
func (b *browser) reserve(ctx context.Context, n int) error {
	for !b.tryReserve(n) {
		next := time.Unix(time.Now().Unix()+1, 0)
		t := time.NewTimer(time.Until(next) + time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-b.conn.Done():
			t.Stop()
			return b.closedErr()
		}
	}
	return nil
}

// closedErr says why the socket ended.
func (b *browser) closedErr() error {
	return fmt.Errorf("browser socket closed: %w", b.conn.Err())
}

// must calls method (its calls reserved by the caller) and wants true.
func (b *browser) must(ctx context.Context, method string, in any) error {
	var ok bool
	if err := b.peer.Call(ctx, method, in, &ok); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	if !ok {
		return fmt.Errorf("%s: %w", method, errRefused)
	}
	return nil
}

// errRefused is wrapped by the errors of calls the server answered false.
var errRefused = errors.New("refused by the server")

// closed reports whether the socket has ended.
func (b *browser) closed() bool {
	select {
	case <-b.conn.Done():
		return true
	default:
		return false
	}
}

// close ends the socket and waits for its goroutines.
func (b *browser) close() {
	b.conn.Close()
	b.peer.Close()
}

// waitRender waits for the render of w's run and returns the IO call.
func (b *browser) waitRender(ctx context.Context, w *watch) (protocol.IORender, error) {
	select {
	case s := <-w.render:
		return protocol.DecodeIORender(s)
	case <-ctx.Done():
		return protocol.IORender{}, fmt.Errorf("waiting for RENDER: %w", ctx.Err())
	case <-b.conn.Done():
		return protocol.IORender{}, b.closedErr()
	}
}

// waitCompleted waits for the completion of w's run.
func (b *browser) waitCompleted(ctx context.Context, w *watch) (protocol.TransactionCompletedInputs, error) {
	select {
	case c := <-w.completed:
		return c, nil
	case <-ctx.Done():
		return protocol.TransactionCompletedInputs{}, fmt.Errorf("waiting for TRANSACTION_COMPLETED: %w", ctx.Err())
	case <-b.conn.Done():
		return protocol.TransactionCompletedInputs{}, b.closedErr()
	}
}

// ioResponse is the operator's answer to a text input.
func ioResponse(txID string, r protocol.IORender, answer string) string {
	v, _ := json.Marshal(answer)
	b, _ := json.Marshal(protocol.IOResponse{ID: r.ID, TransactionID: txID, InputGroupKey: r.InputGroupKey,
		Values: []json.RawMessage{v}, Kind: protocol.KindReturn})
	return string(b)
}

// resultData returns the data of a SUCCESS result as a string.
func resultData(c protocol.TransactionCompletedInputs) (string, bool) {
	if c.ResultStatus != "SUCCESS" {
		return "", false
	}
	var r protocol.ActionResult
	if json.Unmarshal([]byte(c.Result), &r) != nil {
		return "", false
	}
	var s string
	if json.Unmarshal(r.Data, &s) != nil {
		return "", false
	}
	return s, true
}
