package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// slackAPI is a stand-in for Slack's Web API on loopback (Slack itself is
// not reachable from tests): the methods the server calls, with Slack's
// answer shapes (HTTP 200 and ok:false with an error code for refusals),
// bearer-token checks and paging of users.list.
type slackAPI struct {
	*httptest.Server
	token string

	mu    sync.Mutex
	posts []slackPost
	calls []string
}

type slackPost struct {
	Channel     string `json:"channel"`
	Text        string `json:"text"`
	UnfurlLinks bool   `json:"unfurl_links"`
}

func startSlackAPI(t *testing.T, token string) *slackAPI {
	t.Helper()
	s := &slackAPI{token: token}
	users := []map[string]any{
		{"id": "U1", "name": "bob", "profile": map[string]any{"display_name": "Bob", "email": "bob@example.com"}},
		{"id": "U2", "name": "alex", "profile": map[string]any{"display_name": "", "email": "member@example.com"}},
		{"id": "U3", "name": "gone", "deleted": true, "profile": map[string]any{}},
	}
	channels := map[string]bool{"#ops": true, "#general": true}
	answer := func(w http.ResponseWriter, v map[string]any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		method := strings.TrimPrefix(r.URL.Path, "/api/")
		s.mu.Lock()
		s.calls = append(s.calls, method)
		s.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+s.token {
			answer(w, map[string]any{"ok": false, "error": "invalid_auth"})
			return
		}
		switch method {
		case "users.lookupByEmail":
			for _, u := range users {
				if u["profile"].(map[string]any)["email"] == r.URL.Query().Get("email") {
					answer(w, map[string]any{"ok": true, "user": map[string]any{"id": u["id"]}})
					return
				}
			}
			answer(w, map[string]any{"ok": false, "error": "users_not_found"})
		case "users.list": // one member per page, to exercise the cursor
			i := 0
			if c := r.URL.Query().Get("cursor"); c != "" {
				i = int(c[0] - '0')
			}
			next := ""
			if i+1 < len(users) {
				next = string(rune('0' + i + 1))
			}
			answer(w, map[string]any{"ok": true, "members": users[i : i+1],
				"response_metadata": map[string]any{"next_cursor": next}})
		case "chat.postMessage":
			var p slackPost
			if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&p) != nil {
				answer(w, map[string]any{"ok": false, "error": "invalid_arguments"})
				return
			}
			if strings.HasPrefix(p.Channel, "#") && !channels[p.Channel] {
				answer(w, map[string]any{"ok": false, "error": "channel_not_found"})
				return
			}
			s.mu.Lock()
			s.posts = append(s.posts, p)
			s.mu.Unlock()
			answer(w, map[string]any{"ok": true, "channel": p.Channel, "ts": "1.2"})
		case "broken":
			http.Error(w, "upstream down", http.StatusBadGateway)
		default:
			answer(w, map[string]any{"ok": false, "error": "unknown_method"})
		}
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *slackAPI) posted() []slackPost {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]slackPost(nil), s.posts...)
}

func TestSlackDeliver(t *testing.T) {
	api := startSlackAPI(t, "xoxb-good-token")
	sl, err := newSlacker("xoxb-good-token", api.URL+"/api")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, to := range []string{"#ops", "@alex", "@Bob", "bob@example.com"} {
		if err := sl.deliver(ctx, to, "hello "+to); err != nil {
			t.Fatalf("deliver to %s: %v", to, err)
		}
	}
	got := api.posted()
	want := []string{"#ops", "U2", "U1", "U1"}
	if len(got) != len(want) {
		t.Fatalf("posts %+v", got)
	}
	for i, p := range got {
		if p.Channel != want[i] || !strings.HasPrefix(p.Text, "hello ") || p.UnfurlLinks {
			t.Errorf("post %d = %+v, want channel %s", i, p, want[i])
		}
	}

	for _, bad := range []struct{ to, want string }{
		{"#nowhere", "channel_not_found"},
		{"@nobody", "no such Slack user"},
		{"@gone", "deactivated"},
		{"carol@example.com", "users_not_found"},
	} {
		err := sl.deliver(ctx, bad.to, "x")
		if !errors.Is(err, ErrSlack) || !strings.Contains(err.Error(), bad.want) || !strings.Contains(err.Error(), bad.to) {
			t.Errorf("deliver to %s: %v, want ErrSlack naming it and %q", bad.to, err, bad.want)
		}
	}
	if n := len(api.posted()); n != len(want) {
		t.Errorf("%d posts after refusals, want %d", n, len(want))
	}

	wrong, _ := newSlacker("xoxb-revoked-secret", api.URL+"/api")
	err = wrong.deliver(ctx, "#ops", "x")
	if !errors.Is(err, ErrSlack) || !strings.Contains(err.Error(), "invalid_auth") || strings.Contains(err.Error(), "revoked-secret") {
		t.Errorf("wrong token: %v (want invalid_auth, without the token)", err)
	}
	var out struct{}
	if err := sl.call(ctx, http.MethodGet, "broken", nil, &out); err == nil || !strings.Contains(err.Error(), "502") {
		t.Errorf("HTTP error: %v", err)
	}
	down, _ := newSlacker("xoxb-t", "http://127.0.0.1:1/api/")
	dctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := down.deliver(dctx, "#ops", "x"); !errors.Is(err, ErrSlack) {
		t.Errorf("unreachable API: %v", err)
	}
}

