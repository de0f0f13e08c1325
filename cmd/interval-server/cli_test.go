package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/router"
)

// The binary as an operator meets it: -h of every command exits 0 and
// shows its flags; stray arguments, unknown commands, a busy port and a
// data dir that cannot be written exit 2 with a message saying what to do.
func TestCLIErgonomics(t *testing.T) {
	bin := serverBinary(t)
	exe := func(args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(cmd.Environ(), "INTERVAL_ADDR=127.0.0.1:0")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
	}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"key", "create", "-h"}, {"user", "create", "-h"}, {"user", "link", "--help"}} {
		code, _, errOut := exe(args...)
		if code != 0 || !strings.Contains(errOut, "-data-dir") {
			t.Fatalf("%v: exit %d\n%s", args, code, errOut)
		}
	}
	if _, _, errOut := exe("-h"); !strings.Contains(errOut, "user link") || !strings.Contains(errOut, "-addr") {
		t.Fatalf("-h does not list the commands and serve's flags:\n%s", errOut)
	}
	if code, out, _ := exe("help"); code != 0 || !strings.Contains(out, "key create") {
		t.Fatalf("help: exit %d %q", code, out)
	}
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--data-dir", dir, "stray"}, `unexpected argument "stray"`},
		{[]string{"user", "link", "--data-dir", dir, "admin@localhost"}, `unexpected argument "admin@localhost"`},
		{[]string{"user"}, `unknown command "user"`},
		{[]string{"--data-dir", "/proc/self"}, "data dir /proc/self is not writable"},
		{[]string{"key", "create", "--data-dir", "/proc/self"}, "data dir /proc/self is not writable"},
	} {
		code, _, errOut := exe(c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Fatalf("%v: exit %d, stderr %q, want %q", c.args, code, errOut, c.want)
		}
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if code, _, errOut := exe("--addr", busy.Addr().String(), "--data-dir", dir); code != 2 || !strings.Contains(errOut, "--addr") {
		t.Fatalf("busy port: exit %d %q", code, errOut)
	}
}

// SIGTERM with a host connected and a transaction waiting for the
// operator: the server exits 0 at once, and after a restart on the same
// store the host reconnects, re-sends the form and the run completes.
func TestSIGTERMKeepsWaitingTransaction(t *testing.T) {
	bin := serverBinary(t)
	dataDir := t.TempDir()
	common := []string{"--data-dir", dataDir}
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, append(args, common...)...).Output()
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return string(out)
	}
	out := run("key", "create", "--env", "development")
	key, link := lastLine(out), lineWith(t, out, "/login/link?token=")
	srv := startServer(t, bin, "127.0.0.1:0", common)
	admin := login(t, srv.url, link)

	r := router.New()
	r.Action("waits", func(ctx context.Context, tx *interval.Tx) (any, error) {
		name, err := tx.IO.Input.Text("Name").Run(ctx)
		if err != nil {
			return nil, err
		}
		return "hello " + name, nil
	})
	srv.listen(t, key, r)
	admin.waitOnline(t, "waits")
	var created struct{ ID string }
	admin.do(t, "POST", "/api/console/transactions", map[string]any{"slug": "waits", "env": "development"}, http.StatusCreated, &created)
	b := admin.browser(t, srv.url)
	b.must(t, protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: created.ID})
	b.next(t, protocol.MethodRender)
	b.close()

	start := time.Now()
	srv.stop(t) // fails the test unless it exits 0
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("SIGTERM took %v with a host connected", d)
	}
	srv = startServer(t, bin, srv.addr, common)
	admin.waitOnline(t, "waits")
	b = admin.browser(t, srv.url)
	b.must(t, protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: created.ID})
	var rd protocol.RenderInputs
	b.next(t, protocol.MethodRender).decode(t, &rd)
	render, err := protocol.DecodeIORender(rd.ToRender)
	if err != nil {
		t.Fatal(err)
	}
	value, _ := json.Marshal("Ada")
	resp, _ := json.Marshal(protocol.IOResponse{ID: render.ID, TransactionID: created.ID, InputGroupKey: render.InputGroupKey,
		Kind: protocol.KindReturn, Values: []json.RawMessage{value}})
	b.must(t, protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: created.ID, IOResponse: string(resp)})
	var completed protocol.TransactionCompletedInputs
	b.next(t, protocol.MethodTransactionCompleted).decode(t, &completed)
	if completed.ResultStatus != "SUCCESS" {
		t.Fatalf("completed %+v", completed)
	}
	b.close()
	srv.stop(t)
}

