package protocol

import (
	"encoding/json"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustSerialize(t *testing.T, v any) (string, string) {
	t.Helper()
	j, meta, err := Serialize(v)
	if err != nil {
		t.Fatalf("Serialize(%#v): %v", v, err)
	}
	return string(marshalJS(t, j)), string(meta)
}

func mustDeserialize(t *testing.T, raw, meta string) any {
	t.Helper()
	var m json.RawMessage
	if meta != "" {
		m = json.RawMessage(meta)
	}
	v, err := Deserialize(json.RawMessage(raw), m)
	if err != nil {
		t.Fatalf("Deserialize(%s, %s): %v", raw, meta, err)
	}
	return v
}

func TestSerializeDate(t *testing.T) {
	loc := time.FixedZone("X", 2*3600)
	when := time.Date(2024, 1, 2, 5, 4, 5, 678_900_000, loc) // 03:04:05.6789Z
	j, meta := mustSerialize(t, map[string]any{"when": when})
	if j != `{"when":"2024-01-02T03:04:05.678Z"}` || meta != `{"values":{"when":["Date"]}}` {
		t.Fatalf("got %s %s", j, meta)
	}
	v := mustDeserialize(t, j, meta).(map[string]any)
	got, ok := v["when"].(time.Time)
	if !ok || !got.Equal(when.Truncate(time.Millisecond)) || got.Location() != time.UTC {
		t.Fatalf("round trip: %#v", v["when"])
	}
	// Whole seconds still carry .000 like toISOString.
	j, _ = mustSerialize(t, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	if j != `"2024-01-01T00:00:00.000Z"` {
		t.Fatalf("got %s", j)
	}
}

func TestSerializeRootScalars(t *testing.T) {
	for _, tc := range []struct {
		v          any
		json, meta string
	}{
		{time.Date(2024, 2, 29, 13, 45, 0, 0, time.UTC), `"2024-02-29T13:45:00.000Z"`, `{"values":["Date"]}`},
		{big.NewInt(-42), `"-42"`, `{"values":["bigint"]}`},
		{math.Inf(-1), `"-Infinity"`, `{"values":["number"]}`},
		{"plain", `"plain"`, ``},
		{nil, `null`, ``},
		{3.5, `3.5`, ``},
	} {
		j, meta := mustSerialize(t, tc.v)
		if j != tc.json || meta != tc.meta {
			t.Errorf("Serialize(%v) = %s %s, want %s %s", tc.v, j, meta, tc.json, tc.meta)
			continue
		}
		back := mustDeserialize(t, j, meta)
		switch want := tc.v.(type) {
		case time.Time:
			if got, ok := back.(time.Time); !ok || !got.Equal(want) {
				t.Errorf("round trip %v: %#v", want, back)
			}
		case *big.Int:
			if got, ok := back.(*big.Int); !ok || got.Cmp(want) != 0 {
				t.Errorf("round trip %v: %#v", want, back)
			}
		case float64:
			if got, ok := back.(float64); !ok || (got != want && !(math.IsNaN(got) && math.IsNaN(want))) {
				t.Errorf("round trip %v: %#v", want, back)
			}
		default:
			if !reflect.DeepEqual(back, tc.v) {
				t.Errorf("round trip %v: %#v", tc.v, back)
			}
		}
	}
}

func TestSerializeBigIntAndNested(t *testing.T) {
	huge, _ := new(big.Int).SetString("12345678901234567890", 10)
	type row struct {
		ID   *big.Int  `json:"id"`
		At   time.Time `json:"at"`
		Note string    `json:"note,omitempty"`
	}
	v := map[string]any{
		"rows":      []row{{ID: big.NewInt(12), At: time.Unix(0, 0)}},
		"a.b":       map[string]any{"c.d": huge},
		"plain":     []any{1, "x", true, nil},
		"valueBig":  *big.NewInt(7),
		"nanFloat":  math.NaN(),
		"posInfMap": map[string]float64{"x": math.Inf(1)},
	}
	j, meta := mustSerialize(t, v)
	wantJSON := `{"a.b":{"c.d":"12345678901234567890"},"nanFloat":"NaN","plain":[1,"x",true,null],"posInfMap":{"x":"Infinity"},"rows":[{"id":"12","at":"1970-01-01T00:00:00.000Z"}],"valueBig":"7"}`
	if j != wantJSON {
		t.Errorf("json\n got %s\nwant %s", j, wantJSON)
	}
	wantMeta := `{"values":{"a\\.b.c\\.d":["bigint"],"nanFloat":["number"],"posInfMap.x":["number"],"rows.0.at":["Date"],"rows.0.id":["bigint"],"valueBig":["bigint"]}}`
	if meta != wantMeta {
		t.Errorf("meta\n got %s\nwant %s", meta, wantMeta)
	}
	back := mustDeserialize(t, j, meta).(map[string]any)
	if got := back["a.b"].(map[string]any)["c.d"]; got.(*big.Int).Cmp(huge) != 0 {
		t.Errorf("escaped path: %#v", got)
	}
	r0 := back["rows"].([]any)[0].(map[string]any)
	if r0["id"].(*big.Int).Int64() != 12 || !r0["at"].(time.Time).Equal(time.Unix(0, 0)) {
		t.Errorf("rows: %#v", r0)
	}
	if f := back["nanFloat"].(float64); !math.IsNaN(f) {
		t.Errorf("NaN: %v", f)
	}
	if f := back["posInfMap"].(map[string]any)["x"].(float64); !math.IsInf(f, 1) {
		t.Errorf("Infinity: %v", f)
	}
}

func TestSerializeJSONNumberStaysNumber(t *testing.T) {
	j, meta := mustSerialize(t, map[string]any{"n": json.Number("12.5")})
	if j != `{"n":12.5}` || meta != "" {
		t.Fatalf("got %s %s", j, meta)
	}
}

// Node trace 19: object result with Date, BigInt, undefined and params
// carrying a Date.
const (
	trace19Data = `{"id":7,"name":"Widget","price":9.99,"tags":["a","b"],"createdAt":"2024-01-02T03:04:05.000Z","big":"12345678901234567890","nested":{"ok":true,"nothing":null,"missing":null},"params":{"id":7,"since":"2024-01-01T00:00:00.000Z","q":"x"},"action":{"slug":"object_result","url":"http://127.0.0.1:46397/dashboard/acme/develop/actions/object_result"},"environment":"development","organization":{"name":"Acme","slug":"acme"}}`
	trace19Meta = `{"values":{"createdAt":["Date"],"big":["bigint"],"nested.missing":["undefined"],"params.since":["Date"]}}`
	trace04Data = `{"date":{"year":2024,"month":2,"day":29,"jsDate":"2024-02-29T00:00:00.000Z"},"datetime":{"year":2024,"month":2,"day":29,"hour":13,"minute":45,"jsDate":"2024-02-29T13:45:00.000Z"}}`
	trace04Meta = `{"values":{"date.jsDate":["Date"],"datetime.jsDate":["Date"]}}`
)

func TestDeserializeTrace19(t *testing.T) {
	v := mustDeserialize(t, trace19Data, trace19Meta).(map[string]any)
	if ts, ok := v["createdAt"].(time.Time); !ok || !ts.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("createdAt %#v", v["createdAt"])
	}
	if b, ok := v["big"].(*big.Int); !ok || b.String() != "12345678901234567890" {
		t.Errorf("big %#v", v["big"])
	}
	nested := v["nested"].(map[string]any)
	if _, ok := nested["missing"]; ok {
		t.Errorf("undefined key kept: %#v", nested)
	}
	if n, ok := nested["nothing"]; !ok || n != nil {
		t.Errorf("null key lost: %#v", nested)
	}
	if ts, ok := v["params"].(map[string]any)["since"].(time.Time); !ok || ts.Year() != 2024 {
		t.Errorf("params.since %#v", v["params"])
	}
	if v["price"] != 9.99 || v["tags"].([]any)[1] != "b" {
		t.Errorf("plain values changed: %#v", v)
	}

	// Serializing the decoded value gives the original back, minus the
	// undefined key (Go has no undefined: it is simply absent).
	j, meta := mustSerialize(t, v)
	want := decodeAny(t, []byte(trace19Data)).(map[string]any)
	delete(want["nested"].(map[string]any), "missing")
	if got := decodeAny(t, []byte(j)); !reflect.DeepEqual(got, any(want)) {
		t.Errorf("re-serialized json\n got %s\nwant %s", j, marshalJS(t, want))
	}
	wantMeta := decodeAny(t, []byte(trace19Meta)).(map[string]any)
	delete(wantMeta["values"].(map[string]any), "nested.missing")
	assertSameJSON(t, "trace 19 meta", []byte(meta), marshalJS(t, wantMeta))
}

func TestDeserializeTrace04(t *testing.T) {
	v := mustDeserialize(t, trace04Data, trace04Meta).(map[string]any)
	d := v["date"].(map[string]any)["jsDate"].(time.Time)
	dt := v["datetime"].(map[string]any)["jsDate"].(time.Time)
	if !d.Equal(time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)) || !dt.Equal(time.Date(2024, 2, 29, 13, 45, 0, 0, time.UTC)) {
		t.Errorf("dates %v %v", d, dt)
	}
	j, meta := mustSerialize(t, v)
	assertSameJSON(t, "trace 04 json", []byte(j), []byte(trace04Data))
	assertSameJSON(t, "trace 04 meta", []byte(meta), []byte(trace04Meta))
}