func TestSlackOptionsAndDestinations(t *testing.T) {
	for _, bad := range []struct{ token, url string }{
		{"", ""}, {"xoxb a", ""}, {"xoxb-t", "slack.com/api"}, {"xoxb-t", "ftp://slack.com/api"},
	} {
		if _, err := newSlacker(bad.token, bad.url); !errors.Is(err, ErrSlack) {
			t.Errorf("newSlacker(%q, %q) = %v, want ErrSlack", bad.token, bad.url, err)
		}
	}
	if _, err := New(context.Background(), Options{DataDir: t.TempDir(), SlackToken: "xoxb-t", SlackAPIURL: "::"}); !errors.Is(err, ErrBadOptions) {
		t.Errorf("New with a bad Slack API URL: %v", err)
	}
	for to, ok := range map[string]bool{
		"#ops": true, "@alex": true, "bob@example.com": true,
		"ops": false, "#": false, "# ops": false, "@": false, "Bob <bob@example.com>": false, "": false,
	} {
		if got := slackDestination(to) == ""; got != ok {
			t.Errorf("slackDestination(%q) accepted = %v, want %v", to, got, ok)
		}
	}
	text := slackText("Deploy <done>", "line one\nline & two", "refund", "https://i.example.com/transactions/t1")
	want := "The *refund* action sent a notification.\n>*Deploy &lt;done&gt;*\n>line one\n>line &amp; two\n<https://i.example.com/transactions/t1|View the transaction>"
	if text != want {
		t.Errorf("slackText =\n%s\nwant\n%s", text, want)
	}
}

// Notifications with SLACK deliveries are posted by the server's Slack app;
// bad destinations and Slack's refusals are kept with a note; a console
// user named by email also finds it in the console.
func TestNotificationsToSlack(t *testing.T) {
	api := startSlackAPI(t, "xoxb-server")
	e := newEnv(t, Options{SlackToken: "xoxb-server", SlackAPIURL: api.URL + "/api/"})
	admin := e.admin()
	member := e.newUser(admin, "member@example.com", "member")
	live := admin.key("production")

	notifyOK(t, e, live, map[string]any{"title": "Refund", "message": "Refund done for bob", "deliveryInstructions": []any{
		map[string]any{"to": "#ops", "method": "SLACK"},
		map[string]any{"to": "member@example.com", "method": "SLACK"},
		map[string]any{"to": "ops", "method": "SLACK"},
		map[string]any{"to": "#nowhere", "method": "SLACK"},
	}})

	var got []slackPost
	for deadline := time.Now().Add(wait); len(got) < 2 && time.Now().Before(deadline); got = api.posted() {
		time.Sleep(20 * time.Millisecond)
	}
	if len(got) != 2 || got[0].Channel != "#ops" || got[1].Channel != "U2" {
		t.Fatalf("posts %+v, want #ops then U2", got)
	}
	if !strings.Contains(got[0].Text, ">*Refund*") || !strings.Contains(got[0].Text, ">Refund done for bob") {
		t.Errorf("text %q", got[0].Text)
	}
	// Slack's refusal is noted on its delivery once the posts are done.
	var in inbox
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if in = member.inbox(); len(in.Notifications) == 1 && len(in.Notifications[0].Deliveries) == 4 && in.Notifications[0].Deliveries[3].Note != "" {
			break
		}
	}
	if len(in.Notifications) != 1 {
		t.Fatalf("member's inbox %+v", in)
	}
	ds := in.Notifications[0].Deliveries
	if len(ds) != 4 || ds[0].Note != "" || ds[1].Note != "" || !strings.HasPrefix(ds[2].Note, "not delivered: must be a Slack channel") ||
		!strings.HasPrefix(ds[3].Note, "not delivered: ") || !strings.Contains(ds[3].Note, "channel_not_found") {
		t.Fatalf("deliveries %+v", ds)
	}
}
