package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/faultproxy"
	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/router"
)

// TestRunEndedWhileHostAwayEndsItsHandler ends a run while the Go SDK host
// running it is cut off (its connection cut, reconnections refused), with
// its handler waiting on the operator. Once the host is back, it re-sends
// the IO call it shows; the server tells it the run is over, and the
// handler returns ErrCanceled instead of waiting for an answer for good.
// The run keeps the end it had.
func TestRunEndedWhileHostAwayEndsItsHandler(t *testing.T) {
	for _, tc := range []struct {
		name      string
		grace     time.Duration
		forgotten bool // the server holds the run no more once it ended
		// end ends the run while the host is away; it returns the run's
		// status and result status then.
		end func(admin *client, b *peer, id string) (status, result string)
	}{
		{"canceled by the operator", time.Minute, false, func(admin *client, b *peer, id string) (string, string) {
			admin.do("POST", "/api/console/transactions/"+id+"/cancel", nil, http.StatusNoContent, nil)
			return "CANCELED", "CANCELED"
		}},
		{"canceled as the operator left", time.Minute, false, func(admin *client, b *peer, id string) (string, string) {
			leave(admin, b, id)
			return "CANCELED", "CANCELED"
		}},
		{"canceled as the operator left, and forgotten", time.Minute, true, func(admin *client, b *peer, id string) (string, string) {
			leave(admin, b, id)
			return "CANCELED", "CANCELED"
		}},
		{"failed after the grace", 200 * time.Millisecond, false, func(admin *client, b *peer, id string) (string, string) {
			return "COMPLETED", "FAILURE"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ended := make(chan error, 1)
			e, admin, proxy := awayHost(t, tc.grace, func(ctx context.Context, tx *interval.Tx) (any, error) {
				_, err := tx.IO.Input.Text("Name").Run(ctx)
				ended <- err
				return nil, err
			})

			b, id := openWait(admin)
			b.expect(protocol.MethodRender)
			cutOff(t, e, proxy, id)
			status, result := tc.end(admin, b, id)
			deadline := time.Now().Add(wait)
			for d := admin.tx(id); d.Status != status || d.ResultStatus != result; d = admin.tx(id) {
				if time.Now().After(deadline) {
					t.Fatalf("the run is %s (%s), want %s (%s)", d.Status, d.ResultStatus, status, result)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if tc.forgotten {
				forgetRun(t, e, id)
			}
			select {
			case err := <-ended:
				t.Fatalf("the handler returned (%v) while its host was away", err)
			default:
			}

			proxy.Refuse(false)
			select {
			case err := <-ended:
				if !errors.Is(err, interval.ErrCanceled) {
					t.Fatalf("the handler's IO call returned %v, want ErrCanceled", err)
				}
			case <-time.After(wait):
				t.Fatalf("the handler still waits for an answer %v after its host came back", wait)
			}
			if d := admin.tx(id); d.Status != status || d.ResultStatus != result {
				t.Fatalf("after the host came back the run is %s (%s), want %s (%s)", d.Status, d.ResultStatus, status, result)
			}
		})
	}
}

// awayHost starts a server (with grace as its HostDropGrace) and a Go SDK
// host serving handler as action "wait" through a proxy the test cuts and
// refuses; it returns once the host initialized.
func awayHost(t *testing.T, grace time.Duration, handler interval.HandlerFunc) (*env, *client, *faultproxy.Proxy) {
	t.Helper()
	e := newEnv(t, Options{HostDropGrace: grace})
	admin := e.admin()
	proxy := e.faultProxy()
	goHost(t, e, admin, proxy, handler)
	return e, admin, proxy
}

// goHost connects a Go SDK host serving action "wait" with handler to e
// through proxy, with admin's production key, and waits until it has
// initialized; the test's cleanup closes it.
func goHost(t *testing.T, e *env, admin *client, proxy *faultproxy.Proxy, handler interval.HandlerFunc) *interval.Client {
	t.Helper()
	r := router.New()
	r.Action("wait", handler)
	c, err := interval.New(interval.Options{Endpoint: "ws://" + proxy.Addr() + "/websocket", APIKey: admin.key("production"),
		Routes: r, Logger: testLogger(t), RetryInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	listened := make(chan error, 1)
	go func() { listened <- c.Listen(context.Background()) }()
	t.Cleanup(func() {
		c.Close()
		if err := <-listened; !errors.Is(err, interval.ErrClosed) {
			t.Errorf("Listen: %v", err)
		}
	})
	until(t, e, "the host to initialize", func(hb *hub) bool {
		for _, h := range hb.hosts {
			if h.initialized {
				return true
			}
		}
		return false
	})
	return c
}

// openWait creates a run of action "wait" and opens it in a new console
// socket, which it returns with the run's id.
func openWait(admin *client) (*peer, string) {
	admin.t.Helper()
	b := admin.browser()
	id := admin.createTx("wait", "production")
	b.must(protocol.MethodConnectToTransactionAsClient, protocol.ConnectToTransactionInputs{TransactionID: id})
	return b, id
}

// cutOff cuts the host of run id off (its connections cut, new ones refused
// until proxy.Refuse(false)) and returns once the server has it away.
func cutOff(t *testing.T, e *env, proxy *faultproxy.Proxy, id string) {
	t.Helper()
	proxy.Refuse(true)
	proxy.CutAll()
	until(t, e, "the host to be away", func(hb *hub) bool {
		t := hb.txs[id]
		return t != nil && t.host == nil
	})
}

// TestRunCanceledWhileHostAwayStopsItsComputation cancels a run while the
// Go SDK host running it is cut off, computing (it shows no IO call, so it
// has none to send again). Once back, the host is told, and the handler's
// context ends (it would otherwise compute on, doing what the operator
// canceled): as it initializes, when the server still holds the run; when
// it reports progress or logs a line, when the run, canceled as its
// operator left, is no longer held.
func TestRunCanceledWhileHostAwayStopsItsComputation(t *testing.T) {
	for _, tc := range []struct {
		name string
		// report is what the handler does every 50 ms as it computes.
		report func(ctx context.Context, tx *interval.Tx, i int)
		// cancel cancels the run (b is its console socket).
		cancel    func(admin *client, b *peer, id string)
		forgotten bool
	}{
		{"held, computing silently", nil, func(admin *client, b *peer, id string) {
			admin.do("POST", "/api/console/transactions/"+id+"/cancel", nil, http.StatusNoContent, nil)
		}, false},
		{"left by its operator, computing silently", nil, leave, false},
		{"forgotten, reporting progress", func(ctx context.Context, tx *interval.Tx, i int) {
			tx.Loading.Update(interval.LoadingState{Label: fmt.Sprintf("step %d", i)})
		}, leave, true},
		{"forgotten, logging", func(ctx context.Context, tx *interval.Tx, i int) {
			tx.Log(ctx, "step", i)
		}, leave, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			computing, stopped := make(chan struct{}), make(chan error, 1)
			e, admin, proxy := awayHost(t, time.Minute, func(ctx context.Context, tx *interval.Tx) (any, error) {
				close(computing)
				tk := time.NewTicker(50 * time.Millisecond)
				defer tk.Stop()
				for i := 0; ; i++ {
					select {
					case <-ctx.Done():
						stopped <- context.Cause(ctx)
						return nil, ctx.Err()
					case <-tk.C:
						if tc.report != nil {
							tc.report(ctx, tx, i)
						}
					}
				}
			})
			b, id := openWait(admin)
			select {
			case <-computing:
			case <-time.After(wait):
				t.Fatal("the handler never started")
			}
			until(t, e, "the host to acknowledge the start", func(hb *hub) bool {
				t := hb.txs[id]
				return t != nil && t.hostHas
			})
			cutOff(t, e, proxy, id)
			tc.cancel(admin, b, id)
			if tc.forgotten {
				forgetRun(t, e, id)
			}
			proxy.Refuse(false)
			select {
			case cause := <-stopped:
				if !errors.Is(cause, interval.ErrCanceled) {
					t.Fatalf("the handler's computation ended with %v, want its context canceled with ErrCanceled", cause)
				}
			case <-time.After(wait):
				t.Fatalf("the handler still computes %v after its host came back", wait)
			}
			if d := admin.tx(id); d.Status != "CANCELED" {
				t.Fatalf("the run is %s, want CANCELED", d.Status)
			}
			until(t, e, "the server to hold the run only for a console showing it", func(hb *hub) bool {
				tx := hb.txs[id]
				return tx == nil || tx.browser != nil
			})
		})
	}
}

// forgetRun waits for run id, ended while its host is away, to be left by
// its console, then has the server drop it as it does once its host stayed
// away past HostDropGrace (sweep): a host coming back then (or to a server
// restarted since) finds a run the server holds no more.
func forgetRun(t *testing.T, e *env, id string) {
	t.Helper()
	until(t, e, "the run, ended, to be left by its console", func(hb *hub) bool {
		tx := hb.txs[id]
		return tx != nil && tx.finished() && tx.browser == nil
	})
	hb := e.s.hub
	hb.sweep(time.Now().Add(hb.s.opts.HostDropGrace + time.Second))
	until(t, e, "the run to be forgotten", func(hb *hub) bool { return hb.txs[id] == nil })
}

// leave cancels run id as its operator leaves it (it is not
// backgroundable); with no console watching it, the server keeps it only
// until its host is told.
func leave(admin *client, b *peer, id string) {
	b.must(protocol.MethodLeaveTransaction, protocol.TransactionRef{TransactionID: id})
}

// TestNodeRunCanceledWhileHostAwayEndsItsHandler is
// TestRunEndedWhileHostAwayEndsItsHandler's cancel with a host of the
// official Node SDK: back, it sends again the IO call it shows, is told the
// run is over, and its action's wait for the answer ends.
func TestNodeRunCanceledWhileHostAwayEndsItsHandler(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	proxy := e.faultProxy()
	node := startNodeScript(t, "nodehost", "away.js", "ws://"+proxy.Addr()+"/websocket", admin.key("production"))
	defer node.stop()
	node.waitFor(t, "LISTENING")
	b, id := openWait(admin)
	b.expect(protocol.MethodRender)
	cutOff(t, e, proxy, id)
	admin.do("POST", "/api/console/transactions/"+id+"/cancel", nil, http.StatusNoContent, nil)
	proxy.Refuse(false)
	how := node.waitFor(t, "ENDED")
	t.Logf("the Node action's wait ended: %s", how)
	if !strings.Contains(how, "CANCELED") && !strings.Contains(strings.ToLower(how), "cancel") {
		t.Fatalf("the Node action's wait ended with %q, want a cancellation", how)
	}
	if d := admin.tx(id); d.Status != "CANCELED" {
		t.Fatalf("the run is %s, want CANCELED", d.Status)
	}
}
