package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
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
	// With a commit delay (Options.CommitDelay) too: it delays the
	// answers, never lets one overtake its write.
	for _, delay := range []time.Duration{0, 5 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) { answersWaitForTheirWrites(t, delay) })
	}
}

func answersWaitForTheirWrites(t *testing.T, delay time.Duration) {
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, Options{Store: slowStore{st}, CommitDelay: delay})
	admin := e.admin()
	h := e.host(admin.key(store.EnvDevelopment), "", action("job"))
	// The host holds its answer to IO_RESPONSE until the store was read:
	// once it answers, the answer it has is dropped from the record.
	delivered := make(chan struct{})
	defer func() {
		select {
		case <-delivered:
		default:
			close(delivered)
		}
	}()
	h.answer = func(c call) any {
		if c.method == protocol.MethodIOResponse {
			<-delivered
		}
		return nil
	}
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
	// A render's status is informational (the host sends its call again
	// after a loss): it is not waited for, and is written with the next
	// write that is (the answer's, below).
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("c1", "g1", "INPUT_TEXT")})
	b.next(protocol.MethodRender)
	b.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id,
		IOResponse: ioResponse(id, "c1", "g1", protocol.KindReturn, "x")})
	rec, err := st.Transaction(context.Background(), id)
	if err != nil || rec.PendingAnswer == "" || rec.Status != store.StatusRunning {
		t.Fatalf("after the browser's answer was acknowledged: stored %q, pending answer %q (%v)", rec.Status, rec.PendingAnswer, err)
	}
	h.next(protocol.MethodIOResponse)
	close(delivered)
	complete(t, h, id, "done")
	stored(id, store.StatusCompleted, "after MARK_TRANSACTION_COMPLETE was answered")
	b.next(protocol.MethodTransactionCompleted)

	id2 := admin.startRun(b, h, "job", store.EnvDevelopment)
	admin.do("POST", "/api/console/transactions/"+id2+"/cancel", nil, http.StatusNoContent, nil)
	stored(id2, store.StatusCanceled, "after the cancel request was answered")
}

// heldStore is a store whose transaction updates wait, while held, until
// released (a disk that stalls).
type heldStore struct {
	store.Store
	mu      sync.Mutex
	hold    chan struct{}
	held    int                 // updates that waited for hold so far
	written []store.Transaction // the updates written, in order
}

func (s *heldStore) UpdateTransaction(ctx context.Context, t store.Transaction) error {
	s.mu.Lock()
	hold := s.hold
	if hold != nil {
		s.held++
	}
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := s.Store.UpdateTransaction(ctx, t); err != nil {
		return err
	}
	s.mu.Lock()
	s.written = append(s.written, t)
	s.mu.Unlock()
	return nil
}

// writes returns the updates written so far.
func (s *heldStore) writes() []store.Transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.written)
}

func (s *heldStore) setHold(h chan struct{}) {
	s.mu.Lock()
	s.hold = h
	s.mu.Unlock()
}

// heldEnv is a server on a SQLite store whose transaction updates the test
// can hold (heldStore.holdWrites).
func heldEnv(t *testing.T) (*env, *heldStore) {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	hs := &heldStore{Store: st}
	return newEnv(t, Options{Store: hs}), hs
}

// holdWrites makes the transaction updates wait (a disk that stalls) until
// release is called, or the test ends.
func (s *heldStore) holdWrites(t *testing.T) (release func()) {
	ch := make(chan struct{})
	s.setHold(ch)
	var once sync.Once
	release = func() {
		once.Do(func() {
			s.setHold(nil)
			close(ch)
		})
	}
	t.Cleanup(release)
	return release
}

