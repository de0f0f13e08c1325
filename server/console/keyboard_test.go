package console_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/interval-go/sdk/server/console/internal/testhost"
)

// refund is a multi-step action: a form whose amount the host refuses
// above 500, a confirmation, then the result.
func refund() testhost.Action {
	return testhost.Action{Slug: "refund", Name: "Refund a charge", Handler: func(ctx context.Context, t *testhost.Tx) (any, error) {
		a, err := t.IO([]*testhost.Comp{
			{Method: "DISPLAY_MARKDOWN", Label: "Refunds go back to the original card."},
			{Method: "INPUT_TEXT", Label: "Customer", Props: map[string]any{}},
			{Method: "INPUT_NUMBER", Label: "Amount", Props: map[string]any{}, Validate: func(v json.RawMessage) string {
				var n float64
				if json.Unmarshal(v, &n) == nil && n > 500 {
					return "Refunds above $500 need a manager."
				}
				return ""
			}},
		}, testhost.CallOptions{})
		if err != nil {
			return nil, err
		}
		var who string
		var amount float64
		json.Unmarshal(a.Values[0+1], &who)
		json.Unmarshal(a.Values[1+1], &amount)
		c, err := t.IO([]*testhost.Comp{{Method: "CONFIRM", Label: "Refund " + who + "?", Props: map[string]any{}}}, testhost.CallOptions{})
		if err != nil {
			return nil, err
		}
		var ok bool
		json.Unmarshal(c.Values[0], &ok)
		if !ok {
			return "not refunded", nil
		}
		return map[string]any{"refunded": who, "amount": amount}, nil
	}}
}

// focused reports what has the keyboard: the element's label, id or text.
func focused(e *env) string {
	return eval[string](e, `(() => { const a = document.activeElement; if (!a || a === document.body) return "BODY";
		const f = a.closest("[data-label]"); return (f ? f.dataset.label + ": " : "") + a.tagName + (a.id ? "#" + a.id : "") + " " + (a.innerText || "").trim().slice(0, 30) })()`)
}

func (e *env) waitFocus(want, what string) {
	e.t.Helper()
	e.waitJS(`(() => { const a = document.activeElement; if (!a || a === document.body) return false;
		const f = a.closest("[data-label]"); const s = (f ? f.dataset.label + ": " : "") + a.tagName + " " + (a.innerText || "").trim(); return s.includes(`+js(want)+`) })()`,
		what+" (focus on "+want+")")
}

// keys types text into whatever has focus, as a keyboard does: each key's
// keydown carries its character, so the page gets keydown and keypress in
// one input event as from a real keyboard (chromedp.KeyEvent sends the
// character as an event of its own, which a page can see land on another
// element when its keydown moved the focus).
func (e *env) keys(text string) {
	e.t.Helper()
	e.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, r := range text {
			var down, up *input.DispatchKeyEventParams
			for _, k := range kb.Encode(r) {
				switch k.Type {
				case kb.KeyDown:
					down = k
				case kb.KeyChar:
					if down != nil {
						down.Text, down.UnmodifiedText = k.Text, k.UnmodifiedText
					}
				case kb.KeyUp:
					up = k
				}
			}
			for _, k := range []*input.DispatchKeyEventParams{down, up} {
				if k == nil {
					continue
				}
				if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, *k); err != nil {
					return err
				}
			}
		}
		return nil
	}))
}

