package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/coder/websocket"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
	"github.com/interval-go/sdk/server/store/pgtest"
	"github.com/jackc/pgx/v5"
)

// replicaOpts are the options of a replica on database url, with a short
// lease so that a lost replica is noticed within a test.
func replicaOpts(url string) Options {
	return Options{DatabaseURL: url, ReplicaLease: 1500 * time.Millisecond, ReplicaHeartbeat: 200 * time.Millisecond}
}

// replicas starts n servers on one new PostgreSQL database.
func replicas(t *testing.T, n int) []*env {
	t.Helper()
	url := pgtest.NewDatabase(t)
	out := make([]*env, n)
	for i := range out {
		out[i] = newEnv(t, replicaOpts(url))
	}
	return out
}

// awaitAction waits until c's replica lists slug as served by an online
// host (the host may be on another replica).
func awaitAction(t *testing.T, c *client, slug string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		c.e.s.hub.mu.Lock()
		_, _, online := c.e.s.hub.findAction(store.EnvProduction, mustUser(t, c), slug)
		c.e.s.hub.mu.Unlock()
		if online {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never listed as online on %s", slug, c.e.hs.URL)
}

func mustUser(t *testing.T, c *client) store.User {
	t.Helper()
	u, err := c.e.s.store.UserByEmail(context.Background(), c.email)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// loginOn logs the admin of the installation in on replica e.
func loginOn(t *testing.T, e *env) *client {
	t.Helper()
	return e.admin()
}

// TestReplicasRunAcrossReplicas: a run created on replica A whose action
// only a host on replica B serves starts on that host, renders in A's
// console socket, takes the answer there, completes, and is in the
// history of replica C.
func TestReplicasRunAcrossReplicas(t *testing.T) {
	rs := replicas(t, 3)
	a, b, c := rs[0], rs[1], rs[2]
	adminA := loginOn(t, a)
	key := adminA.key(store.EnvProduction)
	h := b.host(key, "", action("hello"))
	awaitAction(t, adminA, "hello")

	br := adminA.browser()
	id := adminA.startRun(br, h, "hello", store.EnvProduction)
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("c1", "g1", "INPUT_TEXT")})
	var render protocol.RenderInputs
	br.next(protocol.MethodRender).decode(t, &render)
	if render.TransactionID != id {
		t.Fatalf("render for %s, want %s", render.TransactionID, id)
	}
	h.must(protocol.MethodSendLog, protocol.SendLogInputs{TransactionID: id, Data: "a log line", Index: new(int), Timestamp: time.Now().UnixMilli()})
	br.next(protocol.MethodLog)
	br.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id,
		IOResponse: ioResponse(id, "c1", "g1", protocol.KindReturn, "Ada")})
	var resp protocol.IOResponseInputs
	h.next(protocol.MethodIOResponse).decode(t, &resp)
	if resp.TransactionID != id || !json.Valid([]byte(resp.Value)) {
		t.Fatalf("IO_RESPONSE %+v", resp)
	}
	h.must(protocol.MethodSendLoadingCall, protocol.SendLoadingCallInputs{TransactionID: id, LoadingState: protocol.LoadingState{Label: "Saving"}})
	var ls protocol.LoadingStateInputs
	br.next(protocol.MethodLoadingState).decode(t, &ls)
	if ls.LoadingState.Label != "Saving" {
		t.Fatalf("LOADING_STATE %+v", ls)
	}
	h.must(protocol.MethodSendRedirect, protocol.SendRedirectInputs{TransactionID: id, Redirect: protocol.Redirect{URL: "https://example.com/next"}})
	var rd protocol.RedirectInputs
	br.next(protocol.MethodRedirect).decode(t, &rd)
	if rd.URL != "https://example.com/next" {
		t.Fatalf("REDIRECT %+v", rd)
	}
	complete(t, h, id, "Hello, Ada")
	var done protocol.TransactionCompletedInputs
	br.next(protocol.MethodTransactionCompleted).decode(t, &done)
	if done.TransactionID != id || done.ResultStatus != protocol.StatusRedirected {
		t.Fatalf("TRANSACTION_COMPLETED %+v", done)
	}
	adminC := loginOn(t, c)
	d := adminC.tx(id)
	if d.Status != store.StatusCompleted || d.Result == nil || len(d.Logs) != 1 {
		t.Fatalf("history on C: status %s result %v logs %d", d.Status, d.Result, len(d.Logs))
	}
}

// TestReplicaGoneRunsMove: the replica of a host goes away (its sockets
// cut, its lease left to run out, as after kill -9); the host reconnects
// to another replica, the run waiting on the operator continues there and
// the console socket on a third replica is told to reconnect, finds the
// run again and completes it. Nothing runs twice.
func TestReplicaGoneRunsMove(t *testing.T) {
	rs := replicas(t, 3)
	a, b, c := rs[0], rs[1], rs[2]
	adminA := loginOn(t, a)
	key := adminA.key(store.EnvProduction)
	h := b.host(key, "inst-1", action("hello"))
	awaitAction(t, adminA, "hello")
	br := adminA.browser()
	id := adminA.waitingRun(br, h, "hello")

	// B dies: its bus and heartbeat stop, its sockets drop, its lease
	// is never renewed nor released.
	b.die()
	h.close()

	// A notices B's lease ran out and closes the console socket that
	// watched B's run.
	var closed bool
	select {
	case <-br.conn.Done():
		closed = true
	case <-time.After(wait):
	}
	if !closed {
		t.Fatal("the console socket watching the dead replica's run was not closed")
	}

	// The host comes back on C and re-sends its pending call.
	resumeWaitingRun(t, c, adminA, key, "inst-1", id)
	// B's own end (its store and sockets) is the test's cleanup.
}

// resumeWaitingRun: run id waited on the operator (waitingRun) when its
// host (instance inst, API key key) and console lost their sockets. The
// host reconnects to replica on and sends its IO call again, which must
// start nothing anew; c's console connects to the run again, answers it
// and sees it complete.
func resumeWaitingRun(t *testing.T, on *env, c *client, key, inst, id string) {
	t.Helper()
	h := on.host(key, inst, action("hello"))
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("c1", "g1", "INPUT_TEXT")})
	if got := h.drainStarts(); got != 0 {
		t.Fatalf("the host got %d START_TRANSACTION as it came back, want none (the run never runs twice)", got)
	}
	br := c.browser()
	br.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	answerAndComplete(t, br, h, id)
	if d := c.tx(id); d.Status != store.StatusCompleted {
		t.Fatalf("status %s, want COMPLETED", d.Status)
	}
}

