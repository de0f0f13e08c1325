package protocol

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestAppendJSONStringLikeJSONStringify(t *testing.T) {
	for in, want := range map[string]string{
		"plain":              `"plain"`,
		`q"b\`:               `"q\"b\\"`,
		"\n\r\t\b\f\x00\x1f": `"\n\r\t\b\f\u0000\u001f"`,
		"<a>&amp;":           `"<a>&amp;"`,
		"\u2028\u2029é😀":     "\"\u2028\u2029é😀\"",
		"\x7f":               "\"\x7f\"",
		"bad\xffutf8":        `"bad\ufffdutf8"`,
	} {
		if got := string(appendJSONString(nil, in)); got != want {
			t.Errorf("appendJSONString(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestDecodeFrame(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Frame
	}{
		{`{"id":"a","data":"x","type":"MESSAGE"}`, Frame{FrameMessage, "a", "x"}},
		{`{"type":"MESSAGE","id":"a","data":""}`, Frame{FrameMessage, "a", ""}},
		{`{"type":"ACK","id":"a"}`, Frame{Type: FrameAck, ID: "a"}},
		{`{"type":"ACK","id":"a","data":null}`, Frame{Type: FrameAck, ID: "a"}}, // Python
		{`{"type":"ACK","id":"a","extra":[1]}`, Frame{Type: FrameAck, ID: "a"}},
		{`{"id":"a","data":"{\"k\":\"\\u00e9\\n\"}","type":"MESSAGE"}`, Frame{FrameMessage, "a", `{"k":"\u00e9\n"}`}},
		{`{"id":"a","data":"\u00e9\"","type":"MESSAGE"}`, Frame{FrameMessage, "a", "é\""}},
		{"{\"id\":\"a\",\"data\":\"bad\xff\",\"type\":\"MESSAGE\"}", Frame{FrameMessage, "a", "bad\ufffd"}},
		{`{"id":"a","data":"x","type":"MESSAGE","id":"b"}`, Frame{FrameMessage, "b", "x"}},
		{`{"ID":"a","Data":"x","Type":"MESSAGE"}`, Frame{FrameMessage, "a", "x"}},
	} {
		got, err := DecodeFrame([]byte(tc.in))
		if err != nil || got != tc.want {
			t.Errorf("DecodeFrame(%s) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{
		``, `null`, `[]`, `{}`, `{"type":"MESSAGE","id":"a"}`, `{"type":"MESSAGE","id":"a","data":null}`,
		`{"type":"MESSAGE","id":"a","data":{"x":1}}`, `{"type":"ACK"}`, `{"type":"NOPE","id":"a"}`,
		`{"type":"ACK","id":5}`, `{"type":"ACK","id":"a"`, `{"type":"ACK","id":""}`,
		`{"id":"a","data":"x\","type":"MESSAGE"}`, `{"id":"a","data":"x"","type":"MESSAGE"}`,
		`{"id":"a","data":"\q","type":"MESSAGE"}`, "{\"id\":\"a\",\"data\":\"\n\",\"type\":\"MESSAGE\"}",
		`{"id":"a","data":"x","y":"z","type":"MESSAGE"`, `{"id":"","data":"x","type":"MESSAGE"}`,
	} {
		if _, err := DecodeFrame([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeFrame(%s): err %v, want ErrMalformed", bad, err)
		}
	}
}

func TestAppendMessageRoundTrip(t *testing.T) {
	data := `{"id":"1","kind":"CALL","data":{"s":"<\u2028\"\\"},"methodName":"X"}`
	b := AppendMessage(nil, "id-1", data)
	f, err := DecodeFrame(b)
	if err != nil || f.Data != data || f.ID != "id-1" || f.Type != FrameMessage {
		t.Fatalf("got %+v %v from %s", f, err, b)
	}
	if !strings.HasPrefix(string(b), `{"id":"id-1","data":"{\"id\":`) || !strings.HasSuffix(string(b), `,"type":"MESSAGE"}`) {
		t.Errorf("key order: %s", b)
	}
}

// The Node SDK builds the render object as {id, inputGroupKey, toRender,
// validationErrorMessage, kind, choiceButtons} and each component as
// {methodName, label, isStateful, isOptional, isMultiple,
// validationErrorMessage, multipleProps, props, propsMeta}.
func TestIORenderKeyOrder(t *testing.T) {
	r := IORender{
		ID: "i", InputGroupKey: "g", Kind: KindRender,
		ValidationErrorMessage: "group error",
		ToRender: []ComponentRender{{
			MethodName: "INPUT_TEXT", Label: "L", IsMultiple: true,
			ValidationErrorMessage: "bad",
			MultipleProps:          &MultipleProps{DefaultValue: []any{}},
			Props:                  json.RawMessage(`{"a":1}`),
			PropsMeta:              json.RawMessage(`{"values":{"a":["bigint"]}}`),
		}},
		ChoiceButtons: []ChoiceButton{{Label: "Go", Value: "go", Theme: "primary"}},
	}
	want := `{"id":"i","inputGroupKey":"g","toRender":[{"methodName":"INPUT_TEXT","label":"L","isStateful":false,"isOptional":false,"isMultiple":true,"validationErrorMessage":"bad","multipleProps":{"defaultValue":[]},"props":{"a":1},"propsMeta":{"values":{"a":["bigint"]}}}],"validationErrorMessage":"group error","kind":"RENDER","choiceButtons":[{"label":"Go","value":"go","theme":"primary"}]}`
	if got := string(marshalJS(t, r)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	back, err := DecodeIORender(want)
	if err != nil || back.ValidationErrorMessage != "group error" || back.ToRender[0].MultipleProps.DefaultValue == nil {
		t.Errorf("decode: %+v %v", back, err)
	}
	// .multiple() without a default sends multipleProps: {}.
	c := ComponentRender{MethodName: "X", MultipleProps: &MultipleProps{}, Props: json.RawMessage(`{}`)}
	if got := string(marshalJS(t, c)); !strings.Contains(got, `"multipleProps":{},`) {
		t.Errorf("got %s", got)
	}
}

func TestDecodeIORenderRejects(t *testing.T) {
	for _, bad := range []string{``, `[]`, `{}`, `{"id":"a"}`, `{"id":"a","inputGroupKey":"g","toRender":[{"label":"x"}]}`,
		`{"id":"a","inputGroupKey":"g","toRender":"x"}`} {
		if _, err := DecodeIORender(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeIORender(%s): %v", bad, err)
		}
	}
}

func TestDecodeIOResponse(t *testing.T) {
	ok := []string{
		`{"id":"a","transactionId":"t","inputGroupKey":"g","values":["x"],"choice":"Continue","kind":"RETURN"}`,
		`{"id":"UNKNOWN","inputGroupKey":"UNKNOWN","transactionId":"t","kind":"CANCELED","values":[]}`,
		`{"id":"a","transactionId":"t","values":[{"offset":500,"pageSize":20}],"kind":"SET_STATE","extra":{"x":1}}`,
		`{"id":"a","transactionId":"t","values":["2024-01-01T00:00:00.000Z"],"valuesMeta":{"values":{"0":["Date"]}},"kind":"RETURN"}`,
	}
	for _, s := range ok {
		if _, err := DecodeIOResponse(s); err != nil {
			t.Errorf("DecodeIOResponse(%s): %v", s, err)
		}
	}
	for _, bad := range []string{
		`{"kind":"RETURN"}`, // trace 27
		`{"id":"a","transactionId":"t","kind":"RETURN"}`,
		`{"id":"a","transactionId":"t","values":null,"kind":"RETURN"}`,
		`{"id":"a","values":[],"kind":"RETURN"}`,
		`{"transactionId":"t","values":[],"kind":"RETURN"}`,
		`{"id":"a","transactionId":"t","values":[],"kind":"NOPE"}`,
		`{"id":1,"transactionId":"t","values":[],"kind":"RETURN"}`,
		`[]`, ``,
	} {
		if _, err := DecodeIOResponse(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeIOResponse(%s): %v, want ErrMalformed", bad, err)
		}
	}
}

func TestReturnsShapes(t *testing.T) {
	var r SendIOCallReturns
	if err := json.Unmarshal([]byte(`{"type":"ERROR","message":"nope"}`), &r); err != nil || r.OK || r.Message != "nope" {
		t.Errorf("%+v %v", r, err)
	}
	if b := marshalJS(t, r); string(b) != `{"type":"ERROR","message":"nope"}` {
		t.Errorf("%s", b)
	}
	if err := json.Unmarshal([]byte(`{"type":"SUCCESS"}`), &r); err == nil {
		t.Errorf("accepted a non-error object")
	}
	// INITIALIZE_HOST error shape, and success with every required key.
	if b := marshalJS(t, InitializeHostReturns{Type: "error", Message: "m"}); string(b) != `{"type":"error","message":"m"}` {
		t.Errorf("%s", b)
	}
	if b := marshalJS(t, InitializeHostReturns{Type: "success"}); string(b) != `{"type":"success","environment":"","invalidSlugs":[],"organization":{"name":"","slug":""},"dashboardUrl":"","warnings":[]}` {
		t.Errorf("%s", b)
	}
	var a Access
	for in, want := range map[string]Access{`"entire-organization"`: {EntireOrganization: true}, `{"teams":["x"]}`: {Teams: []string{"x"}}} {
		if err := json.Unmarshal([]byte(in), &a); err != nil || a.EntireOrganization != want.EntireOrganization || len(a.Teams) != len(want.Teams) {
			t.Errorf("Access %s: %+v %v", in, a, err)
		}
		if got := string(marshalJS(t, a)); got != in {
			t.Errorf("Access re-encoded %s, want %s", got, in)
		}
	}
	if err := json.Unmarshal([]byte(`"everyone"`), &a); err == nil {
		t.Errorf("Access accepted a bad string")
	}
	if got := string(marshalJS(t, Access{})); got != `{"teams":[]}` {
		t.Errorf("zero Access: %s", got)
	}
}

func TestStartTransactionValidate(t *testing.T) {
	var s StartTransactionInputs
	if err := json.Unmarshal([]byte(`{"transactionId":"not-a-valid-start","actionName":"input_text"}`), &s); err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); !errors.Is(err, ErrMalformed) {
		t.Errorf("Validate: %v", err)
	}
}

func TestLayoutJSON(t *testing.T) {
	title, desc := "Dashboard", "About"
	for _, tc := range []struct {
		l    Layout
		want string
	}{
		{Layout{Kind: "BASIC"}, `{"kind":"BASIC","errors":[]}`},
		{Layout{Kind: "BASIC", Errors: []LayoutError{{Error: "Error", Message: "boom"}}}, `{"kind":"BASIC","errors":[{"error":"Error","message":"boom"}]}`},
		{Layout{Kind: "BASIC", Title: &title, Description: &desc}, `{"kind":"BASIC","title":"Dashboard","description":"About","errors":[]}`},
		{Layout{Kind: "BASIC", TitleLoading: true, Description: &desc, MenuItems: []ButtonItem{{Label: "R", Route: "r"}}},
			`{"kind":"BASIC","title":null,"description":"About","menuItems":[{"label":"R","route":"r"}],"errors":[]}`},
		{Layout{Kind: "BASIC", Title: &title, DescriptionLoading: true, Children: &IORender{ID: "i", InputGroupKey: "g", ToRender: []ComponentRender{}, Kind: KindRender}},
			`{"kind":"BASIC","title":"Dashboard","description":null,"children":{"id":"i","inputGroupKey":"g","toRender":[],"kind":"RENDER"},"errors":[]}`},
	} {
		got := marshalJS(t, tc.l)
		if string(got) != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
			continue
		}
		var back Layout
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		if again := marshalJS(t, back); string(again) != tc.want {
			t.Errorf("round trip %s -> %s", tc.want, again)
		}
	}
	var l Layout
	if err := json.Unmarshal([]byte(`{"kind":"BASIC","title":5}`), &l); err == nil {
		t.Errorf("numeric title accepted")
	}
}

// Zod rejects null for required (and optional) arrays and records: a nil Go
// slice must not reach the wire as null.
func TestNoNullForRequiredCollections(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{InitializeHostInputs{SDKName: "s"}, `{"actions":[],"sdkName":"s"}`},
		{InitializeHostInputs{Groups: []PageDefinition{}}, `{"actions":[],"groups":[]}`},
		{InitializeHostInputs{CallableActionNames: []string{"a"}}, `{"actions":null,"callableActionNames":["a"]}`},
		{DeclareHostInputs{HTTPHostID: "h"}, `{"httpHostId":"h","actions":[],"sdkName":"","sdkVersion":""}`},
		{User{Email: "a@b", Role: "admin"}, `{"email":"a@b","firstName":null,"lastName":null,"role":"admin","teams":[]}`},
		{StartTransactionInputs{TransactionID: "t"}, `{"transactionId":"t","actionName":"","action":{"slug":"","url":""},"environment":"","user":{"email":"","firstName":null,"lastName":null,"role":"","teams":[]},"params":{}}`},
		{OpenPageInputs{PageKey: "k", Params: json.RawMessage("null")}, `{"pageKey":"k","page":{"slug":""},"environment":"","user":{"email":"","firstName":null,"lastName":null,"role":"","teams":[]},"params":{}}`},
		{NotifyInputs{Message: "m", CreatedAt: "c"}, `{"message":"m","deliveryInstructions":[],"createdAt":"c"}`},
		{ClientNotifyInputs{TransactionID: "t", Message: "m"}, `{"transactionId":"t","deliveries":[],"message":"m"}`},
		{IORender{ID: "i", InputGroupKey: "g", Kind: KindRender}, `{"id":"i","inputGroupKey":"g","toRender":[],"kind":"RENDER"}`},
		{DeclareHostReturns{Type: "success"}, `{"type":"success","invalidSlugs":[],"warnings":[]}`},
		{DeclareHostReturns{Type: "error", Message: "m"}, `{"type":"error","message":"m"}`},
		{ComponentRender{MethodName: "DISPLAY_MARKDOWN", Label: "<b>"}, `{"methodName":"DISPLAY_MARKDOWN","label":"<b>","isStateful":false,"isOptional":false,"isMultiple":false,"props":{}}`},
	} {
		if got := string(marshalJS(t, tc.v)); got != tc.want {
			t.Errorf("%T:\n got %s\nwant %s", tc.v, got, tc.want)
		}
		// Plain json.Marshal still works (and escapes HTML as usual).
		if b, err := json.Marshal(tc.v); err != nil || !json.Valid(b) {
			t.Errorf("json.Marshal(%T) = %s, %v", tc.v, b, err)
		}
	}
}

func TestClip(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"START_TRANSACTION", 64, "START_TRANSACTION"},
		{"abcdef", 3, "abc…(6 bytes)"},
		{"aé", 2, "a…(3 bytes)"}, // é is two bytes: not cut in half
		{"", 0, ""},
	} {
		if got := Clip(c.in, c.n); got != c.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
