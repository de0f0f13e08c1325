package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/faultproxy"
	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/router"
)

// TestKill9KeepsAcknowledgedAnswer: what `kill -9` promises about an
// operator's answer. The answer is acknowledged to the operator only once
// it is stored; if the server dies before the host has it, the host
// re-sends the call after the restart and gets the answer again: the run
// completes with it and the operator is not asked again. The host's
// connection runs through a proxy that holds the answer (frozen) while the
// server is killed, so the answer reaches the host only if the restarted
// server delivers it.
func TestKill9KeepsAcknowledgedAnswer(t *testing.T) {
	bin := serverBinary(t)
	common := []string{"--data-dir", t.TempDir()}
	out, err := exec.Command(bin, append([]string{"key", "create", "--env", "development"}, common...)...).Output()
	if err != nil {
		t.Fatalf("key create: %v\n%s", err, out)
	}
	devKey, adminLink := lastLine(string(out)), lineWith(t, string(out), "/login/link?token=")

	srv := startServer(t, bin, "127.0.0.1:0", common)
	admin := login(t, srv.url, adminLink)
	proxy, err := faultproxy.New(srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()

	var asked atomic.Int32
	r := router.New()
	r.Action("ask", func(ctx context.Context, tx *interval.Tx) (any, error) {
		asked.Add(1)
		name, err := tx.IO.Input.Text("Name").Run(ctx)
		if err != nil {
			return nil, err
		}
		return "hello " + name, nil
	})
	host, err := interval.New(interval.Options{Endpoint: "ws://" + proxy.Addr() + "/websocket", APIKey: devKey, Routes: r,
		Logger: slog.New(slog.DiscardHandler), RetryInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	listened := make(chan error, 1)
	go func() { listened <- host.Listen(context.Background()) }()
	defer func() {
		host.Close()
		if err := <-listened; !errors.Is(err, interval.ErrClosed) {
			t.Errorf("Listen: %v", err)
		}
	}()
	admin.waitOnline(t, "ask")

	b := admin.browser(t, srv.url)
	var created struct{ ID string }
	admin.do(t, "POST", "/api/console/transactions", map[string]any{"slug": "ask", "env": "development"}, http.StatusCreated, &created)
	id := created.ID
	b.must(t, protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	var rd protocol.RenderInputs
	b.next(t, protocol.MethodRender).decode(t, &rd)
	render, err := protocol.DecodeIORender(rd.ToRender)
	if err != nil {
		t.Fatal(err)
	}

	// The host's connection stalls; the operator answers and the server
	// acknowledges it; the server dies before the host has it.
	for _, c := range proxy.Conns() {
		c.Freeze()
	}
	value, _ := json.Marshal("Ada")
	resp, _ := json.Marshal(protocol.IOResponse{ID: render.ID, TransactionID: id, InputGroupKey: render.InputGroupKey,
		Kind: protocol.KindReturn, Values: []json.RawMessage{value}})
	b.must(t, protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id, IOResponse: string(resp)})
	srv.kill(t)
	proxy.CutAll()
	b.close()

	srv = startServer(t, bin, srv.addr, common)
	b = admin.browser(t, srv.url)
	b.must(t, protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	deadline := time.After(wait)
	for done := false; !done; {
		select {
		case c := <-b.calls:
			switch c.method {
			case protocol.MethodRender:
				t.Fatalf("the operator was asked again after the restart: the acknowledged answer was lost (%s)", c.data)
			case protocol.MethodTransactionCompleted:
				var in protocol.TransactionCompletedInputs
				c.decode(t, &in)
				if in.TransactionID != id || in.ResultStatus != "SUCCESS" || !strings.Contains(in.Result, "hello Ada") {
					t.Fatalf("TRANSACTION_COMPLETED %+v", in)
				}
				done = true
			}
		case <-deadline:
			t.Fatalf("the run did not complete after the restart: %+v", admin.tx(t, id))
		}
	}
	if n := asked.Load(); n != 1 {
		t.Fatalf("the action ran %d times, want 1", n)
	}
	if d := admin.tx(t, id); d.Status != "COMPLETED" || d.Result == nil || !strings.Contains(*d.Result, "hello Ada") {
		t.Fatalf("after the restart: %+v", d)
	}
}
