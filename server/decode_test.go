package server

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/interval-go/sdk/internal/protocol"
)

// TestFlatInputsComplete: the inputs decodeFlat decodes by hand are
// decoded as encoding/json decodes them, every field included (a field
// added to one of these types and not to decodeFlat fails here), and an
// input it does not take falls back to encoding/json from a zero value.
func TestFlatInputsComplete(t *testing.T) {
	for _, v := range []any{&protocol.SendIOCallInputs{}, &protocol.MarkTransactionCompleteInputs{}, &protocol.RespondToIOCallInputs{}, &protocol.TransactionRef{}} {
		typ := reflect.TypeOf(v).Elem()
		// Every field set, through its JSON name.
		obj := map[string]any{}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch f.Type.Kind() {
			case reflect.String:
				obj[name] = "value of " + name + " \"quoted\" é"
			case reflect.Bool:
				obj[name] = true
			default:
				t.Fatalf("%s.%s: a %s, which decodeFlat cannot decode", typ.Name(), f.Name, f.Type)
			}
		}
		data, _ := json.Marshal(obj)
		got := reflect.New(typ)
		if !decodeFlat(data, got.Interface()) {
			t.Fatalf("%s: %s not taken", typ.Name(), data)
		}
		want := reflect.New(typ)
		if err := json.Unmarshal(data, want.Interface()); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Interface(), want.Interface()) {
			t.Fatalf("%s: decodeFlat %+v, encoding/json %+v", typ.Name(), got.Elem(), want.Elem())
		}
		zero := reflect.New(typ).Elem().Interface()
		for _, f := range reflect.VisibleFields(typ) {
			if reflect.DeepEqual(got.Elem().FieldByIndex(f.Index).Interface(), reflect.Zero(f.Type).Interface()) {
				t.Fatalf("%s.%s not decoded", typ.Name(), f.Name)
			}
		}
		// Not taken (whitespace): decode falls back to encoding/json, from
		// a zero value.
		spaced := slices.Concat([]byte("{ "), data[1:])
		back := reflect.New(typ)
		if decodeFlat(spaced, back.Interface()) || !reflect.DeepEqual(back.Elem().Interface(), zero) {
			t.Fatalf("%s: %s taken, or left %+v", typ.Name(), spaced, back.Elem())
		}
		if err := decode(spaced, back.Interface()); err != nil || !reflect.DeepEqual(back.Interface(), want.Interface()) {
			t.Fatalf("%s: decode %s: %+v %v", typ.Name(), spaced, back.Elem(), err)
		}
	}
	// A value of the wrong type is refused as before.
	var in protocol.RespondToIOCallInputs
	if err := decode([]byte(`{"transactionId":1}`), &in); err == nil {
		t.Fatal("a number for a string accepted")
	}
}
