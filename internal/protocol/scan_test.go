package protocol

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

var jsonTexts = []string{
	``, ` `, `{}`, `[]`, ` {} `, `{"a":1}`, `{"a" : [1, 2.5e-3, -0, true, false, null, "x"]}`, `[1,]`, `{"a":1,}`, `{,}`,
	`"abc"`, `"a\"b\\c\/d\b\f\n\r\t\u00e9\uD83D\uDE00"`, `"\x"`, `"\u12"`, `"\u12G4"`, "\"a\x01\"", "\"\xff\xfe\"", `"unterminated`,
	`0`, `-`, `-0`, `01`, `1.`, `1.5`, `.5`, `1e`, `1e+`, `1e+5`, `1E-05`, `-12.34e56`, `+1`, `0x10`, `1 2`,
	`tru`, `true`, `truex`, `nul`, `null`, `false`, `[[[]]]`, `[[[]]`, `{"a":{"b":{"c":[]}}}`, `{"a"}`, `{"a":}`, `{1:2}`,
	"\t[\n1\r]\n", `{"a":1 "b":2}`, `[1 2]`, `"\u2028"`,
	strings.Repeat("[", maxNesting) + strings.Repeat("]", maxNesting),
	strings.Repeat("[", maxNesting+1) + strings.Repeat("]", maxNesting+1),
	strings.Repeat(`{"a":`, maxNesting) + "1" + strings.Repeat("}", maxNesting),
	strings.Repeat(`{"a":`, maxNesting+1) + "1" + strings.Repeat("}", maxNesting+1),
}

