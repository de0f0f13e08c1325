package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

// detachedEndpoint is an endpoint with no socket: calls queue up unsent.
func detachedEndpoint() *endpoint {
	e := &endpoint{log: slog.New(slog.DiscardHandler)}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	return e
}

var fuzzMethods = []string{
	protocol.MethodInitializeHost, protocol.MethodSendIOCall, protocol.MethodSendPage, protocol.MethodSendLoadingCall,
	protocol.MethodSendLog, protocol.MethodSendRedirect, protocol.MethodNotify, protocol.MethodMarkTransactionComplete,
	protocol.MethodBeginHostShutdown, protocol.MethodInitializeClient, protocol.MethodConnectToTransactionAsClient,
	protocol.MethodRespondToIOCall, protocol.MethodLeaveTransaction, protocol.MethodRequestPage, protocol.MethodLeavePage,
	"NOPE",
}

// FuzzCalls feeds arbitrary inputs to every host and browser method: the
// server must answer or refuse, never panic.
func FuzzCalls(f *testing.F) {
	for _, seed := range []string{`{}`, `null`, `[]`, `5`, `"x"`, `{"transactionId":"T"}`,
		`{"transactionId":"T","ioCall":"{\"id\":\"a\",\"inputGroupKey\":\"b\",\"toRender\":[{\"methodName\":\"INPUT_TEXT\"}],\"kind\":\"RENDER\"}"}`,
		`{"transactionId":"T","ioResponse":"{\"id\":\"a\",\"transactionId\":\"T\",\"kind\":\"RETURN\",\"values\":[1]}"}`,
		`{"actions":[{"slug":"a","access":{"teams":["x"]}}],"groups":[{"slug":"p","name":"P","hasHandler":true}],"sdkName":"n","sdkVersion":"9"}`,
		`{"pageKey":"k","pageSlug":"p","organizationEnvironmentId":"development"}`,
		`{"transactionId":"T","resultStatus":"SUCCESS","result":"{}"}`,
		`{"transactionId":"T","url":"x","data":"log","index":-5,"page":"{\"kind\":\"BASIC\"}"}`,
	} {
		for i := range fuzzMethods {
			f.Add(uint8(i), seed)
		}
	}
	dir := f.TempDir()
	s, err := New(context.Background(), Options{DataDir: dir, PublicURL: "http://127.0.0.1:1"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	ctx := context.Background()
	email, _, _ := s.EnsureAdmin(ctx)
	admin, _ := s.store.UserByEmail(ctx, email)
	keyID, _, _ := s.createKey(ctx, admin.ID, store.EnvDevelopment, "")
	key, _ := s.store.APIKeyByID(ctx, keyID)
	h := &host{e: detachedEndpoint(), id: "fuzz-host", key: key, owner: admin, status: hostOnline,
		actions: map[string]protocol.ActionDefinition{}, pages: map[string]protocol.PageDefinition{}}
	s.hub.addHost(h)
	s.hostCall(h, protocol.MethodInitializeHost, json.RawMessage(`{"actions":[{"slug":"a"}],"groups":[{"slug":"p","name":"P","hasHandler":true}],"sdkName":"@interval/sdk","sdkVersion":"2.0.0"}`))
	b := &browser{e: detachedEndpoint(), user: admin, txs: map[string]*txn{}, pages: map[string]*pageSess{},
		sid: newSocketID(), remote: map[string]string{}, log: s.log}
	// One real transaction "T"-like id for the inputs to hit.
	now := time.Now()
	rec := store.Transaction{ID: "T", Slug: "a", Env: store.EnvDevelopment, UserID: admin.ID, UserEmail: admin.Email,
		DeveloperID: admin.ID, Status: store.StatusPending, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateTransaction(ctx, rec); err != nil {
		f.Fatal(err)
	}
	s.hub.mu.Lock()
	s.hub.txs["T"] = &txn{rec: rec, user: admin, detachedAt: now}
	s.hub.mu.Unlock()
	s.hub.connect(b, "T")

	f.Fuzz(func(t *testing.T, m uint8, data string) {
		method := fuzzMethods[int(m)%len(fuzzMethods)]
		if method == protocol.MethodRequestPage {
			return // waits for the (detached) host's answer
		}
		s.hostCall(h, method, json.RawMessage(data))
		s.browserCall(b, method, json.RawMessage(data))
	})
}

// A START_TRANSACTION that never left the server (the host's socket closed
// first) is given to another host: no host can have run it.
func TestUndeliveredStartGoesToAnotherHost(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	ctx := context.Background()
	u, _ := e.s.store.UserByEmail(ctx, admin.email)
	keyID, key, err := e.s.createKey(ctx, u.ID, store.EnvProduction, "")
	if err != nil {
		t.Fatal(err)
	}
	k, _ := e.s.store.APIKeyByID(ctx, keyID)
	// A host whose socket never sends anything.
	stuck := &host{e: detachedEndpoint(), id: "aaa-stuck", key: k, owner: u, status: hostOnline,
		actions: map[string]protocol.ActionDefinition{}, pages: map[string]protocol.PageDefinition{}}
	e.s.hub.addHost(stuck)
	e.s.hostCall(stuck, protocol.MethodInitializeHost, json.RawMessage(`{"actions":[{"slug":"job"}],"sdkName":"@interval/sdk","sdkVersion":"2.0.0"}`))
	b := admin.browser()
	id := admin.createTx("job", "production")
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	real := e.host(key, "zzz-real", action("job"))
	// The stuck socket closes with the START still queued.
	stuck.e.cancel()
	stuck.e.drain()
	st := real.expect(protocol.MethodStartTransaction).start(t)
	if st.TransactionID != id {
		t.Fatalf("START_TRANSACTION %+v", st)
	}
	complete(t, real, id, "done")
	b.next(protocol.MethodTransactionCompleted)
}
