package server

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
)

// startNodeServerless runs the official @interval/sdk 2.0.0's
// ExperimentalInterval.httpRequestHandler (testdata/nodeserverless) with
// key against e, and returns its URL. The process ends with the test.
func startNodeServerless(t *testing.T, e *env, key string) string {
	t.Helper()
	return startNode(t, e, "nodeserverless", key).waitFor(t, "LISTENING ")
}

// TestInteropNodeSDKServerless registers the official Node SDK 2.0.0 as a
// serverless host (behind a recording proxy, to see its answers): the
// check declares its action and page, the action runs to completion with
// an input on the connection the SDK opens for the request, and the page
// opens and closes on another; each request is answered 200.
func TestInteropNodeSDKServerless(t *testing.T) {
	e := newEnv(t, Options{HTTPHostTimeout: 20 * time.Second})
	admin := e.admin()
	target, err := url.Parse(startNodeServerless(t, e, admin.key("production")))
	if err != nil {
		t.Fatal(err)
	}
	rh := newRecordingHost(t, httputil.NewSingleHostReverseProxy(target))

	hh := admin.registerHTTPHost(rh.hs.URL)
	if hh.Status != "ONLINE" || hh.Actions != 1 || hh.Pages != 1 || hh.SDKName != "@interval/sdk" || hh.SDKVersion != "2.0.0" {
		t.Fatalf("registered host: %+v", hh)
	}
	if a := rh.next("httpHostId"); a.status != http.StatusOK {
		t.Fatalf("check answer: %+v", a)
	}
	if actions, pages := admin.routesListing("production"); !actions["node_fn_greet"] || !pages["node_fn_dashboard"] {
		t.Fatalf("routes: %v %v", actions, pages)
	}

	txID, data := runText(t, admin, "node_fn_greet", "Grace")
	if data["name"] != "Grace" || data["user"] != admin.email || data["org"] != DefaultOrgName || data["env"] != "production" {
		t.Fatalf("result data %v", data)
	}
	if a := rh.next("requestId"); a.status != http.StatusOK {
		t.Fatalf("run answer: %+v", a)
	}
	if d := admin.tx(txID); d.Status != "COMPLETED" || d.ResultStatus != "SUCCESS" {
		t.Fatalf("history %+v", d.txSummary)
	}

	key := "3f9a1c2e-7b4d-4e5f-8a6b-9c0d1e2f3a4b"
	b, page := openPage(t, admin, "node_fn_dashboard", key)
	if !strings.Contains(page, `"title":"Node function dashboard"`) || !strings.Contains(page, "Hello from a **Node function**") {
		t.Fatalf("page %s", page)
	}
	b.must(protocol.MethodLeavePage, protocol.PageKeyRef{PageKey: key})
	if a := rh.next("requestId"); a.status != http.StatusOK {
		t.Fatalf("page answer: %+v", a)
	}
}
