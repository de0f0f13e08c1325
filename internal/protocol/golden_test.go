package protocol

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

// traceFrame is one ws-text line of a Node SDK 2.0.0 trace
// (testdata/*.jsonl, see shared/conformance/node-sdk-traces/README.md).
type traceFrame struct {
	File string
	Seq  int
	Dir  string // "host->server" or "server->host"
	Raw  string // exact frame text
}

func (f traceFrame) String() string { return f.File + "#" + itoa(f.Seq) }

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func loadTraceFrames(tb testing.TB) []traceFrame {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) < 25 {
		tb.Fatalf("found %d trace files, want the 30 Node SDK traces", len(files))
	}
	sort.Strings(files)
	var out []traceFrame
	for _, name := range files {
		fh, err := os.Open(name)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			var l struct {
				Seq   int    `json:"seq"`
				Dir   string `json:"dir"`
				Event string `json:"event"`
				Raw   *string
			}
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				tb.Fatalf("%s: %v", name, err)
			}
			if l.Event != "ws-text" {
				continue
			}
			if l.Raw == nil {
				tb.Fatalf("%s#%d: ws-text without raw", name, l.Seq)
			}
			out = append(out, traceFrame{File: filepath.Base(name), Seq: l.Seq, Dir: l.Dir, Raw: *l.Raw})
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
	}
	if len(out) < 500 {
		tb.Fatalf("only %d ws-text frames in the traces", len(out))
	}
	return out
}

// traceEnvelope is an RPC envelope found in a trace MESSAGE.
type traceEnvelope struct {
	traceFrame
	Data string // the envelope text
	Env  Envelope
}

func loadTraceEnvelopes(tb testing.TB) []traceEnvelope {
	tb.Helper()
	var out []traceEnvelope
	for _, f := range loadTraceFrames(tb) {
		fr, err := DecodeFrame([]byte(f.Raw))
		if err != nil {
			tb.Fatalf("%s: DecodeFrame: %v", f, err)
		}
		if fr.Type != FrameMessage || fr.Data == DataAuthenticated || fr.Data == DataPing {
			continue
		}
		env, err := DecodeEnvelope(fr.Data)
		if err != nil {
			tb.Fatalf("%s: DecodeEnvelope: %v", f, err)
		}
		out = append(out, traceEnvelope{traceFrame: f, Data: fr.Data, Env: env})
	}
	return out
}