// TestReplicaHandOffToGoneReplicaTakenBack: a run created on A for the
// action of a host on B, which has just died (A still lists B's host until
// B's lease runs out), is handed to B and never answered; once A takes B
// for dead, A holds the run again, taken back or adopted with B's runs,
// and starts it on the next host of the action, on A or on a third
// replica C. (While it was being handed, A's loading skipped it, and the
// run was held by A in the database only, started by nobody: lost in a
// rolling restart. Then, taken back, it could start on no other replica:
// it failed for want of a host while one was online on C.)
func TestReplicaHandOffToGoneReplicaTakenBack(t *testing.T) {
	for _, back := range []string{"A", "C"} {
		t.Run("host back on "+back, func(t *testing.T) {
			url := pgtest.NewDatabase(t)
			var logs logBuf
			optsA := replicaOpts(url)
			optsA.Logger = logs.logger()
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("A's log:\n%s", logs.String())
				}
			})
			a := newEnv(t, optsA)
			b := newEnv(t, replicaOpts(url))
			adminA := loginOn(t, a)
			key := adminA.key(store.EnvProduction)
			h := b.host(key, "inst-1", action("hello"))
			awaitAction(t, adminA, "hello")

			b.die()
			h.close()

			id := adminA.createTx("hello", store.EnvProduction)
			br := adminA.browser()
			br.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
			waitLogged(t, &logs, "handing a run to the replica of its host failed", id, "it is gone")
			// A holds it again (taken back, or adopted with B's runs)
			// and it waits for a host of its action.
			waitLogged(t, &logs, "no host online for the action; the run waits for one")

			on := a
			if back == "C" {
				// C starts after B is gone: it adopts nothing, and A
				// must hand the run to it.
				on = newEnv(t, replicaOpts(url))
			}
			h2 := on.host(key, "inst-2", action("hello"))
			if got := h2.expect(protocol.MethodStartTransaction); !strings.Contains(string(got.data), id) {
				t.Fatalf("the host on %s got a start of another run: %s", back, got.data)
			}
			// The operator's console, told to reconnect when B was
			// found gone, finds the run and completes it.
			br2 := adminA.browser()
			br2.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
			h2.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("c1", "g1", "INPUT_TEXT")})
			answerAndComplete(t, br2, h2, id)
			if d := adminA.tx(id); d.Status != store.StatusCompleted {
				t.Fatalf("status %s, want COMPLETED", d.Status)
			}
			if got := h2.drainStarts(); got != 0 {
				t.Fatalf("the host got %d more START_TRANSACTION", got)
			}
		})
	}
}

// TestReplicaStartsBesideADeadOne: a replica that starts while another
// has just died (killed, its lease not yet run out) asks it which hosts
// are away and gets no answer; it renews its lease meanwhile, and a third
// replica never takes it for dead. (Its heartbeat started only after that
// question's 2 s: its lease of 1.5 s ran out, the third replica reaped it,
// and it dropped every run and socket it held.)
func TestReplicaStartsBesideADeadOne(t *testing.T) {
	url := pgtest.NewDatabase(t)
	a := newEnv(t, replicaOpts(url))
	c := newEnv(t, replicaOpts(url))
	a.die()
	var logs logBuf
	optsB := replicaOpts(url)
	optsB.Logger = logs.logger()
	b := newEnv(t, optsB)
	// Time for a few heartbeats, and for C to take A for dead.
	awaitTrue(t, "C to take A for dead", func() bool { return c.s.cl.isDead(a.s.cl.id) })
	time.Sleep(3 * replicaOpts(url).ReplicaHeartbeat)
	if c.s.cl.isDead(b.s.cl.id) || strings.Contains(logs.String(), "lease ran out") {
		t.Fatalf("the new replica's lease ran out while it asked the dead one; its log:\n%s", logs.String())
	}
}

// die stops replica e as kill -9 would for the others: its bus and
// heartbeat stop, its lease is never renewed nor released. Its sockets and
// store are the test's cleanup.
func (e *env) die() {
	cl := e.s.cl
	cl.mu.Lock()
	cl.closed = true
	cl.mu.Unlock()
	cl.cancel()
	cl.wg.Wait()
	cl.bus.Close(0)
}

// drainStarts counts the START_TRANSACTIONs among the calls received so far.
func (p *peer) drainStarts() int {
	n := 0
	for {
		select {
		case c := <-p.calls:
			if c.method == protocol.MethodStartTransaction {
				n++
			}
		default:
			return n
		}
	}
}

// TestReplicasCancelAcrossReplicas: canceling a run from a replica that
// does not hold it reaches its host.
func TestReplicasCancelAcrossReplicas(t *testing.T) {
	rs := replicas(t, 2)
	a, b := rs[0], rs[1]
	adminA := loginOn(t, a)
	key := adminA.key(store.EnvProduction)
	h := b.host(key, "", action("hello"))
	awaitAction(t, adminA, "hello")
	br := adminA.browser()
	id := adminA.waitingRun(br, h, "hello")
	adminA.do("POST", "/api/console/transactions/"+id+"/cancel", nil, http.StatusNoContent, nil)
	var resp protocol.IOResponseInputs
	h.next(protocol.MethodIOResponse).decode(t, &resp)
	if resp.TransactionID != id {
		t.Fatalf("cancel reached %s", resp.TransactionID)
	}
	if d := adminA.tx(id); d.Status != store.StatusCanceled {
		t.Fatalf("status %s, want CANCELED", d.Status)
	}
}

