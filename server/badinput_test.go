package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

// rawHost is a host speaking raw frames, to send what a correct client
// never would.
type rawHost struct {
	t  *testing.T
	ws *websocket.Conn
}

func dialRaw(t *testing.T, e *env, key string) *rawHost {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	h := http.Header{}
	h.Set("x-api-key", key)
	h.Set("x-instance-id", "raw-host")
	ws, _, err := websocket.Dial(ctx, e.wsURL(), &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { ws.CloseNow() })
	r := &rawHost{t: t, ws: ws}
	if f := r.read(); f.Type != "MESSAGE" || f.Data != "authenticated" {
		t.Fatalf("first frame %+v", f)
	}
	return r
}

// read returns the next frame, ACKing MESSAGEs.
func (r *rawHost) read() protocol.Frame {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, p, err := r.ws.Read(ctx)
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	f, err := protocol.DecodeFrame(p)
	if err != nil {
		r.t.Fatalf("server sent a malformed frame %s: %v", p, err)
	}
	if f.Type == "MESSAGE" {
		r.write(string(protocol.AppendAck(nil, f.ID)))
	}
	return f
}

func (r *rawHost) write(s string) {
	r.t.Helper()
	if err := r.ws.Write(context.Background(), websocket.MessageText, []byte(s)); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

func (r *rawHost) callRaw(msgID, rpcID, method, data string) {
	env := protocol.AppendEnvelope(nil, protocol.Envelope{ID: rpcID, Kind: "CALL", MethodName: method, Data: json.RawMessage(data)})
	r.write(string(protocol.AppendMessage(nil, msgID, string(env))))
}

// response reads frames until the RESPONSE to rpcID, checking that the
// MESSAGE msgID was acknowledged on the way.
func (r *rawHost) response(rpcID string) protocol.Envelope {
	r.t.Helper()
	for {
		f := r.read()
		if f.Type != "MESSAGE" {
			continue
		}
		env, err := protocol.DecodeEnvelope(f.Data)
		if err != nil {
			r.t.Fatalf("server sent a malformed envelope: %v", err)
		}
		if env.Kind == "RESPONSE" && env.ID == rpcID {
			return env
		}
	}
}

// waitLogged waits for a log line containing each of subs (lines are
// written by the socket's goroutines, after the frame that caused them).
func waitLogged(t *testing.T, logs *logBuf, subs ...string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		missing := ""
		out := logs.String()
		for _, s := range subs {
			if !strings.Contains(out, s) {
				missing = s
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not logged: %q\nlog:\n%s", missing, out)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// dialRawBrowser opens a console socket of c speaking raw frames.
func dialRawBrowser(t *testing.T, c *client) *rawHost {
	t.Helper()
	u, _ := url.Parse(c.e.hs.URL)
	h := http.Header{}
	for _, ck := range c.http.Jar.Cookies(u) {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	h.Set("Origin", c.e.hs.URL)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, c.e.wsURL(), &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { ws.CloseNow() })
	return &rawHost{t: t, ws: ws}
}

// expectClose reads until the server closes r, and returns the close code.
func (r *rawHost) expectClose() websocket.StatusCode {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		if _, _, err := r.ws.Read(ctx); err != nil {
			code, _ := closeStatus(err)
			return code
		}
	}
}

// Bad input from hosts and browsers (malformed frames, unknown methods,
// wrong types, oversized messages) is refused, each with a log line saying
// why; the socket keeps working (or only it is closed, for an oversized
// message) and the server goes on serving.
func TestBadInputDoesNotKillServer(t *testing.T) {
	var logs logBuf
	e := newEnv(t, Options{MaxMessageBytes: 64 << 10, Logger: logs.logger()})
	admin := e.admin()
	key := admin.key("development")
	r := dialRaw(t, e, key)

	r.write("not json at all")
	r.write(`{"type":"MESSAGE"}`)
	r.write(`{"type":"NOPE","id":"x"}`)
	r.write(`{"type":"MESSAGE","id":"m0","data":{"an":"object"}}`)
	if err := r.ws.Write(context.Background(), websocket.MessageBinary, []byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	waitLogged(t, &logs, `ignoring malformed frame" host=raw-host env=development err="protocol: malformed message: frame: invalid character`,
		`malformed message: frame without id`, `unknown frame type \"NOPE\"`, `rawFrame.data of type string`, "ignoring binary frame")
	r.write(string(protocol.AppendMessage(nil, "m1", "not an rpc envelope")))
	r.callRaw("m2", "1", "NO_SUCH_METHOD", `{}`)
	waitLogged(t, &logs, `msg="rpc: dropping malformed message" host=raw-host`, `err="unknown method \"NO_SUCH_METHOD\" from host"`)
	r.callRaw("m3", "2", "SEND_IO_CALL", `{"transactionId":5,"ioCall":5}`)
	if env := r.response("2"); string(env.Data) != "false" {
		t.Fatalf("SEND_IO_CALL with wrong types answered %s", env.Data)
	}
	waitLogged(t, &logs, `msg="refusing call with invalid input" host=raw-host env=development method=SEND_IO_CALL`)
	r.callRaw("m4", "3", "SEND_IO_CALL", `{"transactionId":"nope","ioCall":"{\"id\":1}"}`)
	if env := r.response("3"); string(env.Data) != "false" {
		t.Fatalf("SEND_IO_CALL with a bad ioCall answered %s", env.Data)
	}
	waitLogged(t, &logs, `msg="refusing SEND_IO_CALL" host=raw-host env=development transaction=nope err="protocol: malformed message: ioCall`)
	r.callRaw("m5", "4", "MARK_TRANSACTION_COMPLETE", `{"transactionId":"nope","result":"{not json"}`)
	if env := r.response("4"); string(env.Data) != "false" {
		t.Fatalf("MARK_TRANSACTION_COMPLETE of an unknown transaction answered %s", env.Data)
	}
	waitLogged(t, &logs, `msg="refusing MARK_TRANSACTION_COMPLETE" host=raw-host env=development transaction=nope err="Transaction not found."`)
	// The connection still works.
	r.callRaw("m6", "5", "INITIALIZE_HOST", `{"actions":[{"slug":"ok"}],"groups":[],"sdkName":"@interval/sdk","sdkVersion":"2.0.0"}`)
	var ret protocol.InitializeHostReturns
	if err := json.Unmarshal(r.response("5").Data, &ret); err != nil || ret.Type != "success" {
		t.Fatalf("INITIALIZE_HOST after bad input: %v %+v", err, ret)
	}

	// An oversized message closes that socket (1009), nothing else.
	big := dialRaw(t, e, key)
	big.callRaw("b1", "1", "SEND_LOG", `{"transactionId":"x","data":"`+strings.Repeat("a", 100<<10)+`"}`)
	if code := big.expectClose(); code != websocket.StatusMessageTooBig {
		t.Fatalf("oversized message: close %d", code)
	}
	waitLogged(t, &logs, `msg="closing socket: message larger than the limit" host=raw-host`)

	// Browsers: bad answers are refused, the server keeps running.
	b := admin.browser()
	var ok bool
	if err := b.call(protocol.MethodRespondToIOCall, map[string]any{"transactionId": "x", "ioResponse": "garbage"}, &ok); err != nil || ok {
		t.Fatalf("garbage RESPOND_TO_IO_CALL: %v %v", err, ok)
	}
	if err := b.call(protocol.MethodConnectToTransactionAsClient, map[string]any{"transactionId": 12}, &ok); err != nil || ok {
		t.Fatalf("wrong-typed CONNECT: %v %v", err, ok)
	}
	waitLogged(t, &logs, `msg="refusing RESPOND_TO_IO_CALL" browser=`, `msg="refusing call with invalid input" browser=`)
	rb := dialRawBrowser(t, admin)
	rb.write("{{{")
	rb.callRaw("c1", "1", "INITIALIZE_HOST", `{}`) // a host's method
	rb.callRaw("c2", "2", protocol.MethodInitializeClient, `null`)
	if env := rb.response("2"); string(env.Data) != "true" {
		t.Fatalf("INITIALIZE_CLIENT after bad input answered %s", env.Data)
	}
	waitLogged(t, &logs, `msg="websocket: ignoring malformed frame" browser=`, `err="unknown method \"INITIALIZE_HOST\" from browser"`)
	rb.callRaw("c3", "3", protocol.MethodRespondToIOCall, `{"transactionId":"x","ioResponse":"`+strings.Repeat("a", 100<<10)+`"}`)
	if code := rb.expectClose(); code != websocket.StatusMessageTooBig {
		t.Fatalf("oversized browser message: close %d", code)
	}
	waitLogged(t, &logs, `msg="closing socket: message larger than the limit" browser=`)
	// A bad JSON body on the API is a 400.
	if code := admin.try("POST", "/api/console/transactions", "not an object", nil); code != http.StatusBadRequest {
		t.Fatalf("bad body: HTTP %d", code)
	}
	h := e.host(key, "", action("still_works"))
	admin.startRun(b, h, "still_works", "development")
}

func TestFloodingBrowserIsClosed(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	b := admin.browser()
	for i := 0; i < 100000; i++ {
		if err := b.conn.Send(context.Background(), string(protocol.AppendEnvelope(nil, protocol.Envelope{
			ID: "x", Kind: "CALL", MethodName: protocol.MethodInitializeClient}))); err != nil {
			break // closed by the server
		}
	}
	<-b.conn.Done()
	if code, reason := closeStatus(b.conn.Err()); code != websocket.StatusPolicyViolation || reason != "Rate limit exceeded." {
		t.Fatalf("close %d %q", code, reason)
	}
	// Others are unaffected.
	b2 := admin.browser()
	var ok bool
	if err := b2.call(protocol.MethodInitializeClient, nil, &ok); err != nil || !ok {
		t.Fatalf("INITIALIZE_CLIENT: %v %v", err, ok)
	}
}

// A host that reads but never acknowledges is closed (1008) once a message
// to it goes unacknowledged, and the run it was given waits for it as
// HOST_DROPPED, with the operator told, instead of staying RUNNING on a
// stuck socket.
func TestHostThatNeverAcksIsClosed(t *testing.T) {
	var logs logBuf
	e := newEnv(t, Options{Logger: logs.logger()})
	admin := e.admin()
	r := dialRaw(t, e, admin.key("production"))
	r.callRaw("m1", "1", protocol.MethodInitializeHost, `{"actions":[{"slug":"job"}],"groups":[],"sdkName":"@interval/sdk","sdkVersion":"2.0.0"}`)
	r.response("1")
	b := admin.browser()
	id := admin.createTx("job", "production")
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	ctx, cancel := context.WithTimeout(context.Background(), 4*wait)
	defer cancel()
	gotStart := false
	for {
		_, p, err := r.ws.Read(ctx) // never ACKed
		if err != nil {
			if code, reason := closeStatus(err); code != websocket.StatusPolicyViolation || reason != unackedReason {
				t.Fatalf("close %d %q (%v)", code, reason, err)
			}
			break
		}
		gotStart = gotStart || strings.Contains(string(p), protocol.MethodStartTransaction)
	}
	if !gotStart {
		t.Fatal("START_TRANSACTION never written")
	}
	b.next(protocol.MethodHostClosedUnexpectedly)
	if st := admin.tx(id).Status; st != "HOST_DROPPED" {
		t.Fatalf("status %s", st)
	}
	if !strings.Contains(logs.String(), "not acknowledged in time") {
		t.Fatalf("not logged:\n%s", logs.String())
	}
}

// A result that is not JSON (or has an unknown status) is refused, and the
// run ends as a FAILURE saying so, for the operator and in the history,
// instead of staying RUNNING.
func TestInvalidResultFailsTheRun(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	h := e.host(admin.key("development"), "", action("job"))
	b := admin.browser()
	for _, in := range []protocol.MarkTransactionCompleteInputs{
		{ResultStatus: "SUCCESS", Result: "{not json"},
		{ResultStatus: "WHATEVER", Result: `{}`},
		{Result: `{"schemaVersion":1,"status":"BOGUS"}`},
	} {
		id := admin.startRun(b, h, "job", "development")
		in.TransactionID = id
		var ok bool
		if err := h.call(protocol.MethodMarkTransactionComplete, in, &ok); err != nil || ok {
			t.Fatalf("%+v: %v %v", in, err, ok)
		}
		var done protocol.TransactionCompletedInputs
		b.next(protocol.MethodTransactionCompleted).decode(t, &done)
		if done.TransactionID != id || done.ResultStatus != "FAILURE" || !strings.Contains(done.Result, "invalid result") {
			t.Fatalf("%+v: completed %+v", in, done)
		}
		if d := admin.tx(id); d.Status != "COMPLETED" || d.ResultStatus != "FAILURE" {
			t.Fatalf("%+v: history %+v", in, d.txSummary)
		}
		b.must(protocol.MethodLeaveTransaction, protocol.TransactionRef{TransactionID: id})
		h.expect(protocol.MethodCloseTransaction)
	}
}

// Logs a host sends after its run finished never rewrite the run's
// history: without an index they are added after the last line, and an
// index already used is ignored.
func TestLateLogsKeepHistory(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	h := e.host(admin.key("development"), "", action("job"))
	b := admin.browser()
	id := admin.startRun(b, h, "job", "development")
	zero, one := 0, 1
	h.must(protocol.MethodSendLog, protocol.SendLogInputs{TransactionID: id, Data: "first", Index: &zero})
	h.must(protocol.MethodSendLog, protocol.SendLogInputs{TransactionID: id, Data: "second", Index: &one})
	complete(t, h, id, "done")
	b.next(protocol.MethodTransactionCompleted)
	// Finished while the browser watches, then left: the server forgets it.
	b.must(protocol.MethodLeaveTransaction, protocol.TransactionRef{TransactionID: id})
	h.expect(protocol.MethodCloseTransaction)
	var ok bool
	if err := h.call(protocol.MethodSendLog, protocol.SendLogInputs{TransactionID: id, Data: "late"}, &ok); err != nil {
		t.Fatal(err)
	}
	if err := h.call(protocol.MethodSendLog, protocol.SendLogInputs{TransactionID: id, Data: "rewritten", Index: &zero}, &ok); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range admin.tx(id).Logs {
		got = append(got, fmt.Sprint(l.Index, " ", l.Data))
	}
	if strings.Join(got, "|") != "0 first|1 second|2 late" {
		t.Fatalf("history logs %q", got)
	}
}

// A host cannot act on a transaction another host runs (another key of the
// same environment, or another developer's key): IO calls, logs, loading
// states, redirects and results are refused, and the run and its history
// are untouched; the real host then finishes it.
func TestHostCannotTouchAnotherHostsTransaction(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	bob := e.newUser(admin, "bob@example.com", "developer")
	owner := e.host(admin.key("production"), "owner", action("job"))
	b := admin.browser()
	id := admin.startRun(b, owner, "job", "production")
	for _, other := range []*peer{e.host(admin.key("production"), "other", action("job")), e.host(bob.key("development"), "bobs", action("job"))} {
		var io protocol.SendIOCallReturns
		if err := other.call(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("x", "g", "INPUT_TEXT")}, &io); err != nil || io.OK {
			t.Fatalf("SEND_IO_CALL by another host: %v %+v", err, io)
		}
		for _, c := range []struct {
			method string
			in     any
		}{
			{protocol.MethodSendLog, protocol.SendLogInputs{TransactionID: id, Data: "forged"}},
			{protocol.MethodSendLoadingCall, map[string]any{"transactionId": id, "label": "forged"}},
			{protocol.MethodSendRedirect, map[string]any{"transactionId": id, "url": "https://evil.example.com"}},
			{protocol.MethodMarkTransactionComplete, protocol.MarkTransactionCompleteInputs{TransactionID: id, ResultStatus: "SUCCESS", Result: successResult("forged")}},
		} {
			var ok bool
			if err := other.call(c.method, c.in, &ok); err != nil || ok {
				t.Fatalf("%s by another host: %v %v", c.method, err, ok)
			}
		}
	}
	if d := admin.tx(id); d.Status != "RUNNING" || len(d.Logs) != 0 || d.Result != nil {
		t.Fatalf("transaction touched by another host: %+v logs %v", d.txSummary, d.Logs)
	}
	complete(t, owner, id, "real")
	// Nothing forged reached the operator: the completion comes first.
	var done protocol.TransactionCompletedInputs
	b.expect(protocol.MethodTransactionCompleted).decode(t, &done)
	if !strings.Contains(done.Result, "real") {
		t.Fatalf("completed %+v", done)
	}
}

// A host that never answers OPEN_PAGE does not stall the browser's other
// calls: they are answered while the page waits, and the page then fails
// with "The host did not answer." when the host goes away.
func TestSlowPageDoesNotStallBrowser(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	r := dialRaw(t, e, admin.key("production"))
	r.callRaw("m1", "1", protocol.MethodInitializeHost, `{"actions":[],"groups":[{"slug":"p","name":"P","hasHandler":true}],"sdkName":"@interval/sdk","sdkVersion":"2.0.0"}`)
	r.response("1")
	// The host reads (and ACKs) but never answers OPEN_PAGE.
	opened := make(chan struct{})
	go func() {
		for {
			_, p, err := r.ws.Read(context.Background())
			if err != nil {
				return
			}
			f, err := protocol.DecodeFrame(p)
			if err != nil || f.Type != "MESSAGE" {
				continue
			}
			r.ws.Write(context.Background(), websocket.MessageText, protocol.AppendAck(nil, f.ID))
			if strings.Contains(f.Data, protocol.MethodOpenPage) {
				close(opened)
			}
		}
	}()
	b := admin.browser()
	page := make(chan protocol.OpenPageReturns, 1)
	go func() {
		var ret protocol.OpenPageReturns
		b.call(protocol.MethodRequestPage, protocol.RequestPageInputs{PageKey: "k1", PageSlug: "p", OrganizationEnvironmentID: "production"}, &ret)
		page <- ret
	}()
	<-opened
	start := time.Now()
	var ok bool
	if err := b.call(protocol.MethodInitializeClient, nil, &ok); err != nil || !ok {
		t.Fatalf("INITIALIZE_CLIENT: %v %v", err, ok)
	}
	if d := time.Since(start); d > pageOpenTimeout/2 {
		t.Fatalf("INITIALIZE_CLIENT waited %v behind REQUEST_PAGE", d)
	}
	select {
	case ret := <-page:
		t.Fatalf("REQUEST_PAGE answered before the host did: %+v", ret)
	default:
	}
	r.ws.CloseNow() // the host goes away: the page fails at once
	if ret := <-page; ret.Type != "ERROR" || ret.Message != "The host did not answer." {
		t.Fatalf("REQUEST_PAGE %+v", ret)
	}
}

// After a restart, a host with another live key that reuses the instance
// id of a run's host cannot take the run over (or add to a finished run's
// history): the key it started with is kept with it. The real host can.
func TestRestartKeepsHostKey(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	key, other := admin.key("production"), admin.key("production")
	h := e.host(key, "inst", action("a"))
	b := admin.browser()
	done := admin.startRun(b, h, "a", "production")
	complete(t, h, done, 1)
	b.next(protocol.MethodTransactionCompleted)
	open := admin.createTx("a", "production")
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: open})
	h.next(protocol.MethodStartTransaction)
	c1 := ioCall("r1", "g1", "INPUT_TEXT")
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: open, IOCall: c1})
	e.hs.Close()
	if err := e.s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-h.conn.Done()
	e.s = nil
	e.start()
	_, link, err := e.s.EnsureAdmin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	admin = e.login(link)

	thief := e.host(other, "inst", action("a"))
	var io protocol.SendIOCallReturns
	if err := thief.call(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: open, IOCall: c1}, &io); err != nil || io.OK {
		t.Fatalf("SEND_IO_CALL with another key after a restart: %v %+v", err, io)
	}
	var ok bool
	if err := thief.call(protocol.MethodSendLog, protocol.SendLogInputs{TransactionID: done, Data: "forged"}, &ok); err != nil || ok {
		t.Fatalf("SEND_LOG to a finished run with another key: %v %v", err, ok)
	}
	if d := admin.tx(open); d.Status != store.StatusHostDropped {
		t.Fatalf("status %s after the other key's call", d.Status)
	}
	if d := admin.tx(done); len(d.Logs) != 0 {
		t.Fatalf("finished run's logs %+v", d.Logs)
	}
	thief.close()
	<-thief.conn.Done()
	// The server may not have seen the thief's socket end yet: it refuses
	// the instance id until then, and a host retries.
	var real *peer
	for deadline := time.Now().Add(10 * time.Second); ; {
		p, err := dialHost(t, e, key, "inst")
		if err == nil {
			real = p
			break
		}
		if !strings.Contains(err.Error(), "Another host is connected") || time.Now().After(deadline) {
			t.Fatalf("dial host: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ret := real.init(action("a")); ret.Type != "success" {
		t.Fatalf("INITIALIZE_HOST: %+v", ret)
	}
	real.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: open, IOCall: c1})
	complete(t, real, open, "ok")
	if d := admin.tx(open); d.Status != store.StatusCompleted {
		t.Fatalf("status %s after the real host", d.Status)
	}
}

