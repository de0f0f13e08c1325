package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/interval-go/sdk/server/console/internal/testhost"
)

// dblclick double-clicks the middle of the element sel matches, as a person
// does: two clicks at the same point in quick succession (the second with a
// click count of 2), whatever the first one changed on the page.
func (e *env) dblclick(sel string) {
	e.t.Helper()
	e.do(chromedp.WaitVisible(sel))
	xy := eval[[]float64](e, fmt.Sprintf(`(() => { const r = document.querySelector(%s).getBoundingClientRect(); return [r.x + r.width/2, r.y + r.height/2] })()`, js(sel)))
	e.do(chromedp.MouseClickXY(xy[0], xy[1]), chromedp.MouseClickXY(xy[0], xy[1], chromedp.ClickCount(2)))
}

// runCount is how many runs the operator's history lists.
func (e *env) runCount() int {
	e.t.Helper()
	return evalAwaitWithin[int](e, waitLimit, `fetch('/api/console/transactions', {headers: {'X-Interval-Console': '1'}}).then(r => r.json()).then(j => j.transactions.length)`)
}

// TestBrowserDoubleClicksRunOnce double-clicks what an operator clicks on
// the way through a run: the action's card, the form's submit button and
// "New transaction". Each double click does what one click does: one run
// created and started, one answer taken.
func TestBrowserDoubleClicksRunOnce(t *testing.T) {
	t.Parallel()
	var starts, answers atomic.Int32
	act := testhost.Action{Slug: "hello", Name: "Hello", Handler: func(ctx context.Context, tx *testhost.Tx) (any, error) {
		starts.Add(1)
		a, err := tx.IO([]*testhost.Comp{{Method: "INPUT_TEXT", Label: "Your name"}}, testhost.CallOptions{})
		if err != nil {
			return nil, err
		}
		answers.Add(1)
		var name string
		_ = json.Unmarshal(a.Values[0], &name)
		return "Hello, " + name + "!", nil
	}}
	e := newEnv(t, []testhost.Action{act}, nil)
	e.login()
	// settled checks, after the page had time for what a second click
	// would have sent, the runs created and started and the answers the
	// host took.
	settled := func(what string, runs, started, answered int32) {
		t.Helper()
		time.Sleep(500 * time.Millisecond)
		if n := e.runCount(); n != int(runs) || starts.Load() != started || answers.Load() != answered {
			t.Fatalf("after a double click on %s: %d runs created, %d started, %d answers taken; want %d, %d, %d\n%s",
				what, n, starts.Load(), answers.Load(), runs, started, answered, e.pageText())
		}
	}

	e.navigate("/")
	e.dblclick(`a.action-card[href="/actions/hello"]`)
	e.waitText(field("Your name", ".field-label"), "Your name")
	settled("the action's card", 1, 1, 0)

	e.typeInto(field("Your name", "input"), "Ada")
	e.dblclick(`.form-buttons button[type=submit]`)
	e.waitText("[data-testid=result]", "Hello, Ada!")
	settled("the submit button", 1, 1, 1)
	if eval[bool](e, `!!document.querySelector('[data-testid=respond-error], .alert-danger')`) {
		t.Fatalf("the second click of a double click on submit showed an error\n%s", e.pageText())
	}

	e.dblclick(`[data-testid=new-transaction]`)
	e.waitText(field("Your name", ".field-label"), "Your name")
	settled("New transaction", 2, 2, 1)
}

// TestBrowserRunButtonsStayPut watches the run's share-link button from the
// click on the action's card to its end: it must not move under the
// operator's pointer as the run starts (it moved by its own width when the
// button beside it turned from "Go back" into "Cancel", and a click aimed
// at it landed beside it) or ends.
func TestBrowserRunButtonsStayPut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []testhost.Action{hello()}, nil)
	e.login()
	e.waitJS(`document.querySelector('a.action-card[href="/actions/hello"]')`, "the action's card")
	e.do(chromedp.Evaluate[chromedp.Void](`window.__xs = new Set(); (function watch() {
		const l = document.querySelector("[data-testid=share-link]")
		if (l) { const r = l.getBoundingClientRect(); window.__xs.add(Math.round(r.x) + "," + Math.round(r.y)) }
		requestAnimationFrame(watch) })()
		document.querySelector('a.action-card[href="/actions/hello"]').click()`))
	e.waitText(field("Your name", ".field-label"), "Your name")
	e.typeInto(field("Your name", "input"), "Ada")
	e.clickButton("Continue")
	e.waitText("[data-testid=result]", "Hello, Ada!")
	if at := eval[[]string](e, `[...window.__xs]`); len(at) != 1 {
		t.Fatalf("the share link was at %v (x,y) during the run, want one place", at)
	}
}
