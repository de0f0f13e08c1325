package server

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
)

// BenchmarkTransaction measures one transaction end to end over loopback
// sockets: create (HTTP), connect (browser), START_TRANSACTION, one IO call
// answered by the browser, completion.
func BenchmarkTransaction(b *testing.B) {
	// A benchmark is neither an operator nor a host to throttle: a run
	// costs the host two calls, so under about 2 ms a run the default
	// host limit (1024 calls a second) would close its socket (1008).
	e := newEnv(b, Options{HostCallsPerSecond: 1 << 30})
	e.s.browserRate.rate = 1 << 30
	admin := e.admin()
	h := e.host(admin.key("production"), "", action("bench"))
	h.answer = func(c call) any {
		if c.method == protocol.MethodStartTransaction {
			var st protocol.StartTransactionInputs
			_ = json.Unmarshal(c.data, &st)
			go func() {
				var ok protocol.SendIOCallReturns
				h.call(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: st.TransactionID, IOCall: ioCall("r", "g", "INPUT_TEXT")}, &ok)
			}()
		}
		if c.method == protocol.MethodIOResponse {
			var in protocol.IOResponseInputs
			_ = json.Unmarshal(c.data, &in)
			go h.call(protocol.MethodMarkTransactionComplete, protocol.MarkTransactionCompleteInputs{
				TransactionID: in.TransactionID, ResultStatus: "SUCCESS", Result: successResult("ok")}, nil)
		}
		return nil
	}
	// The host answers through h.answer; it also records each call it gets
	// (three a run) in h.calls, which would fill and stall it if unread.
	go func() {
		for {
			select {
			case <-h.calls:
			case <-h.conn.Done():
				return
			}
		}
	}()
	br := admin.browser()
	// next is br.next, failing at once if either socket closes.
	next := func(method string) {
		b.Helper()
		tm := time.NewTimer(wait)
		defer tm.Stop()
		for {
			select {
			case c := <-br.calls:
				if c.method == method {
					return
				}
			case <-h.conn.Done():
				b.Fatalf("waiting for %s: host socket closed: %v", method, h.conn.Err())
			case <-br.conn.Done():
				b.Fatalf("waiting for %s: console socket closed: %v", method, br.conn.Err())
			case <-tm.C:
				b.Fatalf("no %s received", method)
			}
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := admin.createTx("bench", "production")
		br.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
		next(protocol.MethodRender)
		br.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id, IOResponse: ioResponse(id, "r", "g", "RETURN", "x")})
		next(protocol.MethodTransactionCompleted)
		br.must(protocol.MethodLeaveTransaction, protocol.TransactionRef{TransactionID: id})
	}
}
