package console_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/interval-go/sdk/adapters/httphost"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/router"
)

// TestBrowserServerlessHosts registers a Go serverless host (adapters/
// httphost on loopback HTTP) in Settings → Serverless hosts, sees it online
// with its declared action, runs that action from the console in
// production, and removes the host.
func TestBrowserServerlessHosts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	key, err := e.srv.CreateAPIKey(context.Background(), opEmail, "production")
	if err != nil {
		t.Fatal(err)
	}
	r := router.New()
	r.Action("fn_hello", func(ctx context.Context, tx *interval.Tx) (any, error) {
		name, err := tx.IO.Input.Text("Your name").Run(ctx)
		if err != nil {
			return nil, err
		}
		return "Hello from a function, " + name + "!", nil
	})
	c, err := interval.New(interval.Options{Endpoint: "ws" + strings.TrimPrefix(e.url, "http") + "/websocket", APIKey: key, Routes: r,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h := httphost.New(c)
	h.Logger = slog.New(slog.DiscardHandler)
	h.Request.CompleteDelay = 100 * time.Millisecond
	fn := httptest.NewServer(h)
	t.Cleanup(fn.Close)
	t.Cleanup(func() { c.Close() })

	e.login()
	e.navigate("/settings/hosts")
	e.waitText(".empty", "No serverless hosts")
	e.typeInto("#host-url", fn.URL)
	e.clickButton("Add host")
	e.waitText("[data-testid=http-hosts-table]", "online")
	e.waitText("[data-testid=http-hosts-table]", "1 action, 0 pages")
	e.waitText(".toasts", "Serverless host online")
	e.shot("serverless-hosts")

	e.do(chromedp.SetValue(chromedp.CSS(`select[aria-label="Environment"]`), "production"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('select[aria-label="Environment"]').dispatchEvent(new Event('change', {bubbles: true}))`))
	e.waitText("[data-testid=host-status]", "1 host online")
	e.navigate("/actions/fn_hello")
	e.typeInto(field("Your name", "input"), "Ada")
	e.clickButton("Continue")
	e.waitText("[data-testid=result]", "Hello from a function, Ada!")

	e.navigate("/settings/hosts")
	e.waitText("[data-testid=http-hosts-table]", fn.URL)
	e.do(chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`))
	e.clickButton("Remove")
	e.waitText(".empty", "No serverless hosts")

	// An unreachable host's long error wraps in its cell: the table fits a
	// desktop screen without scrolling sideways.
	e.typeInto("#host-url", "http://127.0.0.1:1/functions/interval-host-that-is-not-running")
	e.clickButton("Add host")
	e.waitText("[data-testid=host-error]", "connection refused")
	e.waitJS(`(() => { const s = document.querySelector("[data-testid=http-hosts-table]").closest(".table-scroll"); return s.scrollWidth <= s.clientWidth + 1 })()`, "the hosts table to fit at 1280 px")
}
