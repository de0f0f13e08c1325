// Package intervaltest runs actions in tests, the way net/http/httptest runs
// handlers: an in-process Interval server on a loopback websocket to which a
// real interval.Client connects. A test starts a transaction as a given user
// with params, sees each render, answers fields by label, and reads the
// result.
//
//	func TestRefund(t *testing.T) {
//		h := intervaltest.New(t, routes()) // your *router.Mux; closed when t ends
//		ctx := t.Context()
//		run, err := h.Start(ctx, "refund", intervaltest.As(intervaltest.Admin))
//		if err != nil {
//			t.Fatal(err)
//		}
//		form, err := run.Next(ctx) // the first render
//		if err != nil {
//			t.Fatal(err)
//		}
//		if err := form.Answer(ctx, intervaltest.Values{"Amount": 12}); err != nil {
//			t.Fatal(err)
//		}
//		res, err := run.Result(ctx)
//		if err != nil || res.Status != "SUCCESS" {
//			t.Fatalf("result %+v, %v", res, err)
//		}
//	}
//
// Every wait takes a context and returns an error wrapping ErrTimeout when
// it ends first, so give the test's context a deadline (go test -timeout
// does not cancel it).
//
// Server is the protocol side alone, for tests that need to control the
// connection (drop it, refuse keys, inspect raw calls).
package intervaltest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ws "github.com/coder/websocket"
	"github.com/google/uuid"

	wsadapter "github.com/interval-go/sdk/internal/isocket"
	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/internal/rpc"
)

// Protocol types that appear in this package's API, named here so that
// tests outside this module can spell them.
type (
	// Definitions is what a host declares with INITIALIZE_HOST: its
	// actions and pages (groups), SDK name and version.
	Definitions = protocol.InitializeHostInputs
	// ComponentRender is one component of a render: its method name
	// (INPUT_TEXT…), label, props and validation message.
	ComponentRender = protocol.ComponentRender
	// LoadingState is a loading indicator a transaction sent.
	LoadingState = protocol.LoadingState
	// Redirect is a redirect a transaction sent.
	Redirect = protocol.Redirect
	// Layout is a page's layout as the host sent it.
	Layout = protocol.Layout
	// StartInputs is the START_TRANSACTION (and OPEN_PAGE) a StartOption
	// adjusts before it is sent.
	StartInputs = protocol.StartTransactionInputs
)

// Errors of the test server.
var (
	// ErrNoHost is returned by Start when no host has initialized.
	ErrNoHost = errors.New("intervaltest: no host connected")
	// ErrTimeout is returned when an expected message does not arrive
	// before the context ends.
	ErrTimeout = errors.New("intervaltest: timed out waiting")
)

// Server is an in-process Interval server speaking the host side of the
// protocol on a loopback websocket.
type Server struct {
	// URL is the websocket endpoint hosts dial (ws://127.0.0.1:port/websocket).
	URL string
	// APIKey, if set, is the only key accepted; others are refused with close
	// code 1008, as the Interval server does.
	APIKey string
	// OnInitialize, if set, is called with each host's INITIALIZE_HOST
	// (already recorded) before it is answered, on the socket's reader:
	// the answer, and the host's further messages, wait until it returns.
	// Tests use it to act while a host initializes, such as dropping the
	// connection. Set it before hosts connect.
	OnInitialize func(*Host)

	hs      *httptest.Server
	log     *slog.Logger
	counter atomic.Uint64

	mu            sync.Mutex
	hosts         []*Host
	txs           map[string]*Transaction
	pages         map[string]*PageView
	changed       chan struct{} // closed and replaced on every recorded event
	notifications []Notification
	queue         map[string]protocol.EnqueueInputs
	closed        bool
	refusing      bool // Refuse
	refused       int
	handlers      sync.WaitGroup
}

// NewServer starts a Server. Close it when done.
func NewServer() *Server {
	s := &Server{txs: map[string]*Transaction{}, pages: map[string]*PageView{}, changed: make(chan struct{}),
		queue: map[string]protocol.EnqueueInputs{},
		log:   slog.New(slog.DiscardHandler)}
	mux := http.NewServeMux()
	mux.HandleFunc("/websocket", s.serveWS)
	mux.HandleFunc("/api/", s.serveAPI)
	s.hs = httptest.NewServer(mux)
	s.URL = "ws" + strings.TrimPrefix(s.hs.URL, "http") + "/websocket"
	return s
}

// Close disconnects every host and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	hosts := append([]*Host(nil), s.hosts...)
	s.mu.Unlock()
	for _, h := range hosts {
		h.conn.CloseWith(ws.StatusServiceRestart, "Closing briefly for scheduled server restart.")
	}
	s.hs.CloseClientConnections()
	s.hs.Close()
	s.handlers.Wait()
}