// TestBrowserKeyboardOnlyRun runs a multi-step action without the mouse,
// from the sidebar to a second run: every new step has its first field
// focused, a validation error from the host focuses the invalid field, the
// confirmation focuses Confirm, the result focuses "New transaction", and
// Enter on it starts a run whose first field has the keyboard again. It
// reports the time from "New transaction" to a focused first input.
func TestBrowserKeyboardOnlyRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []testhost.Action{refund(), hello()}, nil)
	e.login()

	// Choose the action from the sidebar with the keyboard: focus its link
	// and press Enter.
	e.do(chromedp.Focus(`//nav//a[normalize-space(.)="Refund a charge"]`))
	fromSidebar := time.Now()
	e.keys(kb.Enter)
	e.waitFocus("Customer: INPUT", "the first field after choosing the action")
	t.Logf("sidebar link → focused first input: %v", time.Since(fromSidebar).Round(time.Millisecond))

	e.keys("Ava Chen")
	e.keys(kb.Tab)
	e.waitFocus("Amount: INPUT", "Tab to the amount")
	e.keys("900")
	e.keys(kb.Enter)
	// The host refuses the amount: the field says why and has the keyboard.
	e.waitText(field("Amount", ".field-error"), "need a manager")
	e.waitFocus("Amount: INPUT", "the invalid field after the host's validation error")
	e.keys(kb.Backspace + kb.Backspace + kb.Backspace)
	e.keys("120")
	e.keys(kb.Enter)

	e.waitFocus("BUTTON Confirm", "Confirm on the confirmation")
	e.keys(kb.Enter)
	e.waitText("[data-testid=result]", "Completed")
	e.waitText("[data-testid=result]", "Ava Chen")
	e.waitFocus("BUTTON New transaction", "New transaction after the result")

	start := time.Now()
	e.keys(kb.Enter)
	e.waitFocus("Customer: INPUT", "the first field of the new run")
	took := time.Since(start)
	if v := eval[string](e, `document.querySelector(`+js(field("Customer", "input"))+`).value`); v != "" {
		t.Fatalf("the new run's first field holds %q", v)
	}
	if eval[bool](e, `!!document.querySelector("[data-testid=result]")`) {
		t.Fatal("the previous run's result is still on screen")
	}
	t.Logf("New transaction → focused first input: %v", took.Round(time.Millisecond))
	if got := focused(e); !strings.Contains(got, "Customer") {
		t.Fatalf("focus on %q", got)
	}
}

// TestBrowserKeyboardPopovers drives a searchable select, a grid's row
// menu and the account menu from the keyboard: an opened select has its
// search box focused, an opened menu its first item; the arrow keys move
// between items; Escape closes and gives the keyboard back to the button.
func TestBrowserKeyboardPopovers(t *testing.T) {
	t.Parallel()
	actions, _ := kitchen("selects", "displays", "hello")
	e := newEnv(t, actions, nil)
	e.acceptDialogs() // leaving the open run asks first
	e.login()

	e.navigate("/actions/selects")
	trigger := field("New plan", ".select-trigger")
	e.waitText(trigger, "Team")
	e.do(chromedp.Focus(chromedp.CSS(trigger)))
	e.keys(kb.Enter)
	e.waitJS(`document.activeElement === document.querySelector(`+js(field("New plan", ".select-search"))+`)`, "the search box of the open select")
	e.keys("ent")
	e.waitJS(`document.querySelectorAll(`+js(field("New plan", "li[role=option]"))+`).length === 1`, "one option left")
	e.keys(kb.Enter)
	e.waitText(trigger, "Enterprise")
	e.waitJS(`!document.querySelector(`+js(field("New plan", ".select-pop"))+`)`, "the select closed")
	e.waitJS(`document.activeElement === document.querySelector(`+js(trigger)+`)`, "its button focused")
	e.keys(kb.Enter)
	e.waitJS(`document.activeElement === document.querySelector(`+js(field("New plan", ".select-search"))+`)`, "the search box again")
	e.keys(kb.Escape)
	e.waitJS(`document.activeElement === document.querySelector(`+js(trigger)+`) && !document.querySelector(`+js(field("New plan", ".select-pop"))+`)`, "Escape closes the select")
	e.waitText(trigger, "Enterprise")

	e.navigate("/actions/displays")
	e.waitText("[data-testid=result]", "Completed")
	menuBtn := ".grid-menu button"
	e.do(chromedp.Focus(chromedp.CSS(menuBtn)))
	e.keys(kb.Enter)
	e.waitJS(`document.activeElement && document.activeElement.getAttribute("role") === "menuitem" && document.activeElement.innerText === "Details"`, "the menu's first item")
	e.keys(kb.ArrowDown)
	e.waitJS(`document.activeElement.innerText === "Remove"`, "ArrowDown to the next item")
	e.keys(kb.ArrowDown)
	e.waitJS(`document.activeElement.innerText === "Details"`, "ArrowDown wraps to the first")
	e.keys(kb.End)
	e.waitJS(`document.activeElement.innerText === "Remove"`, "End to the last")
	e.keys(kb.Escape)
	e.waitJS(`!document.querySelector(".menu-fixed") && document.activeElement === document.querySelector(`+js(menuBtn)+`)`, "Escape closes the menu, its button focused")

	e.do(chromedp.Focus(chromedp.CSS(".avatar-btn")))
	e.keys(kb.Enter)
	e.waitJS(`document.activeElement && document.activeElement.closest(".user-menu .menu") && document.activeElement.innerText.includes("Account")`, "the account menu's first item")
	e.keys(kb.ArrowUp)
	e.waitJS(`document.activeElement.innerText.includes("Log out")`, "ArrowUp wraps to the last item")
	e.keys(kb.Escape)
	e.waitJS(`!document.querySelector(".user-menu .menu") && document.activeElement === document.querySelector(".avatar-btn")`, "Escape closes the account menu")
}