func TestDeserializeAnnotations(t *testing.T) {
	for _, tc := range []struct {
		name, raw, meta, want string
	}{
		{"undefined in object", `{"a":null,"b":1}`, `{"values":{"a":["undefined"]}}`, `{"b":1}`},
		{"undefined in array", `[1,null,3]`, `{"values":{"1":["undefined"]}}`, `[1,null,3]`},
		{"root undefined", `null`, `{"values":["undefined"]}`, `null`},
		{"unknown annotation", `{"a":"x"}`, `{"values":{"a":["whatever"]}}`, `{"a":"x"}`},
		{"custom time", `{"t":"10:30:00"}`, `{"values":{"t":[["custom","time"]]}}`, `{"t":"10:30:00"}`},
		{"set", `{"s":[1,2]}`, `{"values":{"s":["set"]}}`, `{"s":[1,2]}`},
		{"map", `{"m":[["k",1],["j",2]]}`, `{"values":{"m":["map"]}}`, `{"m":{"k":1,"j":2}}`},
		{"regexp", `{"r":"/a+/g"}`, `{"values":{"r":["regexp"]}}`, `{"r":"/a+/g"}`},
		{"path to missing key", `{"a":{}}`, `{"values":{"a.b":["Date"],"x":["Date"],"y.z":["bigint"]}}`, `{"a":{}}`},
		{"index out of range", `[1]`, `{"values":{"5":["Date"],"-1":["Date"],"x":["Date"]}}`, `[1]`},
		{"bad date kept", `{"d":"yesterday"}`, `{"values":{"d":["Date"]}}`, `{"d":"yesterday"}`},
		{"bad bigint kept", `{"b":"1.5"}`, `{"values":{"b":["bigint"]}}`, `{"b":"1.5"}`},
		{"empty meta", `{"a":1}`, `{}`, `{"a":1}`},
		{"null meta", `{"a":1}`, `null`, `{"a":1}`},
		{"null values", `{"a":1}`, `{"values":null}`, `{"a":1}`},
		{"referentialEqualities ignored", `{"a":{"x":1},"b":{"x":1}}`, `{"values":{},"referentialEqualities":{"a":["b"]}}`, `{"a":{"x":1},"b":{"x":1}}`},
	} {
		got := mustDeserialize(t, tc.raw, tc.meta)
		if !reflect.DeepEqual(got, decodeAny(t, []byte(tc.want))) {
			t.Errorf("%s: got %#v, want %s", tc.name, got, tc.want)
		}
	}
}