// TestReplicasPageAcrossReplicas: a page whose host is on another replica
// opens, renders, takes state answers and closes through that replica.
func TestReplicasPageAcrossReplicas(t *testing.T) {
	rs := replicas(t, 2)
	a, b := rs[0], rs[1]
	adminA := loginOn(t, a)
	key := adminA.key(store.EnvProduction)
	h, err := dialHost(t, b, key, "page-host")
	if err != nil {
		t.Fatal(err)
	}
	var ret protocol.InitializeHostReturns
	h.call(protocol.MethodInitializeHost, protocol.InitializeHostInputs{Actions: []protocol.ActionDefinition{{GroupSlug: "billing", Slug: "refund"}},
		Groups: []protocol.PageDefinition{{Slug: "billing", Name: "Billing", HasHandler: true}}, SDKName: "@interval/sdk", SDKVersion: "2.0.0"}, &ret)
	awaitAction(t, adminA, "billing/refund")
	br := adminA.browser()
	var r protocol.OpenPageReturns
	if err := br.call(protocol.MethodRequestPage, protocol.RequestPageInputs{PageKey: "pk1", PageSlug: "billing"}, &r); err != nil || r.Type != "SUCCESS" || r.PageKey != "pk1" {
		t.Fatalf("REQUEST_PAGE: %v %+v", err, r)
	}
	var op protocol.OpenPageInputs
	h.next(protocol.MethodOpenPage).decode(t, &op)
	if op.PageKey != "pk1" || op.User.Email != adminA.email {
		t.Fatalf("OPEN_PAGE %+v", op)
	}
	layout := `{"kind":"BASIC","title":"Billing","children":{"id":"a","inputGroupKey":"b","toRender":[],"kind":"RENDER"}}`
	h.must(protocol.MethodSendPage, protocol.SendPageInputs{PageKey: "pk1", Page: &layout})
	var rp protocol.RenderPageInputs
	br.next(protocol.MethodRenderPage).decode(t, &rp)
	if rp.Page == nil || *rp.Page != layout {
		t.Fatalf("RENDER_PAGE %+v", rp)
	}
	br.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: "pk1", IOResponse: ioResponse("pk1", "a", "b", "SET_STATE", map[string]any{"offset": 0})})
	h.next(protocol.MethodIOResponse)
	br.must(protocol.MethodLeavePage, protocol.PageKeyRef{PageKey: "pk1"})
	h.next(protocol.MethodClosePage)
}

// TestReplicasNotifyAndIdentity: a notification reaches its recipient's
// console on another replica, and a password login on one replica
// confirms the operator's identity for a run held on another.
func TestReplicasNotifyAndIdentity(t *testing.T) {
	rs := replicas(t, 2)
	a, b := rs[0], rs[1]
	adminA := loginOn(t, a)
	key := adminA.key(store.EnvProduction)
	h := b.host(key, "", action("secure"))
	awaitAction(t, adminA, "secure")
	br := adminA.browser()

	h.must(protocol.MethodNotify, protocol.NotifyInputs{Message: "hello from B", DeliveryInstructions: []protocol.DeliveryInstruction{{To: adminA.email}}})
	var n protocol.ClientNotifyInputs
	br.next(protocol.MethodClientNotify).decode(t, &n)
	if n.Message != "hello from B" {
		t.Fatalf("CLIENT_NOTIFY %+v", n)
	}

	id := adminA.startRun(br, h, "secure", store.EnvProduction)
	confirm := `{"id":"c1","inputGroupKey":"g1","kind":"RENDER","toRender":[{"methodName":"CONFIRM_IDENTITY","label":"Confirm","props":{"gracePeriodMs":0}}]}`
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: confirm})
	br.next(protocol.MethodRender)
	answer := protocol.RespondToIOCallInputs{TransactionID: id, IOResponse: ioResponse(id, "c1", "g1", protocol.KindReturn, true)}
	var ok bool
	if err := br.call(protocol.MethodRespondToIOCall, answer, &ok); err != nil || ok {
		t.Fatalf("identity confirmed without a password login: %v %v", err, ok)
	}
	// The password login happens on A; the run is held on B.
	adminA.do("POST", "/api/auth/password", map[string]string{"password": "correct horse battery"}, http.StatusNoContent, nil)
	adminA.do("POST", "/api/auth/login", map[string]string{"email": adminA.email, "password": "correct horse battery"}, http.StatusOK, nil)
	deadline := time.Now().Add(wait)
	for {
		if err := br.call(protocol.MethodRespondToIOCall, answer, &ok); err == nil && ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the login on A never confirmed the identity for the run held on B")
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.next(protocol.MethodIOResponse)
}

// TestReplicasUploadReadAnywhere: a file uploaded through one replica is
// served by every other (a host's download may reach any of them), byte
// for byte, ranges included, and only under the name it was uploaded as.
func TestReplicasUploadReadAnywhere(t *testing.T) {
	rs := replicas(t, 2)
	a, b := rs[0], rs[1]
	adminA := loginOn(t, a)
	data := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB: several chunks
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "big.bin")
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", a.hs.URL+"/api/console/uploads", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set(ConsoleHeader, "1")
	resp, err := adminA.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		URL  string
		Size int64
	}
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || out.Size != int64(len(data)) {
		t.Fatalf("upload: %d %+v", resp.StatusCode, out)
	}
	onB := b.hs.URL + out.URL[strings.Index(out.URL, "/uploads/"):]
	resp, err = http.Get(onB)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, data) || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("download from B: %d bytes (want %d), headers %v", len(got), len(data), resp.Header)
	}
	rreq, _ := http.NewRequest("GET", onB, nil)
	rreq.Header.Set("Range", "bytes=1048570-1048585")
	resp, err = http.DefaultClient.Do(rreq)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, data[1048570:1048586]) {
		t.Fatalf("range across a chunk boundary: %d %q", resp.StatusCode, got)
	}
	resp, err = http.Get(strings.TrimSuffix(onB, "big.bin") + "other.bin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another name: HTTP %d, want 404", resp.StatusCode)
	}
	// Past the retention, any replica's sweep deletes it for all.
	if n := b.s.sweepUploads(time.Now().Add(DefaultUploadRetention + time.Hour)); n != 1 {
		t.Fatalf("sweep deleted %d uploads, want 1", n)
	}
	resp, err = http.Get(a.hs.URL + out.URL[strings.Index(out.URL, "/uploads/"):])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("after the sweep: HTTP %d, want 404", resp.StatusCode)
	}
}

