package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

// A run whose host process stopped tells the console the truth: waiting
// for that instance until a deadline; once another instance serves the
// action, that it was replaced (a new process cannot continue the run);
// nothing once the run's own instance is back.
func TestHostAwayReport(t *testing.T) {
	e := newEnv(t, Options{HostDropGrace: time.Hour})
	admin := e.admin()
	key := admin.key("production")
	h := e.host(key, "first-process", action("calc"))
	b := admin.browser()
	id := admin.startRun(b, h, "calc", "production")
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id,
		IOCall: `{"id":"c1","inputGroupKey":"g1","kind":"RENDER","toRender":[{"methodName":"INPUT_TEXT","label":"Amount","props":{}}]}`})
	b.next(protocol.MethodRender)
	var away hostAwayJSON
	admin.do("GET", "/api/console/transactions/"+id+"/host", nil, http.StatusOK, &away)
	if away.Away {
		t.Fatalf("a run with its host online reported away: %+v", away)
	}

	before := time.Now()
	h.close()
	b.next(protocol.MethodHostClosedUnexpectedly)
	wantStatus(t, admin, store.StatusHostDropped, id)
	admin.do("GET", "/api/console/transactions/"+id+"/host", nil, http.StatusOK, &away)
	if !away.Away || away.Replaced || away.AnyHost || away.Since == nil || away.FailsAt == nil ||
		away.FailsAt.Sub(*away.Since) != time.Hour || away.Since.Before(before.Add(-time.Second)) {
		t.Fatalf("host gone: %+v", away)
	}

	// A new process of the host starts: it serves the action, but cannot
	// continue this run.
	e.host(key, "second-process", action("calc"))
	admin.do("GET", "/api/console/transactions/"+id+"/host", nil, http.StatusOK, &away)
	if !away.Away || !away.Replaced {
		t.Fatalf("after a new instance: %+v", away)
	}

	// The first process comes back and re-sends its call, as the SDKs do:
	// the run continues.
	back := e.host(key, "first-process", action("calc"))
	back.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id,
		IOCall: `{"id":"c1","inputGroupKey":"g1","kind":"RENDER","toRender":[{"methodName":"INPUT_TEXT","label":"Amount","props":{}}]}`})
	waitFor(t, func() bool {
		var a hostAwayJSON
		admin.do("GET", "/api/console/transactions/"+id+"/host", nil, http.StatusOK, &a)
		return !a.Away
	}, "the run's own instance back")

	// Someone who may not see the run gets 404.
	other := e.newUser(admin, "m@example.com", "member")
	if code := other.try("GET", "/api/console/transactions/"+id+"/host", nil, nil); code != http.StatusNotFound {
		t.Fatalf("a member's look at another's run: HTTP %d", code)
	}
}
