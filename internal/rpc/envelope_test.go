package rpc

import (
	"encoding/json"
	"testing"

	"github.com/interval-go/sdk/internal/protocol"
)

// TestEnvelopeOneAllocation: envelope writes the same text as
// protocol.AppendEnvelope, in one allocation when nothing needs escaping
// (the buffer is sized for it and becomes the string without a copy).
func TestEnvelopeOneAllocation(t *testing.T) {
	for _, e := range []protocol.Envelope{
		{ID: "12345", Kind: protocol.KindCall, MethodName: protocol.MethodSendIOCall, Data: json.RawMessage(`{"transactionId":"t","ioCall":"{\"a\":1}"}`)},
		{ID: "7", Kind: protocol.KindResponse, MethodName: protocol.MethodStartTransaction},
		{ID: "8", Kind: protocol.KindResponse, MethodName: protocol.MethodOpenPage, Data: json.RawMessage(`{"type":"SUCCESS"}`)},
		{ID: "9\"\n", Kind: protocol.KindCall, MethodName: "odd\u2028name", Data: json.RawMessage(`null`)},
	} {
		want := string(protocol.AppendEnvelope(nil, e))
		if got := envelope(e); got != want {
			t.Errorf("envelope(%+v) = %s, want %s", e, got, want)
		}
	}
	e := protocol.Envelope{ID: "12345", Kind: protocol.KindCall, MethodName: protocol.MethodSendIOCall, Data: json.RawMessage(`{"transactionId":"t"}`)}
	if n := testing.AllocsPerRun(100, func() { envelope(e) }); n != 1 {
		t.Errorf("envelope: %v allocations, want 1", n)
	}
}

// What a handler returns is written as encoding/json writes it (without
// HTML escaping), whether through reflection or not: booleans, the
// protocol's own writers, anything else.
func TestMarshalAsEncodingJSON(t *testing.T) {
	for _, v := range []any{true, false, protocol.SendIOCallReturns{OK: true}, protocol.SendIOCallReturns{Message: "<no> & \"no\""},
		protocol.RenderInputs{TransactionID: "t1", ToRender: `{"a":"<b>"}`}, map[string]int{"n": 1}, "x<y", nil} {
		got, err := marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		want, err := protocol.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if v == nil {
			want = nil
		}
		if string(got) != string(want) {
			t.Errorf("%#v: got %s, want %s", v, got, want)
		}
	}
}