func (s *Server) notify() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// waitFor calls cond under the server's lock until it returns true or ctx
// ends.
func (s *Server) waitFor(ctx context.Context, what string, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%w for %s: %w", ErrTimeout, what, ctx.Err())
		}
	}
}

// Host is one connected host socket.
type Host struct {
	s          *Server
	conn       *wsadapter.Conn
	peer       *rpc.Peer
	InstanceID string
	APIKey     string

	// Set under the server's lock; read through Definitions,
	// IsShuttingDown and IsClosed.
	init         *protocol.InitializeHostInputs
	inits        int
	shuttingDown bool
	closed       bool
	answered     map[string]int // responses the host acknowledged, by method
}

// Refuse makes the server refuse new host connections (HTTP 503) while on
// is true, as a server that is down would: with Host.Drop it lets a test
// keep a host disconnected for as long as it needs. Refused counts the
// attempts refused so far.
func (s *Server) Refuse(on bool) {
	s.mu.Lock()
	s.refusing = on
	s.mu.Unlock()
}

// Refused returns how many host connection attempts Refuse has refused.
func (s *Server) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "closed", http.StatusServiceUnavailable)
		return
	}
	if s.refusing {
		s.refused++
		s.mu.Unlock()
		s.notify()
		http.Error(w, "refusing connections", http.StatusServiceUnavailable)
		return
	}
	s.handlers.Add(1)
	s.mu.Unlock()
	defer s.handlers.Done()
	c, err := ws.Accept(w, r, nil)
	if err != nil {
		return
	}
	key := r.Header.Get("x-api-key")
	if key == "" || (s.APIKey != "" && key != s.APIKey) {
		c.Close(ws.StatusPolicyViolation, "Invalid API key, please check the apiKey property.")
		return
	}
	h := &Host{s: s, InstanceID: r.Header.Get("x-instance-id"), APIKey: key, answered: map[string]int{}}
	h.peer = rpc.NewPeer(h.send, h.handle, &s.counter, s.log)
	h.conn = wsadapter.NewConn(c, wsadapter.Config{OnMessage: h.peer.Receive, Logger: s.log})
	s.mu.Lock()
	s.hosts = append(s.hosts, h)
	s.mu.Unlock()
	s.notify()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err = h.conn.SendAuthenticated(ctx)
	cancel()
	if err == nil {
		<-h.conn.Done()
	}
	h.peer.Close()
	h.conn.Close()
	s.mu.Lock()
	h.closed = true
	s.mu.Unlock()
	s.notify()
}

// send writes one envelope and waits for its ACK, counting acknowledged
// responses.
func (h *Host) send(ctx context.Context, data string) error {
	if err := h.conn.Send(ctx, data); err != nil {
		return err
	}
	if env, err := protocol.DecodeEnvelope(data); err == nil && env.Kind == protocol.KindResponse {
		h.s.mu.Lock()
		h.answered[env.MethodName]++
		h.s.mu.Unlock()
		h.s.notify()
	}
	return nil
}