// The subcommands' usual mistakes say what to do instead.
func TestSubcommandErrorsSayWhatToDo(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"key", "create", "--data-dir", dir, "--email", "nobody@example.com"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "no user with email nobody@example.com") || !strings.Contains(err.Error(), "user create") {
		t.Fatalf("key for an unknown owner: %v", err)
	}
	if err := run(ctx, []string{"user", "create", "--data-dir", dir, "--email", "bob@example.com"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	err = run(ctx, []string{"user", "create", "--data-dir", dir, "--email", "bob@example.com"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "exists already") || !strings.Contains(err.Error(), "user link --email bob@example.com") {
		t.Fatalf("second user create: %v", err)
	}
}

// SIGINT (Ctrl-C) shuts down as gracefully as SIGTERM: a connected host's
// socket is closed with 1012 (restart), so it reconnects instead of giving
// up, and the process exits 0 after saying it is shutting down.
func TestSIGINTGraceful(t *testing.T) {
	bin := serverBinary(t)
	dir := t.TempDir()
	common := []string{"--data-dir", dir}
	out, err := exec.Command(bin, append([]string{"key", "create", "--env", "production"}, common...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, bin, "127.0.0.1:0", common)
	h := http.Header{}
	h.Set("x-api-key", lastLine(string(out)))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, srv.wsURL(), &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	_, p, err := ws.Read(ctx)
	f, ferr := protocol.DecodeFrame(p)
	if err != nil || ferr != nil || f.Data != "authenticated" {
		t.Fatalf("first frame %s %v %v", p, err, ferr)
	}
	if err := ws.Write(ctx, websocket.MessageText, protocol.AppendAck(nil, f.ID)); err != nil {
		t.Fatal(err)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_, _, err = ws.Read(ctx)
	if code := websocket.CloseStatus(err); code != websocket.StatusServiceRestart {
		t.Fatalf("host socket on SIGINT: %v", err)
	}
	select {
	case <-srv.done:
	case <-time.After(wait):
		t.Fatal("server did not exit on SIGINT")
	}
	if !srv.cmd.ProcessState.Success() || !strings.Contains(srv.stderr.String(), "shutting down") {
		t.Fatalf("exit %v\n%s", srv.cmd.ProcessState, srv.stderr.String())
	}
}

// With --drain-delay, SIGTERM first turns /readyz to 503 ("draining")
// while the server goes on serving (liveness, new host sockets), so a load
// balancer stops sending it work; only then does it shut down and exit.
func TestDrainDelayOnSIGTERM(t *testing.T) {
	bin := serverBinary(t)
	srv := startServer(t, bin, "127.0.0.1:0", []string{"--data-dir", t.TempDir(), "--drain-delay", "3s"})
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.url + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	if code, _ := get("/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz before the signal: %d", code)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	for {
		code, body := get("/readyz")
		if code == http.StatusServiceUnavailable && body == "draining" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after SIGTERM: %d %q", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz while draining: %d", code)
	}
	select {
	case <-srv.done:
		t.Fatal("the server exited before its drain delay")
	default:
	}
	select {
	case <-srv.done:
	case <-time.After(wait):
		t.Fatal("server did not exit after draining")
	}
	if !srv.cmd.ProcessState.Success() || !strings.Contains(srv.stderr.String(), "draining before the shutdown") {
		t.Fatalf("exit %v\n%s", srv.cmd.ProcessState, srv.stderr.String())
	}
}