func TestDeserializeNestedAnnotatedContainer(t *testing.T) {
	// A map whose value is a Date: [annotation, {children}] node.
	v := mustDeserialize(t, `{"m":[["k","2024-01-01T00:00:00.000Z"]]}`,
		`{"values":{"m":["map",{"0.1":["Date"]}]}}`).(map[string]any)
	if _, ok := v["m"].(map[string]any)["k"].(time.Time); !ok {
		t.Errorf("got %#v", v)
	}
	// Root set of bigints.
	r := mustDeserialize(t, `["1","2"]`, `{"values":["set",{"0":["bigint"],"1":["bigint"]}]}`).([]any)
	if r[1].(*big.Int).Int64() != 2 {
		t.Errorf("got %#v", r)
	}
}

func TestDeserializeNumber(t *testing.T) {
	v := mustDeserialize(t, `["NaN","Infinity","-Infinity","other"]`,
		`{"values":{"0":["number"],"1":["number"],"2":["number"],"3":["number"]}}`).([]any)
	if !math.IsNaN(v[0].(float64)) || !math.IsInf(v[1].(float64), 1) || !math.IsInf(v[2].(float64), -1) || v[3] != "other" {
		t.Errorf("got %#v", v)
	}
}

func TestDeserializeMalformed(t *testing.T) {
	for _, tc := range [][2]string{
		{`{`, ``},
		{`{}`, `{`},
		{`{}`, `[]`},
		{`{}`, `{"values":{`},
	} {
		if _, err := Deserialize(json.RawMessage(tc[0]), json.RawMessage(tc[1])); err == nil {
			t.Errorf("Deserialize(%s, %s) succeeded", tc[0], tc[1])
		}
	}
	// Deeply nested meta trees are refused rather than recursing forever.
	deep := strings.Repeat(`["set",{"0":`, 100) + `["Date"]` + strings.Repeat(`}]`, 100)
	raw := strings.Repeat(`[`, 101) + strings.Repeat(`]`, 101)
	if _, err := Deserialize(json.RawMessage(raw), json.RawMessage(`{"values":`+deep+`}`)); err == nil {
		t.Errorf("deep meta accepted")
	}
}