// TestReplicasLoginLimitShared: failed password logins for one email count
// against one limit whichever replica they reach.
func TestReplicasLoginLimitShared(t *testing.T) {
	rs := replicas(t, 2)
	a, b := rs[0], rs[1]
	adminA := loginOn(t, a)
	adminA.do("POST", "/api/auth/password", map[string]string{"password": "correct horse battery"}, http.StatusNoContent, nil)
	try := func(e *env, pw string) int {
		c := &client{t: t, e: e, http: &http.Client{}}
		return c.try("POST", "/api/auth/login", map[string]string{"email": adminA.email, "password": pw}, nil)
	}
	for _, e := range rs {
		e.s.logins.mu.Lock()
		e.s.logins.clientBurst = 1000 // this test is about the email's limit
		e.s.logins.mu.Unlock()
	}
	for i := 0; i < loginMaxFails; i++ {
		e := rs[i%2]
		if code := try(e, "wrong guess"); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: HTTP %d, want 401", i, code)
		}
	}
	for _, e := range []*env{a, b} {
		if code := try(e, "correct horse battery"); code != http.StatusTooManyRequests {
			t.Fatalf("the right password after %d failures spread over two replicas: HTTP %d, want 429", loginMaxFails, code)
		}
	}
}

// TestReplicasHostAwayAcrossReplicas: the console's replica reports the
// host state of a run held by another (the host dropped: away, and when
// the run fails).
func TestReplicasHostAwayAcrossReplicas(t *testing.T) {
	rs := replicas(t, 2)
	a, b := rs[0], rs[1]
	adminA := loginOn(t, a)
	key := adminA.key(store.EnvProduction)
	h := b.host(key, "inst-away", action("hello"))
	awaitAction(t, adminA, "hello")
	br := adminA.browser()
	id := adminA.waitingRun(br, h, "hello")
	h.close()
	br.next(protocol.MethodHostClosedUnexpectedly)
	var away hostAwayJSON
	adminA.do("GET", "/api/console/transactions/"+id+"/host", nil, http.StatusOK, &away)
	if !away.Away || away.FailsAt == nil {
		t.Fatalf("host state from the console's replica: %+v, want away with a failure time", away)
	}
}

// TestReplicaRefusesSingleServer: a replica does not start beside a server
// of the release before replicas (which holds the single-server claim and
// would fail the replicas' runs as its own).
func TestReplicaRefusesSingleServer(t *testing.T) {
	url := pgtest.NewDatabase(t)
	st, err := store.OpenPostgres(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	release, err := st.Claim(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	_, err = New(context.Background(), Options{DataDir: t.TempDir(), DatabaseURL: url})
	if !errors.Is(err, store.ErrInUse) || !strings.Contains(err.Error(), "earlier release") {
		t.Fatalf("New beside a single server: %v, want store.ErrInUse naming the earlier release", err)
	}
	release()
	s, err := New(context.Background(), Options{DataDir: t.TempDir(), DatabaseURL: url})
	if err != nil {
		t.Fatalf("New once it stopped: %v", err)
	}
	s.Close()
}

// TestReplicasServerlessHostsListed: a serverless host registered or
// removed on one replica is known to the others.
func TestReplicasServerlessHostsListed(t *testing.T) {
	rs := replicas(t, 2)
	a, b := rs[0], rs[1]
	adminA, adminB := loginOn(t, a), loginOn(t, b)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String() + "/interval"
	l.Close()
	hh := adminA.registerHTTPHost(dead)
	listed := func() bool {
		var list struct{ HTTPHosts []httpHostJSON }
		adminB.do("GET", "/api/console/http-hosts", nil, http.StatusOK, &list)
		for _, h := range list.HTTPHosts {
			if h.ID == hh.ID {
				return true
			}
		}
		return false
	}
	awaitTrue(t, "the serverless host registered on A listed on B", listed)
	adminA.do("DELETE", "/api/console/http-hosts/"+hh.ID, nil, http.StatusNoContent, nil)
	awaitTrue(t, "the serverless host removed on A gone from B", func() bool { return !listed() })
}

// awaitTrue waits until f holds.
func awaitTrue(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReplicasQueuedAction: an action queued through one replica's host API
// is listed on another and runs there, on a host of a third, with its
// params; it is dequeued once.
func TestReplicasQueuedAction(t *testing.T) {
	rs := replicas(t, 3)
	a, b, c := rs[0], rs[1], rs[2]
	adminA := loginOn(t, a)
	live := adminA.key(store.EnvProduction)
	h := c.host(live, "", action("refund"))
	code, out := hostAPI(t, b, live, "/api/actions/enqueue", map[string]any{"slug": "refund", "assignee": adminA.email, "params": map[string]any{"id": 7}})
	if code != http.StatusOK {
		t.Fatalf("enqueue on B: %d %v", code, out)
	}
	qid := out["id"].(string)
	if ids := queuedIDs(adminA); len(ids) != 1 || ids[0] != qid {
		t.Fatalf("queue on A: %v, want [%s]", ids, qid)
	}
	awaitAction(t, adminA, "refund")
	var created struct{ ID string }
	adminA.do("POST", "/api/console/transactions", map[string]any{"slug": "refund", "env": "production", "queuedActionId": qid}, http.StatusCreated, &created)
	br := adminA.browser()
	br.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: created.ID})
	st := h.next(protocol.MethodStartTransaction).start(t)
	if st.TransactionID != created.ID || !strings.Contains(string(st.Params), `"id":7`) {
		t.Fatalf("START_TRANSACTION on C: %+v", st)
	}
	if ids := queuedIDs(adminA); len(ids) != 0 {
		t.Fatalf("queue after the run: %v, want empty", ids)
	}
}

// hostLeft connects host instance "mover", serving hello with a key of
// replica a's admin, to replica on, closes it without shutting down (it is
// likely reconnecting), and waits until a lists it as away (hub.left). It
// returns that admin and the key.
func hostLeft(t *testing.T, a, on *env) (adminA *client, key string) {
	t.Helper()
	adminA = loginOn(t, a)
	key = adminA.key(store.EnvProduction)
	h := on.host(key, "mover", action("hello"))
	awaitAction(t, adminA, "hello")
	h.close()
	awaitTrue(t, "the host listed as away on A", func() bool {
		a.s.hub.mu.Lock()
		defer a.s.hub.mu.Unlock()
		_, away := a.s.hub.left["mover"]
		return away
	})
	return adminA, key
}

// awaitingRun creates a run of hello as admin, with a console socket on it,
// while no host of hello is online: the console hears it waits for one.
func awaitingRun(t *testing.T, admin *client) (br *peer, id string) {
	t.Helper()
	br = admin.browser()
	id = admin.createTx("hello", store.EnvProduction)
	br.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	br.next(protocol.MethodHostClosedUnexpectedly)
	return br, id
}

// TestReplicasRunWaitsForHostMovingReplicas: a run created while the only
// host of its action is between replicas (it left one a moment ago) waits
// for it, and starts when it comes up on another replica.
func TestReplicasRunWaitsForHostMovingReplicas(t *testing.T) {
	rs := replicas(t, 3)
	a, b, c := rs[0], rs[1], rs[2]
	adminA, key := hostLeft(t, a, b)
	br, id := awaitingRun(t, adminA)
	h2 := c.host(key, "mover", action("hello"))
	if st := h2.next(protocol.MethodStartTransaction).start(t); st.TransactionID != id {
		t.Fatalf("START_TRANSACTION for %s, want %s", st.TransactionID, id)
	}
	br.next(protocol.MethodHostReconnected)
	h2.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("c1", "g1", "INPUT_TEXT")})
	br.next(protocol.MethodRender)
}

