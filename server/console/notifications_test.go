package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/interval-go/sdk/server/console/internal/testhost"
)

// notify sends a notification with the env's development key (POST
// /api/notify); without delivery instructions it reaches the key's owner,
// the operator.
func (e *env) notify(body string) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.url+"/api/notify", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("notify: %s", resp.Status)
	}
}

// TestBrowserNotifications shows notifications a host sent the operator:
// the bell's unread count, the Notifications page (messages as text, never
// HTML), mark as read and mark all as read.
func TestBrowserNotifications(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []testhost.Action{hello()}, nil)
	e.login()
	e.waitJS(`document.querySelector("[data-testid=notification-bell]") && !document.querySelector("[data-testid=notification-count]")`, "a bell without a count")
	e.clickButton("Notifications")
	e.waitText(".empty", "No notifications")
	e.shot("notifications-empty")

	e.notify(`{"message":"The nightly export finished: 1,204 rows.","title":"Export done","deliveryInstructions":[],"createdAt":"2026-01-01T00:00:00Z"}`)
	e.notify(`{"message":"<img src=x onerror=\"window.__pwned=1\"><b>Refund</b> of $42 to cus_42 is waiting for approval.\nSecond line.","title":"Refund <i>pending</i>","deliveryInstructions":[{"to":"#payments","method":"SLACK"},{"to":"` + opEmail + `"}],"idempotencyKey":"refund-42","createdAt":"2026-01-01T00:00:01Z"}`)
	e.notify(`{"message":"duplicate","title":"Refund","deliveryInstructions":[],"idempotencyKey":"refund-42","createdAt":"2026-01-01T00:00:02Z"}`)
	// A new page load fetches the count (then every 30 s).
	e.navigate("/")
	e.waitText("[data-testid=notification-count]", "2")
	e.clickButton("Notifications")
	e.waitText("[data-testid=notifications]", "Export done")
	if n := eval[int](e, `document.querySelectorAll("[data-testid=notification]").length`); n != 2 {
		t.Fatalf("%d notifications listed, want 2 (the duplicate key is dropped)", n)
	}
	first := e.text("[data-testid=notification]")
	if !contains(first, "Refund <i>pending</i>") || !contains(first, `<img src=x onerror="window.__pwned=1"><b>Refund</b> of $42`) {
		t.Fatalf("newest notification, as text: %q", first)
	}
	if eval[bool](e, `!!document.querySelector(".notif img, .notif b, .notif i") || window.__pwned === 1`) {
		t.Fatal("a notification's HTML was rendered")
	}
	// The host's key is a development key: its notifications reach its
	// owner only, never Slack.
	if !contains(first, "Not delivered to #payments by Slack: a development key's notifications go to its owner only") {
		t.Fatalf("the Slack delivery's note is missing: %q", first)
	}
	e.shot("notifications")
	e.shotDark("notifications")

	// Mark one as read: the bell counts one.
	e.waitJS(`(() => { const b = document.querySelector("[data-testid=notification] .notif-read"); if (!b) return false; b.click(); return true })()`, "the first Mark as read")
	e.waitText("[data-testid=notification-count]", "1")
	if n := eval[int](e, `document.querySelectorAll(".notif-unread").length`); n != 1 {
		t.Fatalf("%d unread on the page, want 1", n)
	}
	// Mark all: no count, nothing unread, and still so after a reload.
	e.clickButton("Mark all as read")
	e.waitJS(`!document.querySelector("[data-testid=notification-count]") && !document.querySelector(".notif-unread")`, "everything read")
	e.navigate("/")
	e.waitText(".brand-name", "Acme Corp")
	e.clickButton("Notifications")
	e.waitText("[data-testid=notifications]", "Export done")
	if eval[bool](e, `!!document.querySelector("[data-testid=notification-count], .notif-unread")`) {
		t.Fatal("unread again after a reload")
	}
	e.shot("notifications-read")
}
