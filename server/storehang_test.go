package server

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

// hangingStore is a store whose log writes stop answering on demand, like
// a PostgreSQL server gone silent behind a dead connection.
type hangingStore struct {
	store.Store
	hang atomic.Bool
}

func (h *hangingStore) AppendLog(ctx context.Context, txID string, l store.Log) error {
	if h.hang.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	return h.Store.AppendLog(ctx, txID, l)
}

// A store call that does not return fails after storeTimeout, logged,
// instead of holding the hub's lock forever: the host's call is refused
// and the transaction, and every other socket, carry on.
func TestHangingStoreDoesNotStallServer(t *testing.T) {
	// Restored after the server's cleanup (cleanups run last first).
	t.Cleanup(func(d time.Duration) func() { return func() { storeTimeout = d } }(storeTimeout))
	storeTimeout = 100 * time.Millisecond
	dir := t.TempDir()
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	hs := &hangingStore{Store: st}
	var logs logBuf
	e := newEnv(t, Options{Store: hs, Logger: logs.logger()})
	admin := e.admin()
	h := e.host(admin.key(store.EnvDevelopment), "", action("job"))
	b := admin.browser()
	id := admin.startRun(b, h, "job", store.EnvDevelopment)

	hs.hang.Store(true)
	var ok bool
	if err := h.call(protocol.MethodSendLog, protocol.SendLogInputs{TransactionID: id, Data: "lost"}, &ok); err != nil || ok {
		t.Fatalf("SEND_LOG to a hanging store: %v %v", err, ok)
	}
	waitLogged(t, &logs, `msg="storing log"`, "context deadline exceeded")
	hs.hang.Store(false)

	// The hub is free: another host initializes, the run completes.
	e.host(admin.key(store.EnvDevelopment), "", action("other"))
	complete(t, h, id, "done")
	b.next(protocol.MethodTransactionCompleted)
	if s := admin.tx(id).Status; s != store.StatusCompleted {
		t.Fatalf("status %s", s)
	}
}

// failingStore is a store whose transaction writes fail on demand.
type failingStore struct {
	store.Store
	fail atomic.Bool
}

func (f *failingStore) UpdateTransaction(ctx context.Context, t store.Transaction) error {
	if f.fail.Load() {
		return errors.New("disk I/O error")
	}
	return f.Store.UpdateTransaction(ctx, t)
}

// A run that finishes while the store refuses writes is not left RUNNING
// in the history: its state is written again once the store works.
func TestFailedSaveRetried(t *testing.T) {
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fs := &failingStore{Store: st}
	var logs logBuf
	// A short grace makes the sweep, which retries, run often.
	e := newEnv(t, Options{Store: fs, Logger: logs.logger(), HostDropGrace: 200 * time.Millisecond})
	admin := e.admin()
	h := e.host(admin.key(store.EnvDevelopment), "", action("job"))
	b := admin.browser()
	id := admin.startRun(b, h, "job", store.EnvDevelopment)
	fs.fail.Store(true)
	complete(t, h, id, "done")
	b.next(protocol.MethodTransactionCompleted)
	waitLogged(t, &logs, `msg="saving transaction failed; retrying" transaction=`+id+` status=COMPLETED`)
	if rec, err := st.Transaction(context.Background(), id); err != nil || rec.Status != store.StatusRunning {
		t.Fatalf("stored while failing: %+v %v", rec.Status, err)
	}
	fs.fail.Store(false)
	waitLogged(t, &logs, `msg="saved transaction after a failed write" transaction=`+id)
	if d := admin.tx(id); d.Status != store.StatusCompleted || d.ResultStatus != "SUCCESS" {
		t.Fatalf("history after the retry: %+v", d)
	}
}