func (h *Host) handle(method string, data json.RawMessage) (any, error) {
	s := h.s
	switch method {
	case protocol.MethodInitializeHost:
		var in protocol.InitializeHostInputs
		if err := json.Unmarshal(data, &in); err != nil {
			return nil, err
		}
		s.mu.Lock()
		h.init = &in
		h.inits++
		hook := s.OnInitialize
		s.mu.Unlock()
		s.notify()
		if hook != nil {
			hook(h)
		}
		return protocol.InitializeHostReturns{Type: "success", Environment: h.Environment(),
			Organization: &protocol.Organization{Name: "Test Org", Slug: "test"},
			DashboardURL: strings.TrimSuffix(s.hs.URL, "/") + "/"}, nil
	case protocol.MethodBeginHostShutdown:
		s.mu.Lock()
		h.shuttingDown = true
		s.mu.Unlock()
		s.notify()
		return protocol.TypedResult{Type: "success"}, nil
	case protocol.MethodSendIOCall:
		var in protocol.SendIOCallInputs
		if err := json.Unmarshal(data, &in); err != nil {
			return nil, err
		}
		r, err := protocol.DecodeIORender(in.IOCall)
		if err != nil {
			return protocol.SendIOCallReturns{Message: err.Error()}, nil
		}
		if t := s.tx(in.TransactionID); t != nil {
			s.mu.Lock()
			t.renders = append(t.renders, &Render{t: t, IORender: r, Raw: in.IOCall})
			t.host = h
			s.mu.Unlock()
			s.notify()
			return protocol.SendIOCallReturns{OK: true}, nil
		}
		return protocol.SendIOCallReturns{Message: "Transaction not found."}, nil
	case protocol.MethodSendLog:
		var in protocol.SendLogInputs
		if err := json.Unmarshal(data, &in); err != nil {
			return nil, err
		}
		return s.record(in.TransactionID, func(t *Transaction) { t.Logs = append(t.Logs, in.Data) }), nil
	case protocol.MethodSendLoadingCall:
		var in protocol.SendLoadingCallInputs
		if err := json.Unmarshal(data, &in); err != nil {
			return nil, err
		}
		if s.recordPage(in.TransactionID, func(p *PageView) { p.loading = append(p.loading, in.LoadingState) }) {
			return true, nil
		}
		return s.record(in.TransactionID, func(t *Transaction) { t.Loading = append(t.Loading, in.LoadingState) }), nil
	case protocol.MethodSendRedirect:
		var in protocol.SendRedirectInputs
		if err := json.Unmarshal(data, &in); err != nil {
			return nil, err
		}
		if s.recordPage(in.TransactionID, func(p *PageView) { p.redirects = append(p.redirects, in.Redirect) }) {
			return true, nil
		}
		return s.record(in.TransactionID, func(t *Transaction) { t.Redirects = append(t.Redirects, in.Redirect) }), nil
	case protocol.MethodMarkTransactionComplete:
		var in protocol.MarkTransactionCompleteInputs
		if err := json.Unmarshal(data, &in); err != nil {
			return nil, err
		}
		return s.record(in.TransactionID, func(t *Transaction) {
			t.completions++
			t.result = &in
		}), nil
	case protocol.MethodSendPage:
		var in protocol.SendPageInputs
		if err := json.Unmarshal(data, &in); err != nil {
			return nil, err
		}
		s.mu.Lock()
		p := s.pages[in.PageKey]
		if p != nil {
			p.layouts = append(p.layouts, in.Page)
		}
		s.mu.Unlock()
		s.notify()
		return p != nil, nil
	}
	return nil, fmt.Errorf("intervaltest: unknown method %s", method)
}

func (s *Server) tx(id string) *Transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.txs[id]
}

// recordPage is record for a page opened by OpenPage (loading states and
// redirects carry its key as their transactionId).
func (s *Server) recordPage(key string, f func(*PageView)) bool {
	s.mu.Lock()
	p := s.pages[key]
	if p != nil {
		f(p)
	}
	s.mu.Unlock()
	if p != nil {
		s.notify()
	}
	return p != nil
}

func (s *Server) record(id string, f func(*Transaction)) bool {
	s.mu.Lock()
	t := s.txs[id]
	if t != nil {
		f(t)
	}
	s.mu.Unlock()
	s.notify()
	return t != nil
}

// WaitHost waits until a host has initialized (the n-th, counting from 1,
// to have connected, or any when n is 0) and returns it.
func (s *Server) WaitHost(ctx context.Context) (*Host, error) {
	var h *Host
	err := s.waitFor(ctx, "an initialized host", func() bool {
		for i := len(s.hosts) - 1; i >= 0; i-- {
			if !s.hosts[i].closed && s.hosts[i].init != nil {
				h = s.hosts[i]
				return true
			}
		}
		return false
	})
	return h, err
}

// WaitHosts waits until n host sockets have connected (open or closed since)
// and returns them all, oldest first.
func (s *Server) WaitHosts(ctx context.Context, n int) ([]*Host, error) {
	var hs []*Host
	err := s.waitFor(ctx, fmt.Sprintf("%d host connections", n), func() bool {
		hs = append([]*Host(nil), s.hosts...)
		return len(hs) >= n
	})
	return hs, err
}

// Hosts returns every host socket seen so far, open or closed.
func (s *Server) Hosts() []*Host {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Host(nil), s.hosts...)
}

// Definitions returns a copy of the host's last INITIALIZE_HOST input.
func (h *Host) Definitions() Definitions {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	if h.init == nil {
		return protocol.InitializeHostInputs{}
	}
	return *h.init
}

// Initializations counts the INITIALIZE_HOST calls of this socket.
func (h *Host) Initializations() int {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return h.inits
}

// WaitDefinitions waits until the host's declared routes satisfy cond.
func (h *Host) WaitDefinitions(ctx context.Context, cond func(Definitions) bool) error {
	return h.s.waitFor(ctx, "host definitions", func() bool {
		return h.init != nil && cond(*h.init)
	})
}

// Environment is the environment the server answers the host's
// INITIALIZE_HOST with, as Interval's server does: "production" for an API
// key that starts with "live_", else "development".
func (h *Host) Environment() string {
	if strings.HasPrefix(h.APIKey, "live_") {
		return "production"
	}
	return "development"
}

