package balancer

import (
	"bufio"
	"net"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echoName serves connections that are answered with name and a newline.
func echoName(t *testing.T, name string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(name + "\n"))
			c.Close()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	return l.Addr().String()
}

// refused returns an address nothing listens on.
func refused(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func ask(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("reading through the balancer: %v", err)
	}
	return line[:len(line)-1]
}

func TestFailoverSkipsRefusingBackend(t *testing.T) {
	a, b := refused(t), echoName(t, "b")
	lb, err := Start(Failover, a, b, echoName(t, "c"))
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	for range 3 {
		if got := ask(t, lb.Addr()); got != "b" {
			t.Fatalf("got %q, want b (a refuses, b accepts)", got)
		}
	}
}

func TestRoundRobinTakesTurns(t *testing.T) {
	lb, err := Start(RoundRobin, echoName(t, "a"), refused(t), echoName(t, "c"))
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	var got []string
	for range 3 {
		got = append(got, ask(t, lb.Addr()))
	}
	// a; the refusing one's turn goes to c; then c.
	if got[0] != "a" || got[1] != "c" || got[2] != "c" {
		t.Fatalf("turns %v, want [a c c]", got)
	}
}

func TestCloseCutsConnections(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			held <- c
		}
	}()
	lb, err := Start(Failover, l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", lb.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	up := <-held
	defer up.Close()
	l.Close()
	lb.Close() // must not wait for the idle pair
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("the client's connection is open after Close")
	}
}
