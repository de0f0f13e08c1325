package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"
)

// seedEnvelopes adds every RPC envelope of the traces (and the frames
// around them) to a fuzz corpus through add.
func seedTraces(f *testing.F, add func(frame string, env *traceEnvelope)) {
	for _, fr := range loadTraceFrames(f) {
		add(fr.Raw, nil)
	}
	for _, e := range loadTraceEnvelopes(f) {
		add("", &e)
	}
}

func FuzzDecodeFrame(f *testing.F) {
	seen := map[string]bool{}
	seedTraces(f, func(frame string, _ *traceEnvelope) {
		if frame != "" && !seen[frame] && len(frame) < 4096 {
			seen[frame] = true
			f.Add([]byte(frame))
		}
	})
	f.Add([]byte(`{"type":"ACK","id":"a","data":null}`))
	f.Fuzz(func(t *testing.T, p []byte) {
		// The fast path agrees with encoding/json whenever it answers.
		if fast, ok := decodeFrameFast(p); ok {
			slow, err := decodeFrameSlow(p)
			if err != nil || slow != fast {
				t.Fatalf("fast path %+v, encoding/json %+v, %v", fast, slow, err)
			}
		}
		fr, err := DecodeFrame(p)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if fr.ID == "" || (fr.Type != FrameMessage && fr.Type != FrameAck) {
			t.Fatalf("accepted %+v", fr)
		}
		// Re-encoding gives a frame that decodes to the same thing (for
		// valid UTF-8; invalid bytes become U+FFFD by design).
		var re []byte
		if fr.Type == FrameMessage {
			re = AppendMessage(nil, fr.ID, fr.Data)
		} else {
			re = AppendAck(nil, fr.ID)
		}
		if !json.Valid(re) {
			t.Fatalf("re-encoded invalid JSON %q", re)
		}
		back, err := DecodeFrame(re)
		if err != nil {
			t.Fatalf("re-decoding %q: %v", re, err)
		}
		if utf8.ValidString(fr.ID) && utf8.ValidString(fr.Data) && back != fr {
			t.Fatalf("round trip %+v -> %+v", fr, back)
		}
	})
}

func FuzzDecodeEnvelope(f *testing.F) {
	seedTraces(f, func(_ string, e *traceEnvelope) {
		if e != nil && len(e.Data) < 4096 {
			f.Add(e.Data)
		}
	})
	f.Add(`{"id":"1","kind":"RESPONSE","methodName":"X","data":null}`)
	f.Add(`{"id":"1","kind":"RESPONSE","methodName":"X"}`)
	f.Add(`{"id":"2","kind":"CALL","data": {"a":[1,"x"]} ,"methodName":"M"}`)
	f.Add(`{"id":"2","kind":"CALL","data":{"methodName":"N"},"methodName":"M"}`)
	f.Fuzz(func(t *testing.T, s string) {
		// The fast path agrees with encoding/json whenever it answers.
		if fast, ok := decodeEnvelopeFast(s); ok {
			slow, err := decodeEnvelopeSlow(s)
			if err != nil || slow.ID != fast.ID || slow.Kind != fast.Kind || slow.MethodName != fast.MethodName ||
				!bytes.Equal(slow.Data, fast.Data) {
				t.Fatalf("fast path %+v, encoding/json %+v, %v", fast, slow, err)
			}
		}
		env, err := DecodeEnvelope(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		re := AppendEnvelope(nil, env)
		if !json.Valid(re) {
			t.Fatalf("re-encoded invalid JSON %q from %q", re, s)
		}
		back, err := DecodeEnvelope(string(re))
		if err != nil {
			t.Fatalf("re-decoding %q: %v", re, err)
		}
		if utf8.ValidString(env.ID) && utf8.ValidString(env.MethodName) &&
			(back.ID != env.ID || back.Kind != env.Kind || back.MethodName != env.MethodName) {
			t.Fatalf("round trip %+v -> %+v", env, back)
		}
	})
}

func FuzzDecodeIOResponse(f *testing.F) {
	seedTraces(f, func(_ string, e *traceEnvelope) {
		if e == nil || e.Env.MethodName != MethodIOResponse || e.Env.Kind != KindCall {
			return
		}
		var in IOResponseInputs
		if json.Unmarshal(e.Env.Data, &in) == nil {
			f.Add(in.Value)
		}
	})
	f.Add(`{"id":"a","transactionId":"t","values":["2024-01-01T00:00:00.000Z"],"valuesMeta":{"values":{"0":["Date"]}},"kind":"RETURN"}`)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := DecodeIOResponse(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if r.Values == nil {
			t.Fatalf("accepted nil values from %q", s)
		}
		// What a host does next: apply valuesMeta.
		raw, err := json.Marshal(r.Values)
		if err != nil {
			t.Fatalf("re-marshal values: %v", err)
		}
		_, _ = Deserialize(raw, r.ValuesMeta)
	})
}

