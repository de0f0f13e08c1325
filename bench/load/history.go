package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	"github.com/interval-go/sdk/server/store"
)

// historyBatch is how many runs of history one commit writes.
const historyBatch = 2000

// writeHistory writes n finished runs, each with its audit event, into the
// SQLite store of dir before the server opens it: the history a server
// holds after it has served for a while, whose indexes each new run's
// writes go into. Their ids are random, as the server makes them.
func writeHistory(ctx context.Context, dir string, n int) error {
	st, err := store.Open(ctx, dir)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer st.Close()
	start := time.Now().Add(-time.Duration(n) * time.Second)
	ws := make([]store.Write, 0, 2*historyBatch)
	for i := 0; i < n; {
		ws = ws[:0]
		for ; len(ws) < 2*historyBatch && i < n; i++ {
			at := start.Add(time.Duration(i) * time.Second)
			done := at.Add(40 * time.Millisecond)
			id := rand.Text()[:21]
			t := &store.Transaction{ID: id, Slug: "greet", ActionName: "Greet", Env: store.EnvProduction,
				UserID: "history", UserEmail: "history@example.com", UserName: "History", Status: store.StatusCompleted,
				ResultStatus: "SUCCESS", Params: json.RawMessage(`{}`), Result: `{"schema":"json","data":"Hello, operator!"}`,
				CreatedAt: at, UpdatedAt: done, CompletedAt: &done}
			ev := &store.AuditEvent{At: at, ActorID: "history", ActorEmail: "history@example.com", Action: "run.started",
				Target: id, Detail: json.RawMessage(`{"slug":"greet","env":"production","params":{}}`)}
			ws = append(ws, store.Write{Create: t}, store.Write{Audit: ev})
		}
		errs := make([]error, len(ws))
		if err := st.WriteBatch(ctx, ws, errs); err != nil {
			return fmt.Errorf("history: %w", err)
		}
		for _, err := range errs {
			if err != nil {
				return fmt.Errorf("history: %w", err)
			}
		}
	}
	return nil
}
