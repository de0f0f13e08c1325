package isocket

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/coder/websocket"

	"github.com/interval-go/sdk/internal/protocol"
)

// TestReplayNodeTraces plays every server→host frame of the Node SDK traces
// to a dialed Conn over a real socket: each MESSAGE must be answered with
// the exact ACK the Node SDK sent, and OnMessage must receive the RPC
// envelopes, in order, without the control strings.
func TestReplayNodeTraces(t *testing.T) {
	files, _ := filepath.Glob("../../internal/protocol/testdata/*.jsonl")
	if len(files) < 25 {
		t.Fatalf("found %d traces", len(files))
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			var toHost []string         // raw server→host MESSAGE frames
			acks := map[string]string{} // message id → the host's raw ACK
			var want []string           // envelopes the host's RPC layer saw
			fh, err := os.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			sc := bufio.NewScanner(fh)
			sc.Buffer(nil, 16<<20)
			for sc.Scan() {
				var l struct{ Dir, Event, Raw string }
				if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
					t.Fatal(err)
				}
				if l.Event != "ws-text" {
					continue
				}
				f, err := protocol.DecodeFrame([]byte(l.Raw))
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case l.Dir == "server->host" && f.Type == protocol.FrameMessage:
					toHost = append(toHost, l.Raw)
					if f.Data != protocol.DataAuthenticated && f.Data != protocol.DataPing {
						want = append(want, f.Data)
					}
				case l.Dir == "host->server" && f.Type == protocol.FrameAck:
					acks[f.ID] = l.Raw
				}
			}
			if len(toHost) == 0 {
				t.Fatal("no server→host MESSAGE")
			}
			url := startServer(t, func(ctx context.Context, ws *websocket.Conn, r *http.Request) {
				if first, _ := protocol.DecodeFrame([]byte(toHost[0])); first.Data != protocol.DataAuthenticated {
					rawAuth(ctx, t, ws)
				}
				for _, raw := range toHost {
					f, _ := protocol.DecodeFrame([]byte(raw))
					rawWrite(ctx, t, ws, raw)
					_, p, err := ws.Read(ctx)
					if err != nil {
						t.Errorf("no ACK: %v", err)
						return
					}
					if wantAck, ok := acks[f.ID]; ok && string(p) != wantAck {
						t.Errorf("ACK %s, Node sent %s", p, wantAck)
					} else if !ok && string(p) != string(protocol.AppendAck(nil, f.ID)) {
						t.Errorf("ACK %s for %s", p, f.ID)
					}
				}
				rawRead(ctx, ws)
			})
			got := make(chan string, len(want)+1)
			dial(t, url, Config{OnMessage: func(s string) { got <- s }})
			var seen []string
			for range want {
				seen = append(seen, recv(t, got))
			}
			if !slices.Equal(seen, want) {
				t.Fatalf("OnMessage got %d messages, differing from the trace's %d", len(seen), len(want))
			}
		})
	}
}
