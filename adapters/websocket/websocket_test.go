package websocket_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ws "github.com/coder/websocket"

	"github.com/interval-go/sdk/adapters/websocket"
	"github.com/interval-go/sdk/internal/isocket"
	"github.com/interval-go/sdk/interval"
)

// upgradeServer accepts host sockets on loopback, records each upgrade
// request's header and authenticates the host.
type upgradeServer struct {
	*httptest.Server
	mu      sync.Mutex
	headers []http.Header
	conns   []*isocket.Conn
}

func newUpgradeServer(t *testing.T) *upgradeServer {
	s := &upgradeServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.headers = append(s.headers, r.Header.Clone())
		s.mu.Unlock()
		sock, err := ws.Accept(w, r, nil)
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		c := isocket.NewConn(sock, isocket.Config{DisablePing: true})
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		if err := c.SendAuthenticated(r.Context()); err != nil {
			t.Errorf("authenticated: %v", err)
		}
	}))
	t.Cleanup(func() {
		s.mu.Lock()
		conns := s.conns
		s.mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
		s.Close()
	})
	return s
}

func (s *upgradeServer) header(t *testing.T) http.Header {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.headers) != 1 {
		t.Fatalf("upgrade requests = %d, want 1", len(s.headers))
	}
	return s.headers[0]
}

// countingTransport counts the requests made through the user's client.
type countingTransport struct {
	n    atomic.Int32
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func dialConfig(endpoint string) interval.DialConfig {
	return interval.DialConfig{
		Endpoint:       endpoint,
		APIKey:         "live_key",
		InstanceID:     "instance-1",
		ConnectTimeout: 5 * time.Second,
		SendTimeout:    time.Second,
		PingInterval:   time.Minute,
	}
}

// The Transport's Header and HTTPClient reach the upgrade request, beside
// the client's own API key and instance headers (an auth gateway in front
// of the server sees its token; a proxying client carries the request).
func TestTransportHeaderAndClientReachServer(t *testing.T) {
	srv := newUpgradeServer(t)
	rt := &countingTransport{next: http.DefaultTransport}
	tr := &websocket.Transport{
		Header: http.Header{
			"X-Gateway-Token": {"gw-secret"},
			"X-Api-Key":       {"not this one"},
		},
		HTTPClient: &http.Client{Transport: rt},
	}
	conn, err := tr.Dial(context.Background(), dialConfig(srv.URL)) // http:// is taken as ws://
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	h := srv.header(t)
	if got := h.Get("X-Gateway-Token"); got != "gw-secret" {
		t.Errorf("X-Gateway-Token = %q, want gw-secret", got)
	}
	if got := h.Get("X-Api-Key"); got != "live_key" {
		t.Errorf("x-api-key = %q, want the client's key", got)
	}
	if got := h.Get("X-Instance-Id"); got != "instance-1" {
		t.Errorf("x-instance-id = %q, want instance-1", got)
	}
	if rt.n.Load() != 1 {
		t.Errorf("requests through the user's HTTP client = %d, want 1", rt.n.Load())
	}
	if h := tr.Header.Get("X-Api-Key"); h != "not this one" {
		t.Errorf("Dial changed the Transport's Header: x-api-key = %q", h)
	}
}

// A key refused at the upgrade is interval.ErrUnauthorized, with no need to
// know the transport's own errors.
func TestTransportUnauthorized(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad key", http.StatusUnauthorized)
	}))
	defer srv.Close()
	_, err := (&websocket.Transport{}).Dial(context.Background(), dialConfig(srv.URL))
	if !errors.Is(err, interval.ErrUnauthorized) {
		t.Fatalf("Dial = %v, want interval.ErrUnauthorized", err)
	}
}

// A client using the Transport sends its header on every connection.
func TestClientWithTransport(t *testing.T) {
	srv := newUpgradeServer(t)
	tr := &websocket.Transport{Header: http.Header{"Authorization": {"Bearer gw"}}}
	routes := routeTable{}
	c, err := interval.New(interval.Options{Endpoint: srv.URL, APIKey: "k", Routes: routes, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Listen(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		srv.mu.Lock()
		n := len(srv.headers)
		srv.mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := srv.header(t).Get("Authorization"); got != "Bearer gw" {
		t.Errorf("Authorization = %q, want the Transport's", got)
	}
	cancel()
	c.Close()
	<-done
}

type routeTable struct{}

func (routeTable) RouteTable() interval.RouteTable { return interval.RouteTable{} }
