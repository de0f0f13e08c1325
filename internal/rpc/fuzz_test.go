package rpc

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/interval-go/sdk/internal/protocol"
)

// FuzzReceive feeds arbitrary envelopes to a Peer: it never panics, answers
// a CALL at most once with a RESPONSE of the same id and method, and never
// answers anything else.
func FuzzReceive(f *testing.F) {
	for _, s := range []string{
		`{"id":"1","kind":"CALL","data":{},"methodName":"START_TRANSACTION"}`,
		`{"id":"2","kind":"RESPONSE","methodName":"SEND_IO_CALL","data":true}`,
		`{"id":"3","kind":"CALL","data":{"x":[1,2]},"methodName":"PANIC"}`,
		`{"id":"4","kind":"CALL","methodName":"ECHO","data":"s"}`,
		`{}`, `x`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sent := make(chan string, 4)
		p := NewPeer(func(_ context.Context, out string) error {
			sent <- out
			return nil
		}, func(method string, data json.RawMessage) (any, error) {
			switch method {
			case "PANIC":
				panic("boom")
			case "ECHO":
				return data, nil
			}
			return nil, nil
		}, nil, nil)
		p.Receive(s)
		p.Close()
		close(sent)
		in, inErr := protocol.DecodeEnvelope(s)
		n := 0
		for out := range sent {
			n++
			e, err := protocol.DecodeEnvelope(out)
			if err != nil {
				t.Fatalf("sent malformed %q: %v", out, err)
			}
			if inErr != nil || in.Kind != protocol.KindCall || e.Kind != protocol.KindResponse || e.ID != in.ID || e.MethodName != in.MethodName {
				t.Fatalf("answered %q with %q", s, out)
			}
		}
		if n > 1 {
			t.Fatalf("%d answers to %q", n, s)
		}
	})
}