// TestBrowserCommandPalette finds and starts an action from anywhere with
// Ctrl+K, the keyboard only: the palette's search has focus, typing
// filters, the arrow keys choose, Enter opens the action with its first
// field focused, Escape closes and gives focus back. The run page offers a
// link that starts the action again with its parameters.
func TestBrowserCommandPalette(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []testhost.Action{refund(), hello()}, nil)
	e.acceptDialogs() // leaving the open run asks first
	e.login()
	e.navigate("/history")
	e.waitText(".page-title", "History")

	ctrlK := chromedp.KeyEvent("k", chromedp.KeyModifiers(chromedp.ModifierCtrl))
	e.do(ctrlK)
	e.waitJS(`document.activeElement && document.activeElement.closest("[data-testid=palette]")`, "the palette's search focused")
	e.waitJS(`document.querySelectorAll(".palette-item").length >= 4`, "every action and screen listed before typing")
	e.keys(kb.ArrowDown)
	e.waitJS(`document.querySelector(".palette-item.is-active") === document.querySelectorAll(".palette-item")[1]`, "ArrowDown moves the choice")
	e.keys(kb.ArrowUp + kb.ArrowUp)
	e.waitJS(`document.querySelector(".palette-item.is-active") === [...document.querySelectorAll(".palette-item")].pop()`, "ArrowUp wraps to the last")
	e.shot("command-palette")
	e.keys("refu")
	e.waitJS(`document.querySelector(".palette-item.is-active .palette-label").innerText === "Refund a charge"`, "the action first")
	e.keys(kb.Enter)
	e.waitJS(`location.pathname === "/actions/refund" && !document.querySelector("[data-testid=palette]")`, "the action opened")
	e.waitFocus("Customer: INPUT", "the action's first field")

	e.do(ctrlK)
	e.waitJS(`document.activeElement && document.activeElement.closest("[data-testid=palette]")`, "the palette again")
	e.keys("hist")
	e.waitJS(`document.querySelector(".palette-item.is-active .palette-label").innerText === "History"`, "a console screen")
	e.keys(kb.Escape)
	e.waitJS(`!document.querySelector("[data-testid=palette]")`, "Escape closes the palette")
	e.waitFocus("Customer: INPUT", "focus back where it was")
	e.shot("command-palette-closed")

	e.navigate("/actions/hello?customer=cus_42&amount=12.5")
	e.waitJS(`document.querySelector("[data-testid=share-link]")`, "the share link")
	href := eval[string](e, `document.querySelector("[data-testid=share-link]").href`)
	if !strings.HasSuffix(href, "/actions/hello?customer=cus_42&amount=12.5") {
		t.Fatalf("share link %q", href)
	}
	e.do(chromedp.Click(`[data-testid=share-link]`, chromedp.NodeVisible))
	e.waitText(".toasts", "Copied to clipboard")
}

