package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/interval-go/sdk/interval"
)

// TestConformanceWithNodeSDKSchemas runs every kitchen-sink action and page
// against a fake server (conformance/server.js) that validates each message
// our host sends with the zod schemas exported by the official
// @interval/sdk 2.0.0. It needs Node.js and `npm ci` in conformance/ (done
// by .ci/run and scripts/test).
func TestConformanceWithNodeSDKSchemas(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required for the conformance check: install Node.js (scripts/test does)")
	}
	dir, _ := filepath.Abs("conformance")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@interval", "sdk", "package.json")); err != nil {
		t.Fatal("run `npm ci` in examples/kitchen-sink/conformance first (scripts/test does)")
	}
	reportPath := filepath.Join(t.TempDir(), "report.json")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "server.js", "--report", reportPath)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var port string
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "PORT "); ok {
			port = p
			break
		}
	}
	if port == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("conformance server did not start")
	}
	done := make(chan struct{})
	go func() {
		for sc.Scan() {
			if sc.Text() == "DONE" {
				close(done)
			}
		}
	}()

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	client, err := interval.New(interval.Options{Endpoint: "ws://127.0.0.1:" + port + "/websocket", APIKey: "conformance_key",
		Routes: routes(log), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	listened := make(chan error, 1)
	go func() { listened <- client.Listen(ctx) }()
	select {
	case <-done:
	case err := <-listened:
		t.Fatalf("Listen ended early: %v", err)
	case <-ctx.Done():
		t.Fatal("conformance run did not finish")
	}
	// Enqueue and dequeue go over HTTP too; check their bodies as well.
	if _, err := client.Enqueue(ctx, "input_text", "bob@example.com", map[string]any{"id": 5, "since": time.Now()}); err != nil {
		t.Errorf("enqueue: %v", err)
	}
	if err := client.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if err := <-listened; !errors.Is(err, interval.ErrClosed) {
		t.Errorf("Listen = %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("conformance server: %v", err)
	}

	var report struct {
		Violations []struct{ Where, Detail string }
		Messages   int
		IOCalls    int
		Methods    map[string]int
		Actions    map[string]struct{ Status string }
		Pages      map[string]struct{ Status string }
		SetStates  int
	}
	b, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &report); err != nil {
		t.Fatal(err)
	}
	for _, v := range report.Violations {
		t.Errorf("violation in %s: %s", v.Where, v.Detail)
	}
	want := map[string]string{}
	for _, a := range ioActions {
		want[a.slug] = "SUCCESS"
	}
	want["throws_error"] = "FAILURE"
	want["dashboard/refresh"] = "SUCCESS"
	for slug, status := range want {
		if got := report.Actions[slug].Status; got != status {
			t.Errorf("action %s: status %q, want %q", slug, got, status)
		}
	}
	for _, page := range []string{"dashboard", "dashboard/customers"} {
		if report.Pages[page].Status != "RENDERED" {
			t.Errorf("page %s: %+v", page, report.Pages[page])
		}
	}
	for _, m := range []string{"INITIALIZE_HOST", "SEND_IO_CALL", "MARK_TRANSACTION_COMPLETE", "SEND_LOG", "SEND_LOADING_CALL", "SEND_REDIRECT", "SEND_PAGE", "BEGIN_HOST_SHUTDOWN", "/api/notify", "/api/actions/enqueue"} {
		if report.Methods[m] == 0 {
			t.Errorf("no %s was checked", m)
		}
	}
	t.Logf("checked %d frames, %d IO calls, %d state updates, methods %v: %d violations", report.Messages, report.IOCalls, report.SetStates, report.Methods, len(report.Violations))
}
