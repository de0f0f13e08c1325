package server

import (
	"net/http"
	"testing"

	"github.com/interval-go/sdk/server/store"
)

// Params are an object of scalars (PROTOCOL.md §3.2, §3.4): the official
// SDK silently ignores a START_TRANSACTION with a nested value, which would
// leave the run waiting forever, so the server refuses it up front, from
// the console and from enqueue alike.
func TestParamsMustBeScalars(t *testing.T) {
	var logs logBuf
	e := newEnv(t, Options{Logger: logs.logger()})
	admin := e.admin()
	key := admin.key(store.EnvProduction)
	e.host(key, "", action("job"))
	for _, params := range []any{map[string]any{"a": map[string]any{"b": 1}}, map[string]any{"a": []int{1}}, []int{1}, "x"} {
		if code := admin.try("POST", "/api/console/transactions", map[string]any{"slug": "job", "env": "production", "params": params}, nil); code != http.StatusBadRequest {
			t.Fatalf("run with params %v: HTTP %d", params, code)
		}
		if code, out := hostAPI(t, e, key, "/api/actions/enqueue", map[string]any{"slug": "job", "params": params}); code != http.StatusBadRequest {
			t.Fatalf("enqueue with params %v: HTTP %d %v", params, code, out)
		}
	}
	waitLogged(t, &logs, `msg="run refused: params not an object of strings, numbers, booleans or null"`, `msg="enqueue refused: no slug or params not an object"`)
	ok := map[string]any{"s": "x", "n": 1.5, "b": true, "z": nil}
	var created struct{ ID string }
	admin.do("POST", "/api/console/transactions", map[string]any{"slug": "job", "env": "production", "params": ok}, http.StatusCreated, &created)
	if code, out := hostAPI(t, e, key, "/api/actions/enqueue", map[string]any{"slug": "job", "params": ok}); code != http.StatusOK {
		t.Fatalf("enqueue with scalar params: HTTP %d %v", code, out)
	}
}