// IsShuttingDown reports whether the host called BEGIN_HOST_SHUTDOWN.
func (h *Host) IsShuttingDown() bool {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return h.shuttingDown
}

// WaitShuttingDown waits until the host has called BEGIN_HOST_SHUTDOWN.
func (h *Host) WaitShuttingDown(ctx context.Context) error {
	return h.s.waitFor(ctx, "BEGIN_HOST_SHUTDOWN", func() bool { return h.shuttingDown })
}

// WaitAnswered waits until the host has acknowledged n answers of this
// socket to its calls of method (such as SEND_LOADING_CALL): the host has
// then received them, and a call it made is no longer in flight.
func (h *Host) WaitAnswered(ctx context.Context, method string, n int) error {
	return h.s.waitFor(ctx, fmt.Sprintf("%d acknowledged answers to %s", n, method), func() bool {
		return h.answered[method] >= n
	})
}

// IsClosed reports whether the host's socket has closed.
func (h *Host) IsClosed() bool {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return h.closed
}

// WaitClosed waits until the host's socket has closed.
func (h *Host) WaitClosed(ctx context.Context) error {
	return h.s.waitFor(ctx, "the host's socket to close", func() bool { return h.closed })
}

// Drop closes the host's socket abruptly, as a network failure would.
func (h *Host) Drop() {
	h.conn.CloseWith(ws.StatusServiceRestart, "Closing briefly for scheduled server restart.")
}

// SendRaw sends data as the string of one MESSAGE frame, bypassing the RPC
// layer, and returns once the host has acknowledged it: for tests of how a
// host copes with malformed messages.
func (h *Host) SendRaw(ctx context.Context, data string) error {
	return h.conn.Send(ctx, data)
}

// Call sends a raw call to the host and returns its raw answer (nil for
// void).
func (h *Host) Call(ctx context.Context, method string, in any) (json.RawMessage, error) {
	return h.peer.CallRaw(ctx, method, in)
}

// User is the operator a test transaction runs as.
type User = protocol.User

// Admin is a default operator: alice@example.com, role admin, no teams.
var Admin = User{Email: "alice@example.com", FirstName: ptr("Alice"), LastName: ptr("Admin"), Role: "admin", Teams: []string{}}

func ptr[T any](v T) *T { return &v }

// StartOption configures a transaction started by Start.
type StartOption func(*StartInputs) error

// As runs the transaction as u.
func As(u User) StartOption {
	return func(in *protocol.StartTransactionInputs) error {
		if u.Teams == nil {
			u.Teams = []string{}
		}
		in.User = u
		return nil
	}
}

// WithParams sets the transaction's params (time.Time and *big.Int values
// travel as superjson, like queued-action params).
func WithParams(p map[string]any) StartOption {
	return func(in *protocol.StartTransactionInputs) error {
		plain, meta, err := protocol.Serialize(p)
		if err != nil {
			return err
		}
		b, err := json.Marshal(plain)
		if err != nil {
			return err
		}
		in.Params, in.ParamsMeta = b, meta
		return nil
	}
}

// WithoutAppendUI starts the transaction with displayResolvesImmediately
// false: displays then wait for the operator to continue.
func WithoutAppendUI() StartOption {
	return func(in *protocol.StartTransactionInputs) error {
		in.DisplayResolvesImmediately = ptr(false)
		return nil
	}
}

// Start sends START_TRANSACTION for slug to the most recent initialized
// host and returns the transaction to drive.
func (s *Server) Start(ctx context.Context, slug string, opts ...StartOption) (*Transaction, error) {
	h, err := s.WaitHost(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoHost, err)
	}
	in := protocol.StartTransactionInputs{
		TransactionID:              uuid.NewString(),
		DisplayResolvesImmediately: ptr(true),
		ActionName:                 slug,
		Action:                     protocol.ActionRef{Slug: slug, URL: strings.TrimSuffix(s.hs.URL, "/") + "/actions/" + slug},
		Environment:                h.Environment(),
		User:                       Admin,
		Params:                     json.RawMessage(`{}`),
	}
	for _, o := range opts {
		if err := o(&in); err != nil {
			return nil, fmt.Errorf("intervaltest: start option: %w", err)
		}
	}
	t := &Transaction{s: s, ID: in.TransactionID, Slug: slug, host: h}
	s.mu.Lock()
	s.txs[t.ID] = t
	s.mu.Unlock()
	if _, err := h.Call(ctx, protocol.MethodStartTransaction, in); err != nil {
		return nil, fmt.Errorf("intervaltest: START_TRANSACTION: %w", err)
	}
	return t, nil
}
