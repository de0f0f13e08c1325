package server

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/router"
	"github.com/interval-go/sdk/server/store"
)

type inbox struct {
	Notifications []notificationJSON
	Unread        int
	HasMore       bool
}

func (c *client) inbox() inbox {
	c.t.Helper()
	var out inbox
	c.do("GET", "/api/console/notifications", nil, http.StatusOK, &out)
	return out
}

func (c *client) unread() int {
	c.t.Helper()
	var out struct{ Unread int }
	c.do("GET", "/api/console/notifications/unread", nil, http.StatusOK, &out)
	return out.Unread
}

func notifyOK(t *testing.T, e *env, key string, body map[string]any) {
	t.Helper()
	if _, ok := body["deliveryInstructions"]; !ok {
		body["deliveryInstructions"] = []any{}
	}
	body["createdAt"] = time.Now().UTC().Format(protocol.JSTimeLayout)
	if code, out := hostAPI(t, e, key, "/api/notify", body); code != http.StatusOK || out["type"] != "success" {
		t.Fatalf("notify %v: HTTP %d %v", body, code, out)
	}
}

func messages(in inbox) []string {
	out := []string{}
	for _, n := range in.Notifications {
		out = append(out, n.Message)
	}
	return out
}

func TestNotificationsInbox(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	admin2 := e.newUser(admin, "admin2@example.com", "admin")
	member := e.newUser(admin, "member@example.com", "member")
	dev := e.newUser(admin, "dev@example.com", "developer")
	live := admin.key("production")
	devKey := dev.key("development")

	// Live key, no transaction, no instructions: every admin.
	notifyOK(t, e, live, map[string]any{"message": "to admins", "title": "Deploy"})
	for _, c := range []*client{admin, admin2} {
		if in := c.inbox(); in.Unread != 1 || len(in.Notifications) != 1 || in.Notifications[0].Title != "Deploy" || in.Notifications[0].Env != "production" {
			t.Fatalf("%s: %+v", c.email, in)
		}
	}
	for _, c := range []*client{member, dev} {
		if in := c.inbox(); in.Unread != 0 || len(in.Notifications) != 0 {
			t.Fatalf("%s sees an admins' notification: %+v", c.email, in)
		}
	}

	// Instructions: users by email (any case); the rest stored with a note.
	html := `<img src=x onerror="alert(1)"><b>bold</b> & done`
	notifyOK(t, e, live, map[string]any{"message": html, "deliveryInstructions": []any{
		map[string]any{"to": "MEMBER@example.com", "method": "EMAIL"},
		map[string]any{"to": "nobody@example.com"},
		map[string]any{"to": "#ops", "method": "SLACK"},
	}})
	in := member.inbox()
	if len(in.Notifications) != 1 || in.Notifications[0].Message != html {
		t.Fatalf("member: %+v", in)
	}
	ds := in.Notifications[0].Deliveries
	if len(ds) != 3 || ds[0].Note != "" || ds[1].Method != "EMAIL" || ds[1].Note != noteNoMail || ds[2].Note != noteNoSlack {
		t.Fatalf("deliveries %+v", ds)
	}
	if len(admin.inbox().Notifications) != 1 || len(dev.inbox().Notifications) != 0 {
		t.Fatal("a notification to the member reached others")
	}
	// The HTML comes back as a JSON string, byte for byte, never as markup.
	req, _ := http.NewRequest("GET", e.hs.URL+"/api/console/notifications", nil)
	resp, err := member.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q", ct)
	}

	// Development key outside a transaction: its owner only.
	notifyOK(t, e, devKey, map[string]any{"message": "dev only"})
	if got := messages(dev.inbox()); len(got) != 1 || got[0] != "dev only" {
		t.Fatalf("dev: %v", got)
	}
	if len(admin.inbox().Notifications) != 1 {
		t.Fatal("a development notification reached the admin")
	}

	// Idempotency key: once per environment.
	for range 2 {
		notifyOK(t, e, live, map[string]any{"message": "once", "idempotencyKey": "k-1",
			"deliveryInstructions": []any{map[string]any{"to": "dev@example.com"}}})
	}
	notifyOK(t, e, devKey, map[string]any{"message": "once in dev", "idempotencyKey": "k-1"})
	if got := messages(dev.inbox()); len(got) != 3 || got[0] != "once in dev" || got[1] != "once" || got[2] != "dev only" {
		t.Fatalf("dedup: %v", got)
	}

	// In a transaction, without instructions: the user running it, linked.
	h := e.host(live, "", action("refund"))
	txID := member.createTx("refund", "production")
	notifyOK(t, e, live, map[string]any{"message": "refund done", "transactionId": txID})
	in = member.inbox()
	if n := in.Notifications[0]; n.Message != "refund done" || n.TransactionID != txID || n.ActionSlug != "refund" || in.Unread != 2 {
		t.Fatalf("in a transaction: %+v", in)
	}
	if got := messages(admin.inbox()); len(got) != 1 {
		t.Fatalf("admin got the runner's notification: %v", got)
	}
	// The same over the host's socket (NOTIFY).
	var ok bool
	if err := h.call(protocol.MethodNotify, protocol.NotifyInputs{TransactionID: txID, Message: "over rpc",
		DeliveryInstructions: []protocol.DeliveryInstruction{}, CreatedAt: time.Now().UTC().Format(protocol.JSTimeLayout)}, &ok); err != nil || !ok {
		t.Fatalf("NOTIFY: %v %v", err, ok)
	}
	if got := messages(member.inbox()); got[0] != "over rpc" {
		t.Fatalf("after NOTIFY: %v", got)
	}
	if err := h.call(protocol.MethodNotify, protocol.NotifyInputs{TransactionID: "nope", Message: "x"}, &ok); err != nil || ok {
		t.Fatalf("NOTIFY on an unknown transaction: %v %v", err, ok)
	}

	// A Go host's client.Notify.
	r := router.New()
	r.Action("unused", func(ctx context.Context, tx *interval.Tx) (any, error) { return nil, nil })
	c, err := interval.New(interval.Options{Endpoint: e.wsURL(), APIKey: live, Routes: r, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Notify(context.Background(), interval.Notification{Message: "from Go", Title: "SDK",
		Deliveries: []interval.Delivery{{To: "admin2@example.com", Method: "EMAIL"}}}); err != nil {
		t.Fatal(err)
	}
	if got := messages(admin2.inbox()); len(got) != 2 || got[0] != "from Go" {
		t.Fatalf("admin2: %v", got)
	}
	if err := c.Notify(context.Background(), interval.Notification{Message: "x",
		Deliveries: []interval.Delivery{{To: "a@example.com", Method: "FAX"}}}); err == nil || !strings.Contains(err.Error(), "EMAIL or SLACK") {
		t.Fatalf("bad method through the SDK: %v", err)
	}

	// Bad input: a clear error, nothing stored.
	for _, bad := range []struct {
		key    string
		body   map[string]any
		status int
		msg    string
	}{
		{live, map[string]any{"deliveryInstructions": []any{}}, 400, "message is required."},
		{live, map[string]any{"message": "  ", "deliveryInstructions": []any{}}, 400, "message is required."},
		{live, map[string]any{"message": "x"}, 400, "deliveryInstructions are required"},
		{live, map[string]any{"message": "x", "deliveryInstructions": []any{map[string]any{"to": ""}}}, 400, "deliveryInstructions[0].to is required."},
		{live, map[string]any{"message": "x", "transactionId": "nope", "deliveryInstructions": []any{}}, 404, "Transaction not found."},
		{devKey, map[string]any{"message": "x", "transactionId": txID, "deliveryInstructions": []any{}}, 404, "Transaction not found."},
		{live, map[string]any{"message": strings.Repeat("x", maxNotifyMessage+1), "deliveryInstructions": []any{}}, 400, "at most"},
	} {
		code, out := hostAPI(t, e, bad.key, "/api/notify", bad.body)
		if msg, _ := out["message"].(string); code != bad.status || out["type"] != "error" || !strings.Contains(msg, bad.msg) {
			t.Errorf("%v: HTTP %d %v, want %d %q", bad.body["transactionId"], code, out, bad.status, bad.msg)
		}
	}
	if got := messages(member.inbox()); len(got) != 3 {
		t.Fatalf("bad input stored something: %v", got)
	}

	// Mark read: one, then all; only one's own.
	in = member.inbox()
	first := in.Notifications[0].ID
	adminsOwn := admin.inbox().Notifications[0].ID
	if code := member.try("POST", "/api/console/notifications/"+adminsOwn+"/read", nil, nil); code != http.StatusNotFound {
		t.Fatalf("marking someone else's: HTTP %d", code)
	}
	if admin.unread() != 1 {
		t.Fatal("the member's attempt marked the admin's notification")
	}
	member.do("POST", "/api/console/notifications/"+first+"/read", nil, http.StatusNoContent, nil)
	if in = member.inbox(); in.Unread != 2 || in.Notifications[0].ReadAt == nil || in.Notifications[1].ReadAt != nil {
		t.Fatalf("after read: %+v", in)
	}
	if code := member.try("POST", "/api/console/notifications/"+first+"/read", nil, nil); code != http.StatusNoContent {
		t.Fatalf("reading twice: HTTP %d", code)
	}
	var marked struct{ Marked int }
	member.do("POST", "/api/console/notifications/read-all", nil, http.StatusOK, &marked)
	if marked.Marked != 2 || member.unread() != 0 || admin.unread() != 1 {
		t.Fatalf("read-all: %d, member %d, admin %d", marked.Marked, member.unread(), admin.unread())
	}
	// Paging.
	var page inbox
	dev.do("GET", "/api/console/notifications?limit=2", nil, http.StatusOK, &page)
	if len(page.Notifications) != 2 || !page.HasMore {
		t.Fatalf("page 1: %+v", page)
	}
	dev.do("GET", "/api/console/notifications?offset=2&limit=2", nil, http.StatusOK, &page)
	if len(page.Notifications) != 1 || page.HasMore || page.Notifications[0].Message != "dev only" {
		t.Fatalf("page 2: %+v", page)
	}
	if code := dev.try("GET", "/api/console/notifications?limit=0", nil, nil); code != http.StatusBadRequest {
		t.Fatalf("limit=0: HTTP %d", code)
	}
	// Logged out: refused; state changes need the console header.
	if code, _ := hostAPI(t, e, "", "/api/console/notifications/read-all", nil); code != http.StatusForbidden {
		t.Fatalf("read-all without the console header: HTTP %d", code)
	}
}

// A development run is its developer's own: another developer's key
// cannot notify on it (the toast would show in that run), while its own
// developer's key can.
func TestNotifyOnAnotherDevelopersRunRefused(t *testing.T) {
	e := newEnv(t, Options{})
	admin := e.admin()
	h := e.host(admin.key(store.EnvDevelopment), "", action("job"))
	b := admin.browser()
	id := admin.startRun(b, h, "job", store.EnvDevelopment)
	other := e.newUser(admin, "dev2@example.com", store.RoleDeveloper)
	body := map[string]any{"message": "hi", "transactionId": id, "deliveryInstructions": []any{}, "createdAt": "2026-01-01T00:00:00Z"}
	if code, out := hostAPI(t, e, other.key(store.EnvDevelopment), "/api/notify", body); code != http.StatusNotFound {
		t.Fatalf("another developer's key: HTTP %d %v", code, out)
	}
	if code, out := hostAPI(t, e, admin.key(store.EnvDevelopment), "/api/notify", body); code != http.StatusOK {
		t.Fatalf("the developer's own key: HTTP %d %v", code, out)
	}
	var n protocol.ClientNotifyInputs
	b.next(protocol.MethodClientNotify).decode(t, &n)
	if n.TransactionID != id || n.Message != "hi" {
		t.Fatalf("NOTIFY %+v", n)
	}
}

// A development key's notification goes to its owner only, as its runs
// do: instructions naming other users, other addresses or Slack reach
// nobody else (kept with a note saying why), and mail goes to the owner
// alone; a live key's notification still reaches everyone it names.
func TestDevelopmentNotificationsOwnerOnly(t *testing.T) {
	sink := startSMTP(t, "", "")
	api := startSlackAPI(t, "xoxb-server")
	e := newEnv(t, Options{SMTPURL: "smtp://" + sink.addr, SMTPFrom: "Interval <interval@example.com>",
		SlackToken: "xoxb-server", SlackAPIURL: api.URL + "/api/"})
	admin := e.admin()
	member := e.newUser(admin, "member@example.com", "member")
	dev := e.newUser(admin, "dev@example.com", "developer")
	devKey := dev.key("development")

	notifyOK(t, e, devKey, map[string]any{"title": "Urgent", "message": "click here", "deliveryInstructions": []any{
		map[string]any{"to": "member@example.com", "method": "EMAIL"},
		map[string]any{"to": "admin@localhost"},
		map[string]any{"to": "DEV@example.com", "method": "EMAIL"},
		map[string]any{"to": "outside@example.org"},
		map[string]any{"to": "#ops", "method": "SLACK"},
	}})
	for _, c := range []*client{member, admin} {
		if in := c.inbox(); len(in.Notifications) != 0 || in.Unread != 0 {
			t.Fatalf("%s got a development key's notification: %+v", c.email, in)
		}
	}
	in := dev.inbox()
	if len(in.Notifications) != 1 || in.Notifications[0].Message != "click here" {
		t.Fatalf("owner's inbox %+v", in)
	}
	ds := in.Notifications[0].Deliveries
	if len(ds) != 5 || ds[2].Note != "" {
		t.Fatalf("deliveries %+v", ds)
	}
	for _, i := range []int{0, 1, 3, 4} {
		if ds[i].Note != noteDevOnly {
			t.Fatalf("delivery %d to %s: note %q, want %q", i, ds[i].To, ds[i].Note, noteDevOnly)
		}
	}
	var mails []sunkMail
	for deadline := time.Now().Add(wait); len(mails) < 1 && time.Now().Before(deadline); mails = sink.mails() {
		time.Sleep(20 * time.Millisecond)
	}
	if len(mails) != 1 || strings.Join(mails[0].to, ",") != "dev@example.com" {
		t.Fatalf("mails %+v, want one to dev@example.com", mails)
	}

	// A live key's notification after it is posted to Slack; the
	// development one never was.
	notifyOK(t, e, admin.key("production"), map[string]any{"message": "deployed", "deliveryInstructions": []any{
		map[string]any{"to": "#general", "method": "SLACK"},
		map[string]any{"to": "member@example.com"},
	}})
	var posts []slackPost
	for deadline := time.Now().Add(wait); len(posts) < 1 && time.Now().Before(deadline); posts = api.posted() {
		time.Sleep(20 * time.Millisecond)
	}
	if len(posts) != 1 || posts[0].Channel != "#general" {
		t.Fatalf("Slack posts %+v, want only the live key's to #general", posts)
	}
	if got := messages(member.inbox()); len(got) != 1 || got[0] != "deployed" {
		t.Fatalf("member's inbox %v", got)
	}
}
