package faultproxy

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait bounds every wait; reaching it is a failure, not a timing assertion.
const wait = 10 * time.Second

// echo serves a line echo on loopback until the test ends.
func echo(t *testing.T) string {
	t.Helper()
	return echoWith(t, "")
}

// echoWith serves on loopback, until the test ends, an echo that puts
// prefix before each line.
func echoWith(t *testing.T, prefix string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if prefix == "" {
					io.Copy(c, c)
					return
				}
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := io.WriteString(c, prefix+line); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

func dial(t *testing.T, p *Proxy) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr(), wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader, line string) (string, error) {
	t.Helper()
	c.SetDeadline(time.Now().Add(wait))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	got, err := r.ReadString('\n')
	return strings.TrimSuffix(got, "\n"), err
}

func newProxy(t *testing.T) *Proxy {
	t.Helper()
	p, err := New(echo(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// A frozen connection holds what is written (the write succeeds) and
// delivers it, in order, once thawed.
func TestFreezeHoldsThenDelivers(t *testing.T) {
	p := newProxy(t)
	c, r := dial(t, p)
	if got, err := roundTrip(t, c, r, "one"); err != nil || got != "one" {
		t.Fatalf("before freeze: %q %v", got, err)
	}
	conns := p.Conns()
	if len(conns) != 1 {
		t.Fatalf("%d connections, want 1", len(conns))
	}
	conns[0].Freeze()
	if _, err := io.WriteString(c, "two\nthree\n"); err != nil {
		t.Fatalf("write into a frozen connection: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if b, err := r.ReadByte(); err == nil {
		t.Fatalf("read %q through a frozen connection", b)
	}
	conns[0].Thaw()
	c.SetReadDeadline(time.Now().Add(wait))
	for _, want := range []string{"two", "three"} {
		got, err := r.ReadString('\n')
		if err != nil || got != want+"\n" {
			t.Fatalf("after thaw: %q %v, want %q", got, err, want)
		}
	}
}

// A cut ends the connection for the client, loses what a freeze held, and
// leaves the proxy accepting new connections.
func TestCutEndsConnection(t *testing.T) {
	p := newProxy(t)
	c, r := dial(t, p)
	if _, err := roundTrip(t, c, r, "x"); err != nil {
		t.Fatal(err)
	}
	p.Conns()[0].Freeze()
	io.WriteString(c, "lost\n")
	if n := p.CutAll(); n != 1 {
		t.Fatalf("CutAll cut %d, want 1", n)
	}
	c.SetReadDeadline(time.Now().Add(wait))
	if got, err := r.ReadString('\n'); err == nil {
		t.Fatalf("read %q after a cut", got)
	}
	c2, r2 := dial(t, p)
	if got, err := roundTrip(t, c2, r2, "again"); err != nil || got != "again" {
		t.Fatalf("new connection after a cut: %q %v", got, err)
	}
}

// Refuse closes new connections at once; existing ones carry on.
func TestRefuse(t *testing.T) {
	p := newProxy(t)
	c, r := dial(t, p)
	// The proxy has taken c (a dial returns once the kernel accepted it,
	// maybe before the proxy did, which Refuse would then close).
	if got, err := roundTrip(t, c, r, "first"); err != nil || got != "first" {
		t.Fatalf("before Refuse: %q %v", got, err)
	}
	p.Refuse(true)
	c2, r2 := dial(t, p)
	if got, err := roundTrip(t, c2, r2, "no"); err == nil {
		t.Fatalf("refused connection answered %q", got)
	}
	if got, err := roundTrip(t, c, r, "yes"); err != nil || got != "yes" {
		t.Fatalf("existing connection: %q %v", got, err)
	}
	p.Refuse(false)
	c3, r3 := dial(t, p)
	if got, err := roundTrip(t, c3, r3, "back"); err != nil || got != "back" {
		t.Fatalf("after Refuse(false): %q %v", got, err)
	}
}

// FreezeNew makes the connections accepted afterwards start frozen; those
// open go on, and a frozen new one delivers once thawed.
func TestFreezeNew(t *testing.T) {
	p := newProxy(t)
	c, r := dial(t, p)
	if got, err := roundTrip(t, c, r, "first"); err != nil || got != "first" {
		t.Fatalf("before FreezeNew: %q %v", got, err)
	}
	p.FreezeNew(true)
	c2, r2 := dial(t, p)
	if _, err := io.WriteString(c2, "held\n"); err != nil {
		t.Fatalf("write into a new frozen connection: %v", err)
	}
	c2.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if b, err := r2.ReadByte(); err == nil {
		t.Fatalf("read %q through a connection accepted frozen", b)
	}
	if got, err := roundTrip(t, c, r, "yes"); err != nil || got != "yes" {
		t.Fatalf("existing connection: %q %v", got, err)
	}
	p.FreezeNew(false)
	c3, r3 := dial(t, p)
	if got, err := roundTrip(t, c3, r3, "back"); err != nil || got != "back" {
		t.Fatalf("after FreezeNew(false): %q %v", got, err)
	}
	for _, x := range p.Conns() {
		x.Thaw()
	}
	c2.SetReadDeadline(time.Now().Add(wait))
	if got, err := r2.ReadString('\n'); err != nil || got != "held\n" {
		t.Fatalf("after thaw: %q %v", got, err)
	}
}

// SetTarget sends the connections accepted afterwards to the new target;
// those open stay with the old one.
func TestSetTarget(t *testing.T) {
	p := newProxy(t)
	c, r := dial(t, p)
	if got, err := roundTrip(t, c, r, "one"); err != nil || got != "one" {
		t.Fatalf("before SetTarget: %q %v", got, err)
	}
	p.SetTarget(echoWith(t, "new:"))
	c2, r2 := dial(t, p)
	if got, err := roundTrip(t, c2, r2, "two"); err != nil || got != "new:two" {
		t.Fatalf("a connection after SetTarget: %q %v, want the new target's answer", got, err)
	}
	if got, err := roundTrip(t, c, r, "three"); err != nil || got != "three" {
		t.Fatalf("the connection open before SetTarget: %q %v, want the old target's answer", got, err)
	}
}

// A delay holds data but keeps it in order; Close ends everything and
// refuses a second Close.
func TestDelayKeepsOrderAndClose(t *testing.T) {
	p := newProxy(t)
	p.SetDelay(5 * time.Millisecond)
	c, r := dial(t, p)
	for _, l := range []string{"a", "b", "c"} {
		if got, err := roundTrip(t, c, r, l); err != nil || got != l {
			t.Fatalf("delayed: %q %v, want %q", got, err, l)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := p.Close(); err != ErrClosed {
		t.Fatalf("second Close: %v, want ErrClosed", err)
	}
	if _, err := roundTrip(t, c, r, "z"); err == nil {
		t.Fatal("connection works after Close")
	}
}