// TestReplicaHandedRunFollowsItsHost: a run handed to the replica of its
// host (takeStart) after that host had left it waits there for a host of
// its action, and goes on to the replica where one comes up, whether it
// comes up after the run arrived or before. (It waited for a host of that
// replica only, having used its one hand-off, and failed with
// NoHostOnline while a host served it elsewhere: a run lost when the
// replicas were frozen in turn.)
func TestReplicaHandedRunFollowsItsHost(t *testing.T) {
	for _, hostFirst := range []bool{false, true} {
		name := "host after the run"
		if hostFirst {
			name = "host before the run"
		}
		t.Run(name, func(t *testing.T) { handedRunFollowsHost(t, hostFirst) })
	}
}

func handedRunFollowsHost(t *testing.T, hostFirst bool) {
	rs := replicas(t, 3)
	a, b, c := rs[0], rs[1], rs[2]
	adminA, key := hostLeft(t, a, b)
	var br, h2 *peer
	var id string
	if hostFirst {
		// The host is up on C, and A knows it, before the run (not
		// opened yet, so not started) arrives.
		br = adminA.browser()
		id = adminA.createTx("hello", store.EnvProduction)
		h2 = c.host(key, "mover", action("hello"))
		awaitAction(t, adminA, "hello")
	} else {
		br, id = awaitingRun(t, adminA)
	}
	// The run arrives here from another replica for host "mover" (the
	// bus's start message), which is not here: it waits again.
	if err := a.s.hub.takeStart(a.s.cl, busMsg{Kind: kindStart, Tx: id, Host: "mover"}); err != nil {
		t.Fatal(err)
	}
	if !hostFirst {
		h2 = c.host(key, "mover", action("hello"))
	}
	if st := h2.next(protocol.MethodStartTransaction).start(t); st.TransactionID != id {
		t.Fatalf("START_TRANSACTION for %s, want %s", st.TransactionID, id)
	}
	if hostFirst {
		br.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	}
	h2.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("c1", "g1", "INPUT_TEXT")})
	br.next(protocol.MethodRender)
}

// TestReplicaHostMovingStaysKnown: a replica that lets go of a host's runs
// for the replica it reconnected to (release) still knows the host's
// actions until that replica lists it: a run of them created meanwhile
// waits for the host instead of being refused as an unknown action (87
// runs refused in a burst when the replicas were frozen in turn).
func TestReplicaHostMovingStaysKnown(t *testing.T) {
	rs := replicas(t, 2)
	a, b := rs[0], rs[1]
	adminA, key := hostLeft(t, a, a)
	k, err := a.s.store.APIKeyByHash(context.Background(), hashToken(key))
	if err != nil {
		t.Fatal(err)
	}
	// B asks A for the host's runs: it is connecting there (its card
	// is not listed yet).
	a.s.hub.release(a.s.cl, "mover", k.ID, b.s.cl.id)
	a.s.hub.mu.Lock()
	_, found, _ := a.s.hub.findAction(store.EnvProduction, mustUser(t, adminA), "hello")
	a.s.hub.mu.Unlock()
	if !found {
		t.Fatal("the action of a host moving to another replica is unknown on the one it left")
	}
	br := adminA.browser()
	id := adminA.createTx("hello", store.EnvProduction)
	br.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	br.next(protocol.MethodHostClosedUnexpectedly) // waiting for the host
}

// TestReplicaConnectToRunBeingHanded: a console opening a run that its
// replica is handing to another (out of memory, still held in the
// database: handOff) is told to reconnect, and finds the run where it
// went. (The replica answered the console as for a finished run and
// watched nothing: the run rendered on the other replica to no console,
// and the operator waited for good.)
func TestReplicaConnectToRunBeingHanded(t *testing.T) {
	a := replicas(t, 1)[0]
	admin, _, _, br, id := waitingOn(t, a)
	br.close()
	hb := a.s.hub
	hb.mu.Lock()
	t0 := hb.txs[id]
	delete(hb.txs, id)
	hb.moving[id] = true
	hb.mu.Unlock()

	br2 := admin.browser()
	opened, code := br2.callUntilClosed(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	if opened {
		t.Fatal("a console opened a run being handed away, with nothing to watch")
	}
	if code != websocket.StatusServiceRestart {
		t.Fatalf("console socket closed with %v, want 1012 (reconnect)", br2.conn.Err())
	}

	// The hand-over ends (here: the run stays); the console, reconnected,
	// watches it.
	hb.mu.Lock()
	delete(hb.moving, id)
	hb.txs[id] = t0
	hb.mu.Unlock()
	br3 := admin.browser()
	br3.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	br3.next(protocol.MethodRender)
}

// TestReplicaTakesUpRunsOfLostRelease: a replica let go of a host's runs
// for another (release) but its answer never arrived; when the host
// initializes there, that replica takes the runs up from the database
// (their owner is alive: nobody else would), and the host's re-sent call
// finds its run.
func TestReplicaTakesUpRunsOfLostRelease(t *testing.T) {
	rs := replicas(t, 2)
	a, b := rs[0], rs[1]
	adminA := loginOn(t, a)
	key := adminA.key(store.EnvProduction)
	h := a.host(key, "inst-lost", action("hello"))
	br := adminA.browser()
	id := adminA.waitingRun(br, h, "hello")
	a.s.hub.mu.Lock()
	keyID := a.s.hub.txs[id].keyID
	a.s.hub.mu.Unlock()
	apiKey, err := a.s.store.APIKeyByID(context.Background(), keyID)
	if err != nil {
		t.Fatal(err)
	}
	// A lets go of the host's runs for B; the answer is lost.
	if links := a.s.hub.release(a.s.cl, "inst-lost", apiKey.ID, b.s.cl.id); len(links) != 1 {
		t.Fatalf("released %d runs, want 1", len(links))
	}
	h2 := b.host(key, "inst-lost", action("hello"))
	var ok bool
	if err := h2.call(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("c1", "g1", "INPUT_TEXT")}, &ok); err != nil || !ok {
		t.Fatalf("the host's re-sent call on B: %v %v, want it accepted", err, ok)
	}
	b.s.hub.mu.Lock()
	_, held := b.s.hub.txs[id]
	b.s.hub.mu.Unlock()
	if !held {
		t.Fatal("B does not hold the run the database gives it")
	}
}

