package server

import (
	"encoding/json"
	"testing"

	"github.com/interval-go/sdk/internal/protocol"
)

// BenchmarkTransaction measures one transaction end to end over loopback
// sockets: create (HTTP), connect (browser), START_TRANSACTION, one IO call
// answered by the browser, completion.
func BenchmarkTransaction(b *testing.B) {
	e := newEnv(b, Options{})
	e.s.browserRate.rate = 1 << 30 // a benchmark is not an operator
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
	br := admin.browser()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := admin.createTx("bench", "production")
		br.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
		br.next(protocol.MethodRender)
		br.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id, IOResponse: ioResponse(id, "r", "g", "RETURN", "x")})
		br.next(protocol.MethodTransactionCompleted)
		br.must(protocol.MethodLeaveTransaction, protocol.TransactionRef{TransactionID: id})
	}
}
