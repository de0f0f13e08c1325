package protocol

import (
	"encoding/json"
	"testing"
)

// flatIn is a method input of the shape DecodeFlat takes.
type flatIn struct {
	TransactionID  string `json:"transactionId"`
	IOCall         string `json:"ioCall"`
	SkipClientCall bool   `json:"skipClientCall"`
}

func (in *flatIn) fields() []FlatField {
	return []FlatField{{Name: "transactionId", S: &in.TransactionID}, {Name: "ioCall", S: &in.IOCall}, {Name: "skipClientCall", B: &in.SkipClientCall}}
}

// TestDecodeFlatAsEncodingJSON: whenever DecodeFlat takes an input, it
// decodes it as encoding/json does; what it does not take (case-folded or
// escaped keys, other value types, whitespace, invalid JSON) it leaves to
// encoding/json by reporting false.
func TestDecodeFlatAsEncodingJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		take bool
	}{
		{`{"transactionId":"t1","ioCall":"{\"id\":\"c\"}"}`, true},
		{`{"ioCall":"x","transactionId":"t1","skipClientCall":true}`, true},
		{`{"transactionId":"t1","skipClientCall":false,"other":"y"}`, true},
		{`{"transactionId":"a","transactionId":"b"}`, true},
		{`{"transactionId":null,"ioCall":"é \u00e9 \ud83d\ude00 \ud800 \n\t\"\\\/"}`, true},
		{"{\"transactionId\":\"\xff\"}", true},
		{`{"unknown":"\n","x":true,"y":null}`, true},
		{`{}`, true},
		{`{"TransactionID":"t1"}`, false},
		{`{"transactionid":"t1"}`, false},
		{`{"transaction\u0049d":"t1"}`, false},
		{`{"transactionId":1}`, false},
		{`{"transactionId":true}`, false},
		{`{"skipClientCall":"true"}`, false},
		{`{"other":{"a":1}}`, false},
		{`{"other":[1]}`, false},
		{`{"other":1}`, false},
		{`{ "transactionId":"t1"}`, false},
		{`{"transactionId":"t1"} `, false},
		{`{"transactionId":"t1",}`, false},
		{`{"transactionId":"t1"`, false},
		{`{"transactionId":"t1}`, false},
		{`{"transactionId":"\x"}`, false},
		{"{\"transactionId\":\"a\nb\"}", false},
		{`{"transactionId":tru}`, false},
		{`{"transactionId":"t1"}}`, false},
		{`{"transactionId""t1"}`, false},
		{`[]`, false},
		{``, false},
	} {
		var got flatIn
		took := DecodeFlat([]byte(tc.in), got.fields()...)
		if took != tc.take {
			t.Errorf("%s: taken %v, want %v", tc.in, took, tc.take)
		}
		if !took {
			continue
		}
		var want flatIn
		if err := json.Unmarshal([]byte(tc.in), &want); err != nil {
			t.Errorf("%s: taken, but encoding/json refuses it: %v", tc.in, err)
			continue
		}
		if got != want {
			t.Errorf("%s: %+v, encoding/json %+v", tc.in, got, want)
		}
	}
}

// FuzzDecodeFlat: on any input DecodeFlat takes, encoding/json agrees.
func FuzzDecodeFlat(f *testing.F) {
	f.Add(`{"transactionId":"t1","ioCall":"{\"id\":\"c\"}","skipClientCall":true}`)
	f.Add(`{"a":null,"transactionId":"\u00e9"}`)
	f.Fuzz(func(t *testing.T, in string) {
		var got flatIn
		if !DecodeFlat([]byte(in), got.fields()...) {
			return
		}
		var want flatIn
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatalf("%q: taken, but encoding/json refuses it: %v", in, err)
		}
		if got != want {
			t.Fatalf("%q: %+v, encoding/json %+v", in, got, want)
		}
	})
}
