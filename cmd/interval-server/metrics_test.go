package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fetch returns the status and body of a GET of url (with a bearer token
// when not empty).
func fetch(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// --metrics-addr serves the metrics and health endpoints on a listener of
// their own; the main listener serves metrics only to --metrics-token
// (INTERVAL_METRICS_TOKEN), and health to anyone.
func TestMetricsFlags(t *testing.T) {
	t.Setenv("INTERVAL_METRICS_TOKEN", "tok")
	sctx, cancel := context.WithCancel(context.Background())
	var sout syncBuf
	done := make(chan error, 1)
	go func() {
		done <- run(sctx, []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--metrics-addr", "127.0.0.1:0"}, &sout, &syncBuf{})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	var main, metrics string
	for deadline := time.Now().Add(20 * time.Second); main == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("server did not print its URLs: %s", sout.String())
		}
		s := sout.String()
		if _, rest, ok := strings.Cut(s, "Interval server: "); ok {
			main = strings.Fields(rest)[0]
			_, m, _ := strings.Cut(s, "Metrics: ")
			metrics = strings.Fields(m + " ")[0]
		}
	}
	if !strings.HasSuffix(metrics, "/metrics") {
		t.Fatalf("metrics URL %q in %s", metrics, sout.String())
	}
	if code, body := fetch(t, metrics, ""); code != http.StatusOK || !strings.Contains(body, "interval_server_hosts_online") {
		t.Fatalf("--metrics-addr: HTTP %d", code)
	}
	base := strings.TrimSuffix(metrics, "/metrics")
	for _, p := range []string{"/healthz", "/readyz"} {
		for _, u := range []string{base, main} {
			if code, body := fetch(t, u+p, ""); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
				t.Fatalf("%s%s: HTTP %d %q", u, p, code, body)
			}
		}
	}
	if code, _ := fetch(t, main+"/metrics", ""); code != http.StatusUnauthorized {
		t.Fatalf("main listener without the token: HTTP %d", code)
	}
	if code, body := fetch(t, main+"/metrics", "tok"); code != http.StatusOK || !strings.Contains(body, "interval_server_runs_created_total") && !strings.Contains(body, "interval_server_hosts_online") {
		t.Fatalf("main listener with the token: HTTP %d", code)
	}
}