// A host logging without end does not fill the store: a run keeps its
// first lines, a note says the rest were dropped, and the run goes on.
func TestRunLogLimit(t *testing.T) {
	saved := runLogLimit
	runLogLimit.lines, runLogLimit.bytes = 3, 1<<20
	defer func() { runLogLimit = saved }()
	var logs logBuf
	e := newEnv(t, Options{Logger: logs.logger()})
	admin := e.admin()
	h := e.host(admin.key("development"), "", action("job"))
	b := admin.browser()
	id := admin.startRun(b, h, "job", "development")
	for i := range 6 {
		h.must(protocol.MethodSendLog, protocol.SendLogInputs{TransactionID: id, Data: fmt.Sprint("line ", i)})
	}
	complete(t, h, id, "done")
	var got []string
	for _, l := range admin.tx(id).Logs {
		got = append(got, l.Data)
	}
	if len(got) != 4 || got[2] != "line 2" || !strings.HasPrefix(got[3], "(Further log lines were dropped: a run keeps at most 3 lines") {
		t.Fatalf("history logs %q", got)
	}
	if !strings.Contains(logs.String(), "run reached its log limit") {
		t.Error("the limit was not logged")
	}
	if admin.tx(id).Status != "COMPLETED" {
		t.Errorf("status %s", admin.tx(id).Status)
	}
}

