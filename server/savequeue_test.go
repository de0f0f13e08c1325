package server

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

// slowStore takes its time over each transaction update, as a disk's fsync
// does, so that an answer sent before the write is on disk shows.
type slowStore struct{ store.Store }

func (s slowStore) UpdateTransaction(ctx context.Context, t store.Transaction) error {
	time.Sleep(20 * time.Millisecond)
	return s.Store.UpdateTransaction(ctx, t)
}

// The hub queues its writes and goes on, but what a host, a browser or an
// HTTP client hears of a change goes out only once the change is in the
// store: read straight from the store (not through the server), the state
// is already the one announced.
func TestAnswersWaitForTheirWrites(t *testing.T) {
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, Options{Store: slowStore{st}})
	admin := e.admin()
	h := e.host(admin.key(store.EnvDevelopment), "", action("job"))
	b := admin.browser()
	stored := func(id, want, what string) {
		t.Helper()
		rec, err := st.Transaction(context.Background(), id)
		if err != nil || rec.Status != want {
			t.Fatalf("%s: stored status %q (%v), want %q", what, rec.Status, err, want)
		}
	}

	id := admin.startRun(b, h, "job", store.EnvDevelopment)
	stored(id, store.StatusRunning, "after START_TRANSACTION reached the host")
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("c1", "g1", "INPUT_TEXT")})
	stored(id, store.StatusAwaitingInput, "after the host's SEND_IO_CALL was answered")
	b.next(protocol.MethodRender)
	b.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id,
		IOResponse: ioResponse(id, "c1", "g1", protocol.KindReturn, "x")})
	rec, err := st.Transaction(context.Background(), id)
	if err != nil || rec.PendingAnswer == "" || rec.Status != store.StatusRunning {
		t.Fatalf("after the browser's answer was acknowledged: stored %q, pending answer %q (%v)", rec.Status, rec.PendingAnswer, err)
	}
	h.next(protocol.MethodIOResponse)
	complete(t, h, id, "done")
	stored(id, store.StatusCompleted, "after MARK_TRANSACTION_COMPLETE was answered")
	b.next(protocol.MethodTransactionCompleted)

	id2 := admin.startRun(b, h, "job", store.EnvDevelopment)
	admin.do("POST", "/api/console/transactions/"+id2+"/cancel", nil, http.StatusNoContent, nil)
	stored(id2, store.StatusCanceled, "after the cancel request was answered")
}