// TestBrowserRichTextEditor edits rich text as an operator does, on the
// keyboard: typing, a bulleted list made from the toolbar keeps the text
// and the caret (the next words land in the item), Ctrl+B, undo and redo,
// a placeholder while empty; the host receives the sanitized HTML.
func TestBrowserRichTextEditor(t *testing.T) {
	t.Parallel()
	action := testhost.Action{Slug: "note", Name: "Note", Handler: func(ctx context.Context, tx *testhost.Tx) (any, error) {
		a, err := tx.IO([]*testhost.Comp{{Method: "INPUT_RICH_TEXT", Label: "Message", Props: map[string]any{"placeholder": "Write to the customer"}}}, testhost.CallOptions{})
		if err != nil {
			return nil, err
		}
		var v string
		json.Unmarshal(a.Values[0], &v)
		return v, nil
	}}
	e := newEnv(t, []testhost.Action{action}, nil)
	e.login()
	e.navigate("/actions/note")
	body := field("Message", ".rte-body")
	e.waitFocus("Message: DIV", "the editor focused on the first step")
	e.waitText(field("Message", ".rte-placeholder"), "Write to the customer")
	e.keys("first")
	e.waitJS(`!document.querySelector(`+js(field("Message", ".rte-placeholder"))+`)`, "the placeholder gone")
	e.do(chromedp.Click(field("Message", `button[aria-label="Bulleted list"]`), chromedp.NodeVisible))
	e.waitJS(`document.querySelector(`+js(body+" ul li")+`) && document.querySelector(`+js(body+" ul li")+`).innerText.trim() === "first"`, "the line became a list item")
	e.keys(" item")
	e.waitJS(`document.querySelector(`+js(body+" ul li")+`).innerText.trim() === "first item"`, "typing continues in the item, where the caret was")
	e.keys(kb.Enter + "second")
	e.waitJS(`document.querySelectorAll(`+js(body+" ul li")+`).length === 2`, "Enter makes a second item")
	e.do(chromedp.KeyEvent("b", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	e.keys(" bold")
	e.waitJS(`[...document.querySelectorAll(`+js(body+" b, "+body+" strong")+`)].some(b => b.innerText.includes("bold"))`, "Ctrl+B")
	e.waitJS(`document.querySelector(`+js(field("Message", `button[aria-label="Bold"]`))+`).getAttribute("aria-pressed") === "true"`, "the Bold button shows it is on")
	e.do(chromedp.KeyEvent("z", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	e.waitJS(`![...document.querySelectorAll(`+js(body+" b, "+body+" strong")+`)].some(b => b.innerText.includes("bold"))`, "undo")
	e.do(chromedp.Click(field("Message", `button[aria-label="Redo"]`), chromedp.NodeVisible))
	e.waitJS(`[...document.querySelectorAll(`+js(body+" b, "+body+" strong")+`)].some(b => b.innerText.includes("bold"))`, "redo")
	e.shot("rich-text")
	e.clickButton("Continue")
	// The action returns the HTML it got: shown formatted, its source a
	// click away.
	e.waitJS(`document.querySelectorAll("[data-testid=result-html] ul li").length === 2`, "the result formatted")
	if eval[bool](e, `document.querySelector("[data-testid=result]").innerText.includes("<ul>")`) {
		t.Fatal("the result shows raw markup")
	}
	e.shot("rich-text-result")
	e.clickButton("Show HTML")
	e.waitText("[data-testid=result] .result-source", "first item")
	res := e.text("[data-testid=result] .result-source")
	if !contains(res, "<ul><li>") || !contains(res, "first item</li><li>") || !contains(res, "bold") {
		t.Fatalf("the host got %q", res)
	}
}

// TestBrowserCopyWhenClipboardRefuses copies the run's share link with a
// Clipboard API that never answers (a permission nobody is asked for) and
// with one that refuses (the page not focused): the copy goes through the
// selection, the operator is told it was copied, the keyboard stays on the
// button, and nothing is left unhandled. (With a pending API the console
// said nothing at all; with a refusing one it left an unhandled rejection.)
func TestBrowserCopyWhenClipboardRefuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []testhost.Action{hello()}, nil)
	e.login()
	e.navigate("/actions/hello")
	e.waitFocus("Your name: INPUT", "the form shown") // its autofocus done
	for _, api := range []struct{ name, writeText string }{
		{"pending", `() => new Promise(() => {})`},
		{"refusing", `() => Promise.reject(new DOMException('Document is not focused.', 'NotAllowedError'))`},
	} {
		e.do(chromedp.Evaluate[chromedp.Void](`navigator.clipboard.writeText = ` + api.writeText))
		e.do(chromedp.Click(`[data-testid=share-link]`, chromedp.NodeVisible))
		e.waitText(".toasts", "Copied to clipboard")
		if !eval[bool](e, `document.activeElement === document.querySelector("[data-testid=share-link]")`) {
			t.Fatalf("with a %s Clipboard API, the copy took the keyboard away from the share link: %s", api.name, eval[string](e, `document.activeElement.outerHTML.slice(0, 200)`))
		}
		e.waitNoText(".toasts", "Copied to clipboard")
	}
}