func FuzzDeserialize(f *testing.F) {
	f.Add([]byte(trace19Data), []byte(trace19Meta))
	f.Add([]byte(trace04Data), []byte(trace04Meta))
	f.Add([]byte(`"2024-01-01T00:00:00.000Z"`), []byte(`{"values":["Date"]}`))
	f.Add([]byte(`{"m":[["k","1"]]}`), []byte(`{"values":{"m":["map",{"0.1":["bigint"]}]}}`))
	f.Add([]byte(`[null,"NaN"]`), []byte(`{"values":{"0":["undefined"],"1":["number"]}}`))
	f.Add([]byte(`{"a.b":{"c":"x"}}`), []byte(`{"values":{"a\\.b.c":[["custom","time"]]}}`))
	seedTraces(f, func(_ string, e *traceEnvelope) {
		if e == nil || e.Env.Kind != KindCall {
			return
		}
		switch e.Env.MethodName {
		case MethodSendIOCall:
			var in SendIOCallInputs
			if json.Unmarshal(e.Env.Data, &in) != nil {
				return
			}
			if r, err := DecodeIORender(in.IOCall); err == nil {
				for _, c := range r.ToRender {
					if c.PropsMeta != nil && len(c.Props) < 8192 {
						f.Add([]byte(c.Props), []byte(c.PropsMeta))
					}
				}
			}
		case MethodStartTransaction:
			var in StartTransactionInputs
			if json.Unmarshal(e.Env.Data, &in) == nil && in.ParamsMeta != nil {
				f.Add([]byte(in.Params), []byte(in.ParamsMeta))
			}
		}
	})
	f.Fuzz(func(t *testing.T, raw, meta []byte) {
		v, err := Deserialize(raw, meta)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// Whatever came out can be serialized again (Serialize refuses
		// nesting deeper than 64 levels).
		if _, _, err := Serialize(v); err != nil && bytes.Count(raw, []byte("["))+bytes.Count(raw, []byte("{")) < 60 {
			t.Fatalf("Serialize(Deserialize(%q, %q)): %v", raw, meta, err)
		}
	})
}

// FuzzUnquote: the frame fast path's string decoding agrees with
// encoding/json on every literal scanStringLiteral lets through.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`"plain"`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\u4e2d"`, `"\ud83d\ude00"`,
		`"\ud83d"`, `"\ude00\ud83d x"`, `"\ud83d\u0041"`, `"\'"`, `"\x"`, `"\u12"`, "\"\xff\xfe ok\"", `"caf\u00E9"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, lit []byte) {
		if _, ok := scanStringLiteral(lit); !ok {
			return
		}
		got, ok := unquote(lit)
		var want string
		err := json.Unmarshal(lit, &want)
		if ok != (err == nil) || got != want {
			t.Fatalf("unquote(%q) = %q, %v; encoding/json: %q, %v", lit, got, ok, want, err)
		}
	})
}
