package interval

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/interval-go/sdk/internal/protocol"
)

// TestDecodeFlatInputsAsEncodingJSON: the inputs of IO_RESPONSE decode to
// what encoding/json gives, whether DecodeFlat takes them (compact, exact
// keys) or they fall back to encoding/json (whitespace, a key that matches
// only without regard to case, a field of another type), and invalid JSON
// is still an error.
func TestDecodeFlatInputsAsEncodingJSON(t *testing.T) {
	for _, data := range []string{
		`{"value":"{\"id\":\"c1\",\"kind\":\"RETURN\"}","transactionId":"t1"}`,
		`{"transactionId":"t1","value":"x\u00e9\n","extra":{"a":[1,2]}}`,
		`{"transactionId":"t1","value":null}`,
		`{ "value": "v", "transactionId": "t1" }`,
		`{"Value":"v","TRANSACTIONID":"t1"}`,
		`{"value":"a","value":"b","transactionId":"t1"}`,
	} {
		var want, got protocol.IOResponseInputs
		if err := json.Unmarshal([]byte(data), &want); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		err := decodeFlat([]byte(data), &got, protocol.FlatField{Name: "value", S: &got.Value},
			protocol.FlatField{Name: "transactionId", S: &got.TransactionID})
		if err != nil || got != want {
			t.Errorf("%s: got %+v, %v; want %+v", data, got, err, want)
		}
	}
	for _, data := range []string{`{"value":"v","transactionId":1}`, `{"value":"v"`, `[]`} {
		var in protocol.IOResponseInputs
		if err := decodeFlat([]byte(data), &in, protocol.FlatField{Name: "value", S: &in.Value},
			protocol.FlatField{Name: "transactionId", S: &in.TransactionID}); err == nil {
			t.Errorf("%s: no error", data)
		}
	}
}

func TestDecodeReturnMatchesUnmarshal(t *testing.T) {
	for _, raw := range []string{"true", "false", "null", `{"type":"ERROR","message":"no"}`, `"x"`, "tru", " true"} {
		var b, wb bool
		var r, wr protocol.SendIOCallReturns
		err, werr := decodeReturn(json.RawMessage(raw), &b), json.Unmarshal([]byte(raw), &wb)
		if fmt.Sprint(err) != fmt.Sprint(werr) || b != wb {
			t.Errorf("%q into bool: %v %v, encoding/json %v %v", raw, b, err, wb, werr)
		}
		err, werr = decodeReturn(json.RawMessage(raw), &r), json.Unmarshal([]byte(raw), &wr)
		if fmt.Sprint(err) != fmt.Sprint(werr) || r != wr {
			t.Errorf("%q into SendIOCallReturns: %+v %v, encoding/json %+v %v", raw, r, err, wr, werr)
		}
	}
}

// The ended transactions a client remembers are bounded: the oldest is
// forgotten once endedCap are held.
func TestEndedTransactionsBounded(t *testing.T) {
	c := &Client{}
	for i := range endedCap + 10 {
		c.noteEndedLocked(fmt.Sprint("tx", i))
	}
	c.noteEndedLocked("tx20") // known already: nothing moves
	if len(c.ended) != endedCap || len(c.endedLog) != endedCap {
		t.Fatalf("%d remembered (%d logged), want %d", len(c.ended), len(c.endedLog), endedCap)
	}
	for _, id := range []string{"tx0", "tx9"} {
		if _, ok := c.ended[id]; ok {
			t.Errorf("%s, among the oldest, still remembered", id)
		}
	}
	for _, id := range []string{"tx10", "tx20", fmt.Sprint("tx", endedCap+9)} {
		if _, ok := c.ended[id]; !ok {
			t.Errorf("%s forgotten", id)
		}
	}
}
