package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

// gatedLogStore holds each log write until the test lets it go, and fails
// it when told to.
type gatedLogStore struct {
	store.Store
	entered chan store.Log
	release chan error // the write's outcome: nil, or an error in its place
}

func (g *gatedLogStore) AppendLog(ctx context.Context, txID string, l store.Log) error {
	g.entered <- l
	if err := <-g.release; err != nil {
		return err
	}
	return g.Store.AppendLog(ctx, txID, l)
}

// TestSendLogCommittedBeforeAcknowledged: a SEND_LOG's line is written
// without the hub's lock held (other sockets are not stalled by the
// commit), and the host hears true, and the console gets the line, only
// once the write committed: a write that fails is answered false and the
// console never shows its line.
func TestSendLogCommittedBeforeAcknowledged(t *testing.T) {
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedLogStore{Store: st, entered: make(chan store.Log, 8), release: make(chan error, 1)}
	e := newEnv(t, Options{Store: g})
	// Let a held write go before the server shuts down (a failing test
	// would otherwise wait for it forever).
	t.Cleanup(func() { close(g.release) })
	admin := e.admin()
	h := e.host(admin.key(store.EnvDevelopment), "", action("job"))
	b := admin.browser()
	id := admin.startRun(b, h, "job", store.EnvDevelopment)

	send := func(data string) chan bool {
		answer := make(chan bool, 1)
		go func() {
			var ok bool
			if err := h.call(protocol.MethodSendLog, protocol.SendLogInputs{TransactionID: id, Data: data}, &ok); err != nil {
				t.Errorf("SEND_LOG %q: %v", data, err)
			}
			answer <- ok
		}()
		select {
		case l := <-g.entered:
			if l.Data != data {
				t.Fatalf("writing %q, want %q", l.Data, data)
			}
		case <-time.After(wait):
			t.Fatalf("the line %q was never written", data)
		}
		return answer
	}
	hubFree := func() {
		t.Helper()
		locked := make(chan struct{})
		go func() {
			e.s.hub.mu.Lock()
			e.s.hub.mu.Unlock()
			close(locked)
		}()
		select {
		case <-locked:
		case <-time.After(wait):
			t.Error("the hub's lock is held while a log line is written")
			g.release <- nil
			<-locked
			t.FailNow()
		}
	}

	// A write that fails: false, and no line for the console.
	answer := send("not stored")
	hubFree()
	select {
	case ok := <-answer:
		t.Fatalf("SEND_LOG answered %v before its write ended", ok)
	default:
	}
	g.release <- errors.New("disk I/O error")
	if ok := <-answer; ok {
		t.Fatal("SEND_LOG whose write failed answered true")
	}

	// A write that commits: true once committed, then the console's line.
	answer = send("stored")
	hubFree()
	select {
	case ok := <-answer:
		t.Fatalf("SEND_LOG answered %v before its write committed", ok)
	default:
	}
	g.release <- nil
	if ok := <-answer; !ok {
		t.Fatal("SEND_LOG refused")
	}
	var l protocol.LogInputs
	b.next(protocol.MethodLog).decode(t, &l)
	if l.Data == nil || *l.Data != "stored" {
		t.Fatalf("console's first line %+v, want the stored one", l)
	}
	logs, err := st.Logs(context.Background(), id)
	if err != nil || len(logs) != 1 || logs[0].Data != "stored" {
		t.Fatalf("stored lines %+v %v", logs, err)
	}
	complete(t, h, id, "done")
	b.next(protocol.MethodTransactionCompleted)
}
