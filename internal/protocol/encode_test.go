package protocol

import (
	"encoding/json"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"
)

// oddStrings are strings whose JSON forms differ between encoders: quotes,
// control characters, HTML, U+2028/U+2029, invalid UTF-8.
var oddStrings = []string{
	"", "plain", `a "quoted" \ back`, "tab\tnl\nret\rbs\bff\f", "\x00\x01\x1f\x7f",
	"<b>&amp;</b>", "line\u2028para\u2029", "bad \xff\xfe utf8 \xc3", "é日本🎉", "\\u0041",
}

func TestAppendIORenderMatchesMarshal(t *testing.T) {
	yes := []any{"a", 1.5, nil}
	var renders []IORender
	for _, s := range oddStrings {
		renders = append(renders, IORender{
			ID: s, InputGroupKey: s + "k", Kind: KindRender, ValidationErrorMessage: s,
			ToRender: []ComponentRender{{
				MethodName: "INPUT_TEXT", Label: s, IsStateful: true, IsOptional: s == "", IsMultiple: true,
				ValidationErrorMessage: s, MultipleProps: &MultipleProps{DefaultValue: []any{s, 1}},
				Props: json.RawMessage(`{"helpText":` + string(mustMarshal(t, s)) + `}`), PropsMeta: json.RawMessage(`{"values":{"a":["Date"]}}`),
			}, {MethodName: "DISPLAY_HEADING", Label: "x", Props: json.RawMessage(` { "a" : [ 1 , 2 ] } `)}},
			ChoiceButtons:  []ChoiceButton{{Label: s, Value: s, Theme: s}, {Label: "b", Value: "c"}},
			ContinueButton: &ContinueButton{Label: s, Theme: "primary"},
		})
	}
	renders = append(renders,
		IORender{},
		IORender{ID: "1", ToRender: []ComponentRender{}},
		IORender{ID: "1", ToRender: []ComponentRender{{MultipleProps: &MultipleProps{}}, {MultipleProps: &MultipleProps{DefaultValue: yes[:0]}}}},
		IORender{ContinueButton: &ContinueButton{}},
		IORender{ContinueButton: &ContinueButton{Theme: "danger"}},
		IORender{ChoiceButtons: []ChoiceButton{}},
	)
	for i, r := range renders {
		want, werr := Marshal(r)
		got, gerr := AppendIORender([]byte("prefix"), &r)
		if werr != nil || gerr != nil {
			t.Fatalf("%d: errors %v / %v", i, werr, gerr)
		}
		if string(got[len("prefix"):]) != string(want) {
			t.Errorf("%d:\n got %s\nwant %s", i, got[len("prefix"):], want)
		}
	}
	bad := IORender{ToRender: []ComponentRender{{Props: json.RawMessage(`{"a":`)}}}
	if _, err := Marshal(bad); err == nil {
		t.Fatal("Marshal took invalid props")
	}
	if _, err := AppendIORender(nil, &bad); err == nil {
		t.Error("AppendIORender took invalid props")
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAppendJSONMatchesMarshal(t *testing.T) {
	for _, s := range oddStrings {
		for _, skip := range []bool{false, true} {
			check := func(v interface{ AppendJSON([]byte) ([]byte, error) }) {
				t.Helper()
				want := mustMarshal(t, v)
				got, err := v.AppendJSON(nil)
				if err != nil || string(got) != string(want) {
					t.Errorf("%T %q:\n got %s %v\nwant %s", v, s, got, err, want)
				}
			}
			check(SendIOCallInputs{TransactionID: s, IOCall: s + `{"x":1}`, SkipClientCall: skip})
			check(MarkTransactionCompleteInputs{TransactionID: s, ResultStatus: s, Result: s, SkipClientCall: skip})
			check(ActionResult{SchemaVersion: 1, Status: s, Data: mustMarshal(t, s)})
			check(RenderInputs{TransactionID: s, ToRender: s + `{"toRender":[]}`})
			check(IOResponseInputs{Value: `{"values":[` + s + `]}`, TransactionID: s})
			check(TransactionCompletedInputs{TransactionID: s, ResultStatus: s})
			check(TransactionCompletedInputs{TransactionID: s, ResultStatus: "SUCCESS", Result: s, ResultHTML: "<p>" + s})
			check(SendIOCallReturns{OK: skip, Message: s})
			check(SendIOCallReturns{OK: skip})
		}
	}
	check := func(r ActionResult) {
		t.Helper()
		want, werr := Marshal(r)
		got, gerr := r.AppendJSON(nil)
		if (werr != nil) != (gerr != nil) || string(got) != string(want) && werr == nil {
			t.Errorf("%+v:\n got %s %v\nwant %s %v", r, got, gerr, want, werr)
		}
	}
	check(ActionResult{})
	check(ActionResult{SchemaVersion: -3, Status: "SUCCESS", Data: json.RawMessage(" [1, {\"a\" : null}] "), Meta: json.RawMessage(`{"values":["Date"]}`)})
	check(ActionResult{Data: json.RawMessage(`nope`)})
	check(ActionResult{Data: json.RawMessage(`1`), Meta: json.RawMessage(`{`)})
}

type flatProps struct {
	HelpText     string   `json:"helpText,omitempty"`
	Placeholder  string   `json:"placeholder,omitempty"`
	DefaultValue *string  `json:"defaultValue,omitempty"`
	Multiline    bool     `json:"multiline,omitempty"`
	Lines        int      `json:"lines,omitempty"`
	Min          *float64 `json:"min"`
	Max          float32  `json:"max,omitempty"`
	Step         float64  `json:"step,omitzero"`
	Zero         float64  `json:"zero"`
	U            uint8    `json:"u"`
	Kept         string   `json:"kept"`
	NoTag        int64
	Ignored      string `json:"-"`
	Dash         string `json:"-,"`
	hidden       string //nolint:unused // unexported fields are skipped
}

type theme string

type namedProps struct {
	Theme theme  `json:"theme"`
	Ptr   *theme `json:"ptr,omitzero"`
	I     *int   `json:"i"`
}

type marshalsItself int

func (marshalsItself) MarshalJSON() ([]byte, error) { return []byte(`"custom"`), nil }

type textItself string

func (textItself) MarshalText() ([]byte, error) { return []byte("text"), nil }

type inner struct {
	A string `json:"a"`
}

// Types that are not flat go through Serialize; SerializeJSON must still
// give the same result.
type (
	withMarshaler struct {
		M marshalsItself `json:"m"`
	}
	withText struct {
		T textItself `json:"t"`
	}
	withEmbedded struct {
		inner
		B string `json:"b"`
	}
	withDuplicate struct {
		A string // named "A" like the next one's tag: a duplicate name
		B string `json:"A"`
	}
	withTime struct {
		T time.Time `json:"t"`
	}
	withSlice struct {
		S []string `json:"s"`
	}
)

func TestSerializeJSONMatchesSerialize(t *testing.T) {
	s, f, th, n := "dv", 2.5, theme("x\u2028"), 7
	negZero := math.Copysign(0, -1)
	values := []any{
		nil, "str", "\u2028\xff<>", true, false, 0, -12, int64(1 << 60), uint16(9), 1.5, negZero, 1e21, 1e-7, 123456789.125, float32(0.1),
		math.NaN(), math.Inf(1), math.Inf(-1), theme("t"), marshalsItself(1), textItself("x"),
		struct{}{}, flatProps{}, flatProps{DefaultValue: &s, Min: &f, Max: 0.1, Step: negZero, Zero: negZero, NoTag: -1, Ignored: "no", Dash: "yes"},
		flatProps{HelpText: "a\"b", Placeholder: "\x01", Multiline: true, Lines: 3, Step: 1e-9, Zero: math.NaN(), U: 255},
		flatProps{Max: float32(math.Inf(1))},
		namedProps{}, namedProps{Theme: th, Ptr: &th, I: &n},
		withMarshaler{}, withText{}, withEmbedded{inner{"a"}, "b"}, withDuplicate{"1", "2"}, withTime{time.Unix(1, 0)},
		withSlice{[]string{"a"}}, &flatProps{}, []int{1}, map[string]int{"b": 1, "a": 2}, big.NewInt(5),
		json.RawMessage(`{"a": 1}`), json.Number("12"),
	}
	for i, v := range values {
		plain, wantMeta, werr := Serialize(v)
		var want []byte
		if werr == nil {
			want, werr = Marshal(plain)
		}
		got, gotMeta, gerr := SerializeJSON(v)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("%d %#v: errors %v / %v", i, v, werr, gerr)
		}
		if string(got) != string(want) || string(gotMeta) != string(wantMeta) {
			t.Errorf("%d %#v:\n got %s %s\nwant %s %s", i, v, got, gotMeta, want, wantMeta)
		}
	}
}

// TestSerializeJSONFlat checks that the props of most components take the
// path without Serialize's tree.
func TestSerializeJSONFlat(t *testing.T) {
	for _, v := range []any{nil, "s", 1, true, 2.5, theme("t"), struct{}{}, flatProps{}, namedProps{}} {
		if _, ok := appendFlat(nil, v); !ok {
			t.Errorf("%#v not written flat", v)
		}
	}
	for _, v := range []any{math.NaN(), withMarshaler{}, withText{}, withEmbedded{}, withDuplicate{}, withTime{}, withSlice{}, &flatProps{}, marshalsItself(1), textItself("")} {
		if _, ok := appendFlat(nil, v); ok {
			t.Errorf("%#v written flat", v)
		}
	}
}

func FuzzSerializeJSON(f *testing.F) {
	for _, s := range oddStrings {
		f.Add(s, 1.5, int64(3), true)
	}
	f.Add("", math.Copysign(0, -1), int64(-1), false)
	f.Add("x", 1e300, int64(math.MinInt64), false)
	f.Fuzz(func(t *testing.T, s string, fl float64, i int64, b bool) {
		type props struct {
			S  string   `json:"s,omitempty"`
			P  *string  `json:"p"`
			F  float64  `json:"f,omitempty"`
			F2 float32  `json:"f2"`
			FP *float64 `json:"fp,omitzero"`
			I  int64    `json:"i"`
			B  bool     `json:"b,omitempty"`
		}
		for _, v := range []any{s, fl, i, b, props{S: s, P: &s, F: fl, F2: float32(fl), FP: &fl, I: i, B: b}, props{}} {
			plain, _, werr := Serialize(v)
			var want []byte
			if werr == nil {
				want, werr = Marshal(plain)
			}
			got, _, gerr := SerializeJSON(v)
			if (werr != nil) != (gerr != nil) || string(got) != string(want) {
				t.Fatalf("%#v:\n got %s %v\nwant %s %v", v, got, gerr, want, werr)
			}
		}
		r := IORender{ID: s, InputGroupKey: s, Kind: s, ValidationErrorMessage: s, ToRender: []ComponentRender{{Label: s, Props: mustMarshal(t, s)}}}
		want := mustMarshal(t, r)
		got, err := AppendIORender(nil, &r)
		if err != nil || string(got) != string(want) {
			t.Fatalf("render %q:\n got %s %v\nwant %s", s, got, err, want)
		}
		if strings.Contains(string(got), "\n") {
			t.Fatalf("render with a raw newline: %s", got)
		}
	})
}