// The operator's answer reaches the host without waiting for its write
// (a host that has it needs it stored no more), while the operator hears
// it was taken only once it is written: a stalled disk delays the
// acknowledgement, not the run.
func TestAnswerReachesHostBeforeItsWrite(t *testing.T) {
	e, hs := heldEnv(t)
	admin := e.admin()
	h := e.host(admin.key(store.EnvDevelopment), "", action("job"))
	b := admin.browser()
	id := admin.startRun(b, h, "job", store.EnvDevelopment)
	h.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id, IOCall: ioCall("c1", "g1", "INPUT_TEXT")})
	b.next(protocol.MethodRender)

	before := len(hs.writes())
	release := hs.holdWrites(t)
	acked := make(chan error, 1)
	go func() {
		var ok bool
		err := b.call(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id,
			IOResponse: ioResponse(id, "c1", "g1", protocol.KindReturn, "x")}, &ok)
		if err == nil && !ok {
			err = errors.New("answer refused")
		}
		acked <- err
	}()
	var got protocol.IOResponseInputs
	h.next(protocol.MethodIOResponse).decode(t, &got)
	if got.TransactionID != id {
		t.Fatalf("IO_RESPONSE for %q", got.TransactionID)
	}
	select {
	case err := <-acked:
		t.Fatalf("the operator heard the answer was taken before it was written (%v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	release()
	if err := <-acked; err != nil {
		t.Fatal(err)
	}
	// The answer's write, or a later one of the run that took its place
	// in the queue (once the host answered IO_RESPONSE the record drops
	// the answer, written lazily with the next commit), was written
	// before the acknowledgement: the run left AWAITING_INPUT.
	after := hs.writes()[before:]
	if len(after) == 0 {
		t.Fatal("the answer was acknowledged but never written")
	}
	if last := after[len(after)-1]; last.ID != id || last.Status != store.StatusRunning {
		t.Fatalf("written after the answer: %s %s, want %s RUNNING", last.ID, last.Status, id)
	}
	complete(t, h, id, "done")
	b.next(protocol.MethodTransactionCompleted)
}

// A cancel (by HTTP or from the console) stores its audit event before it
// is answered, and that wait for the store does not hold the hub: while a
// stalled disk holds the cancel, another run's render still reaches its
// console. (Both cancels waited for the audit's commit under the hub's
// lock, which every socket of the server takes.)
func TestCancelWaitsForStoreOutsideHub(t *testing.T) {
	for _, via := range []string{"http", "console"} {
		t.Run(via, func(t *testing.T) {
			e, hs := heldEnv(t)
			admin := e.admin()
			key := admin.key(store.EnvDevelopment)
			h := e.host(key, "", action("job"))
			b := admin.browser()
			id := admin.startRun(b, h, "job", store.EnvDevelopment)
			// Another run, its own host and console: nothing of the
			// cancel is queued on their sockets.
			h2 := e.host(key, "", action("other"))
			b2 := admin.browser()
			id2 := admin.startRun(b2, h2, "other", store.EnvDevelopment)

			release := hs.holdWrites(t)
			answered := make(chan error, 1)
			go func() {
				var err error
				if via == "http" {
					if code := admin.try("POST", "/api/console/transactions/"+id+"/cancel", nil, nil); code != http.StatusNoContent {
						err = fmt.Errorf("cancel answered %d", code)
					}
					answered <- err
					return
				}
				var ok bool
				err = b.call(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id,
					IOResponse: ioResponse(id, "UNKNOWN", "UNKNOWN", protocol.KindCanceled, "")}, &ok)
				if err == nil && !ok {
					err = errors.New("cancel refused")
				}
				answered <- err
			}()
			// The cancel is under way: its write waits for the disk.
			awaitTrue(t, "the cancel's write held", func() bool {
				hs.mu.Lock()
				defer hs.mu.Unlock()
				return hs.held > 0
			})
			h2.must(protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: id2, IOCall: ioCall("c1", "g1", "INPUT_TEXT")})
			b2.next(protocol.MethodRender)
			select {
			case err := <-answered:
				t.Fatalf("the cancel was answered while its writes were held (%v)", err)
			default:
			}
			release()
			if err := <-answered; err != nil {
				t.Fatal(err)
			}
		})
	}
}