// A transaction created for a browser that never opened it (the page was
// left while the create request was in flight) is canceled after a
// minute, not left PENDING; one that a browser opened is not.
func TestUnopenedTransactionCanceled(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	e.host(admin.key("development"), "", action("job"))
	lost := admin.createTx("job", "development")
	open := admin.createTx("job", "development")
	b := admin.browser()
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: open})
	e.s.hub.sweep(time.Now().Add(pendingGrace / 2))
	if st := admin.tx(lost).Status; st != "PENDING" {
		t.Fatalf("before the grace: %s", st)
	}
	e.s.hub.sweep(time.Now().Add(pendingGrace + time.Second))
	if st := admin.tx(lost).Status; st != "CANCELED" {
		t.Fatalf("never opened, after the grace: %s, want CANCELED", st)
	}
	if st := admin.tx(open).Status; st == "CANCELED" || st == "PENDING" {
		t.Fatalf("the opened run: %s", st)
	}
}

// A browser that stops acknowledging (a page reloaded or closed while a
// message was on its way) is closed as a host would be, but that is no
// fault of anyone's: the line is at debug level, not a warning.
func TestBrowserThatLeavesIsNoWarning(t *testing.T) {
	var logs logBuf
	e := newEnv(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	admin := e.admin()
	u, _ := url.Parse(e.hs.URL)
	h := http.Header{}
	for _, ck := range admin.http.Jar.Cookies(u) {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	h.Set("Origin", e.hs.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 4*wait)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, e.wsURL(), &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	env := protocol.AppendEnvelope(nil, protocol.Envelope{ID: "1", Kind: "CALL", MethodName: protocol.MethodInitializeClient})
	if err := ws.Write(ctx, websocket.MessageText, protocol.AppendMessage(nil, "m1", string(env))); err != nil {
		t.Fatal(err)
	}
	for { // read, never acknowledge, until the server closes
		if _, _, err := ws.Read(ctx); err != nil {
			if code, reason := closeStatus(err); code != websocket.StatusPolicyViolation || reason != unackedReason {
				t.Fatalf("close %d %q (%v)", code, reason, err)
			}
			break
		}
	}
	waitFor(t, func() bool { return strings.Contains(logs.String(), "not acknowledged in time") }, "the close logged")
	out := logs.String()
	if !strings.Contains(out, `level=DEBUG msg="closing socket: a message was not acknowledged in time"`) || strings.Contains(out, `level=WARN msg="closing socket: a message was not acknowledged`) {
		t.Fatalf("log:\n%s", out)
	}
}