// marshalJS encodes v like JSON.stringify would for our types: no HTML
// escaping, no trailing newline.
func marshalJS(tb testing.TB, v any) []byte {
	tb.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		tb.Fatalf("marshal %T: %v", v, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func decodeAny(tb testing.TB, p []byte) any {
	tb.Helper()
	var v any
	if err := json.Unmarshal(p, &v); err != nil {
		tb.Fatalf("decode %q: %v", truncate(p), err)
	}
	return v
}

// assertSameJSON checks that got and want are the same JSON value (key
// order ignored).
func assertSameJSON(tb testing.TB, where string, got, want []byte) {
	tb.Helper()
	if !reflect.DeepEqual(decodeAny(tb, got), decodeAny(tb, want)) {
		tb.Errorf("%s: JSON differs\n got: %s\nwant: %s", where, got, want)
	}
}

// assertSameBytes checks byte equality (same key order and escaping).
func assertSameBytes(tb testing.TB, where string, got, want []byte) {
	tb.Helper()
	if !bytes.Equal(got, want) {
		tb.Errorf("%s: bytes differ\n got: %s\nwant: %s", where, got, want)
	}
}

// decodeStrict unmarshals p into v, failing the test on error.
func decodeStrict(tb testing.TB, where string, p []byte, v any) bool {
	tb.Helper()
	if err := json.Unmarshal(p, v); err != nil {
		tb.Errorf("%s: decoding %T: %v (%s)", where, v, err, truncate(p))
		return false
	}
	return true
}

func TestGoldenFrames(t *testing.T) {
	var msgs, acks int
	for _, f := range loadTraceFrames(t) {
		fr, err := DecodeFrame([]byte(f.Raw))
		if err != nil {
			t.Errorf("%s: DecodeFrame: %v", f, err)
			continue
		}
		// Node's frames all take the allocation-light path, with the
		// same result as encoding/json.
		fast, ok := decodeFrameFast([]byte(f.Raw))
		slow, _ := decodeFrameSlow([]byte(f.Raw))
		if !ok || fast != slow {
			t.Errorf("%s: fast path %v %+v, encoding/json %+v", f, ok, fast, slow)
		}
		var re []byte
		switch fr.Type {
		case FrameMessage:
			msgs++
			re = AppendMessage(nil, fr.ID, fr.Data)
		case FrameAck:
			acks++
			if fr.Data != "" {
				t.Errorf("%s: ACK with data %q", f, fr.Data)
			}
			re = AppendAck(nil, fr.ID)
		default:
			t.Fatalf("%s: DecodeFrame returned type %q", f, fr.Type)
		}
		assertSameBytes(t, f.String(), re, []byte(f.Raw))
	}
	if msgs < 250 || acks < 250 {
		t.Errorf("got %d MESSAGEs and %d ACKs, want ≥250 of each", msgs, acks)
	}
}

func TestGoldenEnvelopes(t *testing.T) {
	seen := map[string]int{}
	for _, e := range loadTraceEnvelopes(t) {
		seen[e.Env.Kind+" "+e.Env.MethodName]++
		re := AppendEnvelope(nil, e.Env)
		assertSameBytes(t, e.String(), re, []byte(e.Data))
		// A RESPONSE of a void method has no data key on the wire.
		if e.Env.Kind == KindResponse && e.Env.Data == nil && strings.Contains(e.Data, `"data"`) {
			t.Errorf("%s: void RESPONSE carries data: %s", e, e.Data)
		}
	}
	for _, m := range []string{
		"CALL INITIALIZE_HOST", "RESPONSE INITIALIZE_HOST",
		"CALL START_TRANSACTION", "RESPONSE START_TRANSACTION",
		"CALL SEND_IO_CALL", "RESPONSE SEND_IO_CALL",
		"CALL IO_RESPONSE", "RESPONSE IO_RESPONSE",
		"CALL MARK_TRANSACTION_COMPLETE", "CALL SEND_LOADING_CALL",
		"CALL SEND_LOG", "CALL SEND_REDIRECT", "CALL SEND_PAGE",
		"CALL OPEN_PAGE", "RESPONSE OPEN_PAGE", "CALL CLOSE_PAGE",
		"CALL CLOSE_TRANSACTION", "CALL BEGIN_HOST_SHUTDOWN", "RESPONSE BEGIN_HOST_SHUTDOWN",
	} {
		if seen[m] == 0 {
			t.Errorf("no %s in the traces", m)
		}
	}
}

func TestEnvelopeVoidAndNull(t *testing.T) {
	for _, tc := range []struct {
		in   string
		data string
		out  string
	}{
		{`{"id":"7","kind":"RESPONSE","methodName":"CLOSE_PAGE"}`, "", `{"id":"7","kind":"RESPONSE","methodName":"CLOSE_PAGE"}`},
		{`{"id":"7","kind":"RESPONSE","methodName":"CLOSE_PAGE","data":null}`, "", `{"id":"7","kind":"RESPONSE","methodName":"CLOSE_PAGE"}`},
		{`{"id":"7","kind":"RESPONSE","methodName":"X","data":false}`, "false", `{"id":"7","kind":"RESPONSE","methodName":"X","data":false}`},
		{`{"kind":"CALL","methodName":"X","id":"1","extra":1}`, "", `{"id":"1","kind":"CALL","data":{},"methodName":"X"}`},
	} {
		e, err := DecodeEnvelope(tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if string(e.Data) != tc.data {
			t.Errorf("%s: data %q, want %q", tc.in, e.Data, tc.data)
		}
		if got := string(AppendEnvelope(nil, e)); got != tc.out {
			t.Errorf("%s: re-encoded %s, want %s", tc.in, got, tc.out)
		}
	}
	for _, bad := range []string{``, `null`, `[]`, `"x"`, `{}`, `{"id":"1","kind":"CALL"}`,
		`{"id":"1","kind":"NOPE","methodName":"X"}`, `{"id":1,"kind":"CALL","methodName":"X"}`} {
		if _, err := DecodeEnvelope(bad); err == nil {
			t.Errorf("DecodeEnvelope(%q) succeeded", bad)
		}
	}
}

// TestGoldenMethods decodes every method input and return of the traces into
// its Go type and checks that re-marshaling gives back the same JSON — byte
// for byte for what a Go host sends (host→server), as a value otherwise.
func TestGoldenMethods(t *testing.T) {
	counts := map[string]int{}
	var invalidStarts, invalidResponses []string
	for _, e := range loadTraceEnvelopes(t) {
		where := e.String() + " " + e.Env.Kind + " " + e.Env.MethodName
		data := []byte(e.Env.Data)
		key := e.Env.Kind + " " + e.Env.MethodName
		counts[key]++
		// roundTrip decodes data into v and compares the re-marshaled JSON.
		roundTrip := func(v any, exact bool) bool {
			if !decodeStrict(t, where, data, v) {
				return false
			}
			got := marshalJS(t, v)
			if exact {
				assertSameBytes(t, where, got, data)
			} else {
				assertSameJSON(t, where, got, data)
			}
			return true
		}
		switch key {
		// Host → server calls: a Go host must produce the same bytes.
		case "CALL INITIALIZE_HOST":
			var in InitializeHostInputs
			if roundTrip(&in, true) {
				if len(in.Actions) == 0 || in.SDKName != "@interval/sdk" || in.Timestamp == 0 {
					t.Errorf("%s: decoded %+v", where, in)
				}
				checkInitializeHost(t, where, in)
			}
		case "CALL SEND_IO_CALL":
			var in SendIOCallInputs
			if roundTrip(&in, true) {
				checkIORender(t, where, in.IOCall)
			}
		case "CALL SEND_PAGE":
			var in SendPageInputs
			if roundTrip(&in, true) {
				if in.Page == nil {
					t.Errorf("%s: page absent", where)
					break
				}
				var l Layout
				if decodeStrict(t, where, []byte(*in.Page), &l) {
					assertSameBytes(t, where+" page", marshalJS(t, l), []byte(*in.Page))
					if l.Kind != "BASIC" || l.Children == nil || len(l.Children.ToRender) != 2 || l.Errors == nil {
						t.Errorf("%s: layout %+v", where, l)
					}
					checkIORender(t, where+" children", string(marshalJS(t, l.Children)))
				}
			}
		case "CALL SEND_LOADING_CALL":
			var in SendLoadingCallInputs
			if roundTrip(&in, true) && (in.ItemsInQueue == nil || in.ItemsCompleted == nil || in.Label == "") {
				t.Errorf("%s: decoded %+v", where, in)
			}
		case "CALL SEND_LOG":
			var in SendLogInputs
			if roundTrip(&in, true) && (in.Index == nil || in.Timestamp == 0 || in.Data == "") {
				t.Errorf("%s: decoded %+v", where, in)
			}
		case "CALL SEND_REDIRECT":
			var in SendRedirectInputs
			if roundTrip(&in, true) && in.URL == "" && in.Route == "" {
				t.Errorf("%s: decoded %+v", where, in)
			}
		case "CALL MARK_TRANSACTION_COMPLETE":
			var in MarkTransactionCompleteInputs
			if roundTrip(&in, true) {
				checkActionResult(t, where, in)
			}
		case "CALL BEGIN_HOST_SHUTDOWN":
			var in struct{}
			roundTrip(&in, true)
		case "RESPONSE OPEN_PAGE":
			var out OpenPageReturns
			if roundTrip(&out, true) && out.Type != "SUCCESS" && out.Type != "ERROR" {
				t.Errorf("%s: decoded %+v", where, out)
			}
		case "RESPONSE START_TRANSACTION", "RESPONSE IO_RESPONSE", "RESPONSE CLOSE_TRANSACTION", "RESPONSE CLOSE_PAGE":
			if e.Env.Data != nil {
				t.Errorf("%s: void method answered %s", where, data)
			}

		// Server → host calls and returns: a Go server must produce the
		// same JSON; a Go host must decode them.
		case "CALL START_TRANSACTION":
			var in StartTransactionInputs
			if !decodeStrict(t, where, data, &in) {
				break
			}
			if err := in.Validate(); err != nil {
				invalidStarts = append(invalidStarts, e.File)
				break
			}
			assertSameJSON(t, where, marshalJS(t, in), data)
			if _, err := Deserialize(in.Params, in.ParamsMeta); err != nil {
				t.Errorf("%s: params: %v", where, err)
			}
		case "CALL IO_RESPONSE":
			var in IOResponseInputs
			if !roundTrip(&in, false) {
				break
			}
			r, err := DecodeIOResponse(in.Value)
			if err != nil {
				invalidResponses = append(invalidResponses, e.File)
				break
			}
			assertSameJSON(t, where+" value", marshalJS(t, r), []byte(in.Value))
			if r.TransactionID != in.TransactionID || r.ID == "" || r.Values == nil {
				t.Errorf("%s: decoded %+v", where, r)
			}
			if _, err := Deserialize(marshalJS(t, r.Values), r.ValuesMeta); err != nil {
				t.Errorf("%s: values: %v", where, err)
			}
		case "CALL OPEN_PAGE":
			var in OpenPageInputs
			if roundTrip(&in, false) && (in.PageKey == "" || in.Page.Slug == "" || in.User.Email == "") {
				t.Errorf("%s: decoded %+v", where, in)
			}
		case "CALL CLOSE_TRANSACTION":
			var in CloseTransactionInputs
			if roundTrip(&in, true) && in.TransactionID == "" {
				t.Errorf("%s: no transactionId", where)
			}
		case "CALL CLOSE_PAGE":
			var in ClosePageInputs
			if roundTrip(&in, true) && in.PageKey == "" {
				t.Errorf("%s: no pageKey", where)
			}
		case "RESPONSE INITIALIZE_HOST":
			var out InitializeHostReturns
			if roundTrip(&out, true) && (out.Type != "success" || out.Organization == nil || out.Organization.Slug == "") {
				t.Errorf("%s: decoded %+v", where, out)
			}
		case "RESPONSE SEND_IO_CALL":
			var out SendIOCallReturns
			if roundTrip(&out, true) && !out.OK {
				t.Errorf("%s: decoded %+v", where, out)
			}
		case "RESPONSE BEGIN_HOST_SHUTDOWN":
			var out TypedResult
			roundTrip(&out, true)
		case "RESPONSE MARK_TRANSACTION_COMPLETE", "RESPONSE SEND_LOADING_CALL", "RESPONSE SEND_LOG",
			"RESPONSE SEND_REDIRECT", "RESPONSE SEND_PAGE":
			var out bool
			if roundTrip(&out, true) && !out {
				t.Errorf("%s: answered false", where)
			}
		default:
			t.Errorf("%s: no Go type checked for this method", where)
		}
	}
	// Trace 27 sends one START_TRANSACTION and one IO_RESPONSE that the
	// Node SDK's schemas reject; ours must reject them too.
	if !slices.Equal(invalidStarts, []string{"27-invalid-call-no-response.jsonl"}) {
		t.Errorf("START_TRANSACTION rejected in %v, want only trace 27", invalidStarts)
	}
	if !slices.Equal(invalidResponses, []string{"27-invalid-call-no-response.jsonl"}) {
		t.Errorf("IO_RESPONSE value rejected in %v, want only trace 27", invalidResponses)
	}
	if counts["CALL SEND_IO_CALL"] < 20 || counts["CALL IO_RESPONSE"] < 15 || counts["CALL MARK_TRANSACTION_COMPLETE"] < 15 {
		t.Errorf("too few calls checked: %v", counts)
	}
}

func checkInitializeHost(t *testing.T, where string, in InitializeHostInputs) {
	t.Helper()
	var sawAccess, sawNested, sawUnlisted bool
	for _, a := range in.Actions {
		if a.Access != nil && slices.Equal(a.Access.Teams, []string{"support"}) {
			sawAccess = a.Backgroundable != nil && *a.Backgroundable && a.WarnOnClose != nil && !*a.WarnOnClose
		}
		if a.GroupSlug == "dashboard" && a.FullSlug() == "dashboard/refresh" {
			sawNested = true
		}
		if a.Unlisted != nil && *a.Unlisted {
			sawUnlisted = true
		}
	}
	if !sawAccess || !sawNested || !sawUnlisted {
		t.Errorf("%s: access %v nested %v unlisted %v", where, sawAccess, sawNested, sawUnlisted)
	}
	if len(in.Groups) != 2 || !in.Groups[0].HasHandler || in.Groups[1].HasHandler {
		t.Errorf("%s: groups %+v", where, in.Groups)
	}
}

// checkIORender decodes an ioCall and requires its re-encoding to be
// byte-identical (Node's key order: id, inputGroupKey, toRender,
// validationErrorMessage, kind, choiceButtons; components methodName, label,
// isStateful, isOptional, isMultiple, validationErrorMessage, multipleProps,
// props, propsMeta).
func checkIORender(t *testing.T, where, ioCall string) {
	t.Helper()
	r, err := DecodeIORender(ioCall)
	if err != nil {
		t.Errorf("%s: DecodeIORender: %v", where, err)
		return
	}
	if r.Kind != KindRender || len(r.ToRender) == 0 {
		t.Errorf("%s: render %+v", where, r)
	}
	assertSameBytes(t, where+" ioCall", marshalJS(t, r), []byte(ioCall))
	for i, c := range r.ToRender {
		v, err := Deserialize(c.Props, c.PropsMeta)
		if err != nil {
			t.Errorf("%s: component %d props: %v", where, i, err)
			continue
		}
		if _, ok := v.(map[string]any); !ok {
			t.Errorf("%s: component %d props %T, want an object", where, i, v)
		}
	}
}

func checkActionResult(t *testing.T, where string, in MarkTransactionCompleteInputs) {
	t.Helper()
	var r ActionResult
	if !decodeStrict(t, where, []byte(in.Result), &r) {
		return
	}
	assertSameBytes(t, where+" result", marshalJS(t, r), []byte(in.Result))
	if r.SchemaVersion != 1 || r.Status != in.ResultStatus {
		t.Errorf("%s: result %+v, resultStatus %q", where, r, in.ResultStatus)
	}
	if r.Status == StatusFailure {
		var ed ErrorData
		if decodeStrict(t, where, r.Data, &ed) {
			assertSameBytes(t, where+" error data", marshalJS(t, ed), r.Data)
		}
	}
	if _, err := Deserialize(r.Data, r.Meta); err != nil {
		t.Errorf("%s: result data: %v", where, err)
	}
}