// waitingRun runs production action slug as c, opened in browser br on
// host h, which renders a text input (id c1, group g1): the run waits on
// the operator. It returns the run's id.
func (c *client) waitingRun(br, h *peer, slug string) string {
	c.t.Helper()
	id := c.startRun(br, h, slug, store.EnvProduction)
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("c1", "g1", "INPUT_TEXT")})
	br.next(protocol.MethodRender)
	return id
}

// TestReplicaLeaseLostRejoins: a replica whose lease runs out while it is
// alive (a pause longer than the lease) is taken for dead by the others;
// it then joins again under the same id, with the runs nobody claimed
// (none here). The others must take it
// for alive again: a run created on A for the action of a host that
// connected to B after B rejoined starts on that host and completes. (A
// that kept B for dead refused every hand-over to it as "gone", and the
// run, taken back, waited for a host that was on B.)
func TestReplicaLeaseLostRejoins(t *testing.T) {
	rs := replicas(t, 2)
	a, b := rs[0], rs[1]
	adminA := loginOn(t, a)
	key := adminA.key(store.EnvProduction)

	aliveOnA := func() bool {
		a.s.cl.mu.Lock()
		defer a.s.cl.mu.Unlock()
		return a.s.cl.alive[b.s.cl.id]
	}
	awaitTrue(t, "A to see B", aliveOnA)
	// B's lease is gone as if it had run out and been reaped. B notices
	// at its next beat and joins again once it has let go of what it
	// held, which waits for its hub's lock: held here until A has taken
	// B for dead, as a long pause would.
	func() {
		b.s.hub.mu.Lock()
		defer b.s.hub.mu.Unlock()
		if err := b.s.cl.db.Leave(context.Background(), b.s.cl.id); err != nil {
			t.Fatal(err)
		}
		awaitTrue(t, "A to take B for dead", func() bool { return a.s.cl.isDead(b.s.cl.id) })
	}()
	awaitTrue(t, "B to join again", aliveOnA)

	h := b.host(key, "", action("hello"))
	awaitAction(t, adminA, "hello")
	br := adminA.browser()
	id := adminA.waitingRun(br, h, "hello")
	br.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id,
		IOResponse: ioResponse(id, "c1", "g1", protocol.KindReturn, "Ada")})
	h.next(protocol.MethodIOResponse)
	complete(t, h, id, "done")
	br.next(protocol.MethodTransactionCompleted)
	if a.s.cl.isDead(b.s.cl.id) {
		t.Fatal("A still takes B for dead")
	}
}

