package server

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/interval"
)

// TestShutdownDeliversResultPastAStall shuts a Go SDK host down while the
// connection that carries its last run's result has stalled (the network
// path died without a close; new connections work). Shutdown must not
// return before the result reached the server, nor wait past its context:
// the host gives the dead connection up, sends the result on a new one,
// and the run completes with it.
func TestShutdownDeliversResultPastAStall(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	proxy := e.faultProxy()
	answered := make(chan struct{})
	c := goHost(t, e, admin, proxy, func(ctx context.Context, tx *interval.Tx) (any, error) {
		name, err := tx.IO.Input.Text("Name").Run(ctx)
		if err != nil {
			return nil, err
		}
		close(answered)
		time.Sleep(300 * time.Millisecond) // the connection stalls meanwhile
		return "done:" + name, nil
	})
	b, id := openWait(admin)
	rc := b.expect(protocol.MethodRender)
	var in protocol.RenderInputs
	json.Unmarshal(rc.data, &in)
	rd, err := protocol.DecodeIORender(in.ToRender)
	if err != nil {
		t.Fatal(err)
	}
	b.must(protocol.MethodRespondToIOCall, protocol.RespondToIOCallInputs{TransactionID: id,
		IOResponse: ioResponse(id, rd.ID, rd.InputGroupKey, protocol.KindReturn, "Ada")})
	<-answered
	for _, pc := range proxy.Conns() {
		pc.Freeze()
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = c.Shutdown(ctx)
	t.Logf("Shutdown returned %v after %v", err, time.Since(start).Round(100*time.Millisecond))
	if err != nil && !errors.Is(err, interval.ErrClosed) {
		t.Fatalf("Shutdown: %v", err)
	}
	d := admin.tx(id)
	if d.Status != "COMPLETED" || d.ResultStatus != "SUCCESS" {
		t.Fatalf("the run is %s (%s) once Shutdown returned, want COMPLETED (SUCCESS)", d.Status, d.ResultStatus)
	}
}