func TestValidJSONMatchesValid(t *testing.T) {
	for _, s := range jsonTexts {
		if got, want := validJSON(s), json.Valid([]byte(s)); got != want {
			t.Errorf("validJSON(%.60q) = %v, json.Valid %v", s, got, want)
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, s := range jsonTexts {
		if len(s) < 1000 {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validJSON(s), json.Valid([]byte(s)); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid %v", s, got, want)
		}
	})
}

// startTransactionTexts are START_TRANSACTION inputs: the shapes the
// servers send and the ones that must take encoding/json's path.
var startTransactionTexts = []string{
	`{"transactionId":"cf7234b7","displayResolvesImmediately":true,"actionName":"input_text","action":{"slug":"input_text","url":"http://127.0.0.1:46397/dashboard/acme/develop/actions/input_text"},"environment":"development","user":{"email":"alice@example.com","firstName":"Alice","lastName":"Admin","role":"admin","teams":[]},"params":{}}`,
	`{"transactionId":"t","actionName":"a","action":{"slug":"a","url":""},"environment":"production","user":{"email":"e","firstName":null,"lastName":null,"role":"developer","teams":["x","y\u00e9",null]},"params":{"n":1,"d":"2024-01-01T00:00:00.000Z","nested":{"a":[1,{"b":null}]}},"paramsMeta":{"values":{"d":["Date"]}}}`,
	`{"transactionId":"t","displayResolvesImmediately":false,"action":null,"user":null,"params":null,"paramsMeta":null}`,
	`{"transactionId":"t","displayResolvesImmediately":null,"user":{"teams":null}}`,
	`{"transactionId":"t\"q\\u0041\u2028","extra":{"deep":[1,2,{"x":"y"}]},"more":"\ud83d\ude00","user":{"email":"\xff","other":1}}`,
	`{"transactionId":"t","transactionID":"u"}`, `{"TransactionId":"t"}`, `{"transactionId":"t","transactionId":"u"}`,
	`{"transactionId":1}`, `{"displayResolvesImmediately":"yes"}`, `{"user":{"teams":[1]}}`, `{"user":{"teams":"x"}}`,
	`{"user":{"firstName":5}}`, `{"action":[]}`, `{"params":{"a":}}`, `{"params":}`, `{"transactionId":"t"} `,
	` {"transactionId":"t"}`, `{"transactionId" : "t"}`, `{}`, `[]`, `null`, `{`, `{"a\u0062":1}`, `{"transactionId":"t",}`,
	`{"transactionId":"t""actionName":"a"}`, `{"user":{"email":"a","email":"b"}}`, `{"action":{"SLUG":"x"}}`,
	`{"ſlug":1}`, `{"action":{"ſlug":"x"}}`, `{"user":{"teams":["a",]}}`, `{"user":{"teams":[,]}}`, "{\"transactionId\":\"a\x01\"}",
}

func TestDecodeStartTransactionMatchesUnmarshal(t *testing.T) {
	for _, s := range startTransactionTexts {
		checkStartTransaction(t, s)
	}
	// The shape the servers send takes the path without encoding/json.
	var in StartTransactionInputs
	if !decodeStartTransactionFast(startTransactionTexts[0], &in) || !decodeStartTransactionFast(startTransactionTexts[1], &in) {
		t.Error("a server's START_TRANSACTION took encoding/json's path")
	}
}

func checkStartTransaction(t *testing.T, s string) {
	t.Helper()
	var want StartTransactionInputs
	werr := json.Unmarshal([]byte(s), &want)
	got, gerr := DecodeStartTransaction([]byte(s))
	if fmt.Sprint(gerr) != fmt.Sprint(werr) {
		t.Fatalf("%q: error %v, encoding/json %v", s, gerr, werr)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %#v\nwant %#v", s, got, want)
	}
}

func FuzzDecodeStartTransaction(f *testing.F) {
	for _, s := range startTransactionTexts {
		f.Add(s)
	}
	f.Fuzz(checkStartTransaction)
}

var ioResponseTexts = []string{
	`{"id":"b590bec8","transactionId":"cf7234b7","inputGroupKey":"5a1a6ae1","values":["Alice"],"choice":"Continue","kind":"RETURN"}`,
	`{"id":"a","transactionId":"t","values":["2024-01-01T00:00:00.000Z",null,{"a":[1,2]},3.5,true],"valuesMeta":{"values":{"0":["Date"]}},"kind":"SET_STATE"}`,
	`{"id":"a","transactionId":"t","values":[],"kind":"CANCELED","inputGroupKey":"UNKNOWN"}`,
	`{"id":null,"transactionId":"t","values":[],"kind":"RETURN"}`, `{"id":"a","transactionId":null,"values":[],"kind":"RETURN"}`,
	`{"transactionId":"t","values":[],"kind":"RETURN"}`, `{"id":"a","values":[],"kind":"RETURN"}`,
	`{"id":"a","transactionId":"t","values":null,"kind":"RETURN"}`, `{"id":"a","transactionId":"t","kind":"RETURN"}`,
	`{"id":"a","transactionId":"t","values":[],"kind":"OTHER"}`, `{"id":"a","transactionId":"t","values":[]}`,
	`{"id":"a","transactionId":"t","values":[1,],"kind":"RETURN"}`, `{"id":"a","transactionId":"t","values":[1 ,2],"kind":"RETURN"}`,
	`{"id":"a","transactionId":"t","values":[],"kind":"RETURN","valuesMeta":null,"choice":null,"inputGroupKey":null,"x":[{}]}`,
	`{"ID":"a","transactionId":"t","values":[],"kind":"RETURN"}`, `{"id":"a","id":"b","transactionId":"t","values":[],"kind":"RETURN"}`,
	`{"id":1,"transactionId":"t","values":[],"kind":"RETURN"}`, `{"id":"a","transactionId":"t","values":{},"kind":"RETURN"}`,
	`{"id":"\u00e9\"","transactionId":"t\xff","values":["\u2028"],"kind":"RETURN"}`, ` {"id":"a","transactionId":"t","values":[],"kind":"RETURN"}`,
	`{"id":"a","transactionId":"t","values":[],"kind":"RETURN"}x`, `[]`, `null`, ``,
}

func TestDecodeIOResponseMatchesUnmarshal(t *testing.T) {
	for _, s := range ioResponseTexts {
		checkIOResponse(t, s)
	}
	var r IOResponse
	if _, _, ok := decodeIOResponseFast(ioResponseTexts[0], &r); !ok {
		t.Error("a browser's IO response took encoding/json's path")
	}
}

func checkIOResponse(t *testing.T, s string) {
	t.Helper()
	want, werr := decodeIOResponseSlow(s)
	got, gerr := DecodeIOResponse(s)
	if fmt.Sprint(gerr) != fmt.Sprint(werr) {
		t.Fatalf("%q: error %v, encoding/json %v", s, gerr, werr)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %#v\nwant %#v", s, got, want)
	}
}

func FuzzDecodeIOResponseFast(f *testing.F) {
	for _, s := range ioResponseTexts {
		f.Add(s)
	}
	f.Fuzz(checkIOResponse)
}