// TestReplicaLeaseRanOutKeepsUnclaimedRuns: B's lease runs out while B
// lives, and another replica claims one of B's two runs before B renews.
// B must find its lease lost even though its row was not reaped yet, let
// go of the run claimed, and take back the other one, which its host and
// console then finish on B. (B renewed an expired lease as if nothing had
// happened and kept running the run claimed: two replicas held it. And a
// replica that joined again let go of every run and took none back: one
// nobody had claimed was held by nobody.) The other replica is a row of
// the replicas table only, so that it adopts nothing of its own accord.
func TestReplicaLeaseRanOutKeepsUnclaimedRuns(t *testing.T) {
	url := pgtest.NewDatabase(t)
	b := newEnv(t, replicaOpts(url))
	adminB := loginOn(t, b)
	key := adminB.key(store.EnvProduction)
	h := b.host(key, "inst-late", action("hello"))
	br := adminB.browser()
	claimed := adminB.waitingRun(br, h, "hello")
	kept := adminB.waitingRun(br, h, "hello")

	// B's lease runs out and the other replica claims one of its runs
	// (with its host, reconnected there), at once.
	ctx := context.Background()
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO replicas (id, lease_until) VALUES ('other', now() + interval '1 hour')`,
		`UPDATE replicas SET lease_until = now() - interval '1 second' WHERE id = '` + b.s.cl.id + `'`,
		`UPDATE transactions SET owner = 'other', host_instance_id = 'inst-other' WHERE id = '` + claimed + `'`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	holds := func(id string) bool {
		b.s.hub.mu.Lock()
		defer b.s.hub.mu.Unlock()
		_, ok := b.s.hub.txs[id]
		return ok
	}
	awaitTrue(t, "B to let go of the run claimed", func() bool { return !holds(claimed) })
	awaitTrue(t, "B to hold its unclaimed run again", func() bool { return holds(kept) })
	if owner, alive, err := b.s.cl.db.TransactionOwner(ctx, kept); err != nil || owner != b.s.cl.id || !alive {
		t.Fatalf("the kept run's owner: %q alive %v (%v), want B alive", owner, alive, err)
	}

	// The host and the console reconnect; the run goes on to its end.
	resumeWaitingRun(t, b, adminB, key, "inst-late", kept)
	if holds(claimed) {
		t.Fatal("B holds the run the other replica claimed")
	}
}

// TestReplicaSlowStartKeepsLease: a replica's lease is renewed from its
// join on, not only once it is ready to serve: a start that takes longer
// than the lease after joining (the login throttle's password hash takes
// seconds under the race detector) keeps it, and the others never take
// the replica for dead. (The first renewal came once the server was
// ready: a replica whose start took longer than its lease was taken for
// dead as it began, and let go of every socket and run it had.)
func TestReplicaSlowStartKeepsLease(t *testing.T) {
	url := pgtest.NewDatabase(t)
	var logsA, logsB logBuf
	optsA, optsB := replicaOpts(url), replicaOpts(url)
	optsA.Logger, optsB.Logger = logsA.logger(), logsB.logger()
	a := newEnv(t, optsA)
	afterJoin = func() { time.Sleep(2 * optsB.ReplicaLease) }
	t.Cleanup(func() { afterJoin = nil })
	b := newEnv(t, optsB)
	afterJoin = nil
	awaitTrue(t, "A to see B", func() bool {
		a.s.cl.mu.Lock()
		defer a.s.cl.mu.Unlock()
		return a.s.cl.alive[b.s.cl.id]
	})
	if strings.Contains(logsB.String(), "lease ran out") {
		t.Fatalf("B lost its lease while it started:\n%s", logsB.String())
	}
	if strings.Contains(logsA.String(), "a replica is gone") {
		t.Fatalf("A took B for dead while B started:\n%s", logsA.String())
	}
}

// TestLoadOfRunHeldHere: loading a run this replica already holds (an
// adoption's load and a hand-off's take-back of the same run, at once)
// counts it as held and gives it the console socket of the link when it
// has none. (It counted as not loaded: the take-back then took the run for
// adopted by another replica and never started it, and a hand-over
// answered that it could not load the run.)
func TestLoadOfRunHeldHere(t *testing.T) {
	a := replicas(t, 1)[0]
	admin, _, _, br, id := waitingOn(t, a)
	hb := a.s.hub
	sids := func() map[string]bool {
		hb.mu.Lock()
		defer hb.mu.Unlock()
		out := map[string]bool{}
		for sid := range hb.sids {
			out[sid] = true
		}
		return out
	}
	br.close()
	awaitTrue(t, "the run to lose its console", func() bool {
		hb.mu.Lock()
		defer hb.mu.Unlock()
		return hb.txs[id] != nil && hb.txs[id].browser == nil
	})
	before := sids()
	admin.browser()
	var sid string
	for s := range sids() {
		if !before[s] {
			sid = s
		}
	}
	if sid == "" {
		t.Fatal("no new console socket")
	}
	if n := hb.load(context.Background(), []string{id}, []runLink{{Tx: id, Replica: a.s.cl.id, Sid: sid}}); n != 1 {
		t.Fatalf("load of a run held here: %d, want 1", n)
	}
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if b := hb.txs[id].browser; b == nil || b.sid != sid {
		t.Fatal("the run did not get the link's console socket")
	}
}

// waitingOn is an admin of replica e with an API key, a host on e serving
// "hello" (instance inst-1), a console socket, and a run of hello there
// waiting on the operator (waitingRun).
func waitingOn(t *testing.T, e *env) (admin *client, key string, h, br *peer, id string) {
	t.Helper()
	admin = loginOn(t, e)
	key = admin.key(store.EnvProduction)
	h = e.host(key, "inst-1", action("hello"))
	br = admin.browser()
	id = admin.waitingRun(br, h, "hello")
	return admin, key, h, br, id
}

// TestReplicaLeaseUnsureSendsNothing: a replica that renewed no lease for a
// lease (a process or VM frozen that long, waking up) may have been taken
// for dead and its runs claimed by the others. Until a beat tells, it sends
// nothing: neither the operator's answer to the host nor the operator's
// acknowledgement; it closes those sockets (1012) and answers HTTP with
// 503. Here the other replica did claim the run: the beat, asked for at
// once, finds the lease lost, and the replica lets go of the run and joins
// again. (It went on serving until its next heartbeat, up to a fifth of a
// lease later: it acknowledged an answer that the replica holding the run
// never saw.)
func TestReplicaLeaseUnsureSendsNothing(t *testing.T) {
	url := pgtest.NewDatabase(t)
	opts := replicaOpts(url)
	opts.ReplicaLease, opts.ReplicaHeartbeat = 2*time.Minute, time.Minute // no beat of its own in the test
	b := newEnv(t, opts)
	adminB, _, h, br, id := waitingOn(t, b)

	// B wakes up after a freeze longer than its lease; its beat waits
	// (held here) while B serves what it reads.
	c := b.s.cl
	c.beatMu.Lock()
	unlocked := false
	defer func() {
		if !unlocked {
			c.beatMu.Unlock()
		}
	}()
	c.leaseEnd.Store(0)

	answered, code := br.callUntilClosed(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id,
		IOResponse: ioResponse(id, "c1", "g1", protocol.KindReturn, "Ada")})
	if answered {
		t.Fatal("the operator's answer was acknowledged by a replica that may have lost its lease")
	}
	if code != websocket.StatusServiceRestart {
		t.Fatalf("console socket closed with %v, want 1012", br.conn.Err())
	}
	if code := adminB.try("GET", "/api/console/transactions/"+id, nil, nil); code != http.StatusServiceUnavailable {
		t.Fatalf("HTTP answered %d while the lease was unsure, want 503", code)
	}
	if code, body := get(t, b.hs.URL+ReadyzPath); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz while the lease was unsure: %d %q, want 503", code, body)
	}
	for drained := false; !drained; {
		select {
		case call := <-h.calls:
			if call.method == protocol.MethodIOResponse {
				t.Fatal("the host got the operator's answer from a replica that may have lost its lease")
			}
		default:
			drained = true
		}
	}

	// Meanwhile the lease had run out and another replica claimed the run.
	ctx := context.Background()
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	for _, q := range []string{
		`INSERT INTO replicas (id, lease_until) VALUES ('other', now() + interval '1 hour')`,
		`UPDATE replicas SET lease_until = now() - interval '1 second' WHERE id = '` + c.id + `'`,
		`UPDATE transactions SET owner = 'other' WHERE id = '` + id + `'`,
	} {
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	unlocked = true
	c.beatMu.Unlock()
	awaitTrue(t, "B to let go of the run the other replica claimed", func() bool {
		b.s.hub.mu.Lock()
		defer b.s.hub.mu.Unlock()
		_, held := b.s.hub.txs[id]
		return !held
	})
	awaitTrue(t, "B to join again", func() bool { return c.leaseHeld() == nil })
	<-h.conn.Done()
	if owner, _, err := c.db.TransactionOwner(ctx, id); err != nil || owner != "other" {
		t.Fatalf("the run's owner: %q (%v), want the other replica's", owner, err)
	}
	adminB.tx(id) // HTTP is answered again
	if code, body := get(t, b.hs.URL+ReadyzPath); code != http.StatusOK {
		t.Fatalf("/readyz after joining again: %d %q", code, body)
	}
}

// TestReplicaForwardedAnswerNotAcknowledgedUnsure: an operator's answer
// given on replica A for a run replica B holds goes over the bus to B; B's
// reply is the operator's acknowledgement. It waits, as a socket's answer
// does, for B's writes queued before it, and is not given by a replica
// that may have lost its lease (it was sent at once: A acknowledged an
// answer whose write was refused, as B had been taken for dead, and the
// operator was asked again).
func TestReplicaForwardedAnswerNotAcknowledgedUnsure(t *testing.T) {
	url := pgtest.NewDatabase(t)
	opts := replicaOpts(url)
	opts.ReplicaLease, opts.ReplicaHeartbeat = 2*time.Minute, time.Minute // no beat of its own in the test
	a, b := newEnv(t, opts), newEnv(t, opts)
	_, _, _, _, id := waitingOn(t, b)
	brA := loginOn(t, a).browser()
	brA.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	brA.next(protocol.MethodRender)

	c := b.s.cl
	c.beatMu.Lock()
	defer c.beatMu.Unlock()
	c.leaseEnd.Store(0)
	var ok bool
	err := brA.call(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id,
		IOResponse: ioResponse(id, "c1", "g1", protocol.KindReturn, "Ada")}, &ok)
	if err == nil && ok {
		t.Fatal("the operator's answer was acknowledged through a replica that may have lost its lease")
	}
}

// TestReplicaLeaseUnsureRenewed: a replica whose lease only looked unsure
// (no renewal for a lease, yet nobody took it for dead) answers again once
// the beat asked for renews it, and keeps its runs.
func TestReplicaLeaseUnsureRenewed(t *testing.T) {
	url := pgtest.NewDatabase(t)
	opts := replicaOpts(url)
	opts.ReplicaLease, opts.ReplicaHeartbeat = 2*time.Minute, time.Minute
	b := newEnv(t, opts)
	adminB, key, h, br, id := waitingOn(t, b)

	b.s.cl.leaseEnd.Store(0)
	awaitTrue(t, "the lease to be renewed", func() bool {
		code := adminB.try("GET", "/api/console/transactions/"+id, nil, nil)
		return code == http.StatusOK
	})
	b.s.hub.mu.Lock()
	_, held := b.s.hub.txs[id]
	b.s.hub.mu.Unlock()
	if !held {
		t.Fatal("B let go of its run although its lease held")
	}
	h.close()
	br.close()
	resumeWaitingRun(t, b, adminB, key, "inst-1", id)
}

// TestReplicaAdoptedRunKeepsDeliveredAnswer: the host had the operator's
// answer (it acknowledged the IO_RESPONSE) and was still computing when its
// replica died; the replica that adopts the run hands the answer again to
// the host that re-sends the answered call, and does not ask the operator
// again. (The stored answer was dropped once the host had it: the adopting
// replica, knowing nothing of that delivery, showed the form again to an
// operator who had seen the answer taken.)
func TestReplicaAdoptedRunKeepsDeliveredAnswer(t *testing.T) {
	rs := replicas(t, 2)
	a, b := rs[0], rs[1]
	_, key, h, br, id := waitingOn(t, a)
	br.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id,
		IOResponse: ioResponse(id, "c1", "g1", protocol.KindReturn, "Ada")})
	h.next(protocol.MethodIOResponse) // answered: the host has the answer
	awaitTrue(t, "A to learn that the host has the answer", func() bool {
		a.s.hub.mu.Lock()
		defer a.s.hub.mu.Unlock()
		return a.s.hub.txs[id] != nil && a.s.hub.txs[id].answered != ""
	})
	time.Sleep(100 * time.Millisecond) // what A writes lazily, written
	if err := a.s.saves.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}

	a.die()
	h.close()
	br.close()
	awaitTrue(t, "B to adopt the run", func() bool {
		b.s.hub.mu.Lock()
		defer b.s.hub.mu.Unlock()
		return b.s.hub.txs[id] != nil
	})
	br2 := loginOn(t, b).browser()
	br2.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	h2 := b.host(key, "inst-1", action("hello"))
	h2.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("c1", "g1", "INPUT_TEXT")})
	select {
	case c := <-h2.calls:
		for c.method != protocol.MethodIOResponse {
			select {
			case c = <-h2.calls:
			case <-time.After(2 * time.Second):
				t.Fatalf("the host that re-sent the answered call did not get the answer again")
			}
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the host that re-sent the answered call did not get the answer again")
	}
	complete(t, h2, id, "done")
	for {
		select {
		case c := <-br2.calls:
			if c.method == protocol.MethodRender {
				t.Fatal("the operator was asked again for an answer the server had acknowledged")
			}
			if c.method == protocol.MethodTransactionCompleted {
				return
			}
		case <-time.After(wait):
			t.Fatal("the run did not complete on the console")
		}
	}
}

// TestRestartLeavesRunNotHeld: a start that could not be written to its
// host's socket is sent to another host (restart) only while this server
// still holds the run: one dropped meanwhile (a replica whose lease ran
// out lets go of every run, and another may hold and start it) is not
// started again from here. (A replica whose lease lapsed started such a
// run again on another host, where its new owner started it too.)
func TestRestartLeavesRunNotHeld(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	key := admin.key(store.EnvDevelopment)
	h1 := e.host(key, "inst-1", action("job"))
	b := admin.browser()
	id := admin.startRun(b, h1, "job", store.EnvDevelopment)
	e.host(key, "inst-2", action("job"))
	hb := e.s.hub
	hb.mu.Lock()
	defer hb.mu.Unlock()
	tx := hb.txs[id]
	delete(hb.txs, id) // as leaseLost does
	hb.restart(tx, tx.host)
	if tx.starts != 1 || tx.rec.HostInstanceID != "inst-1" {
		t.Fatalf("a run no longer held here was started again: %d starts, on %q", tx.starts, tx.rec.HostInstanceID)
	}
}