func TestSerializeStructs(t *testing.T) {
	type Inner struct {
		When time.Time `json:"when"`
	}
	type outer struct {
		Inner
		Name    string          `json:"name"`
		Skip    string          `json:"-"`
		Empty   string          `json:"empty,omitempty"`
		Zero    time.Time       `json:"zero,omitzero"`
		Ptr     *time.Time      `json:"ptr"`
		Raw     json.RawMessage `json:"raw"`
		private int
	}
	j, meta := mustSerialize(t, outer{Inner: Inner{When: time.Unix(1, 0)}, Name: "n", Raw: json.RawMessage(`{"x":1}`), private: 1})
	if j != `{"when":"1970-01-01T00:00:01.000Z","name":"n","ptr":null,"raw":{"x":1}}` {
		t.Errorf("json %s", j)
	}
	if meta != `{"values":{"when":["Date"]}}` {
		t.Errorf("meta %s", meta)
	}
	// Cycles end in an error, not a stack overflow.
	type node struct {
		Next *node `json:"next"`
	}
	n := &node{}
	n.Next = n
	if _, _, err := Serialize(n); err == nil {
		t.Errorf("cycle accepted")
	}
	if _, _, err := Serialize(make(chan int)); err == nil {
		t.Errorf("chan accepted")
	}
}
