package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"
)

// ErrSlack is wrapped by every error of Slack delivery: a bad token or
// API URL in Options, an unknown destination, or Slack refusing a message.
var ErrSlack = errors.New("server: slack")

// DefaultSlackAPIURL is Slack's Web API, used when Options.SlackAPIURL is
// empty.
const DefaultSlackAPIURL = "https://slack.com/api/"

// slacker posts notifications with a Slack app's bot token (scopes
// chat:write, users:read and users:read.email; chat:write.public to post in
// public channels the app was not added to).
type slacker struct {
	token  string
	api    *url.URL
	client *http.Client
}

func newSlacker(token, apiURL string) (*slacker, error) {
	token = strings.TrimSpace(token)
	if token == "" || strings.ContainsAny(token, " \r\n") {
		return nil, fmt.Errorf("%w: the token must be a Slack bot token (xoxb-…)", ErrSlack)
	}
	if apiURL == "" {
		apiURL = DefaultSlackAPIURL
	}
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%w: API URL %q must be an absolute http(s) URL", ErrSlack, apiURL)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return &slacker{token: token, api: u, client: &http.Client{Timeout: 30 * time.Second}}, nil
}

// slackDestination checks a SLACK delivery's "to": a channel ("#ops"), a
// Slack user name ("@alex") or the email address of a workspace member,
// as in Interval. It returns a message for the host, or "".
func slackDestination(to string) string {
	switch {
	case strings.HasPrefix(to, "#") && len(to) > 1 && !strings.ContainsAny(to, " \t"):
	case strings.HasPrefix(to, "@") && len(to) > 1 && !strings.ContainsAny(to, " \t"):
	default:
		if a, err := mail.ParseAddress(to); err != nil || a.Address != to {
			return "must be a Slack channel (#name), a Slack user (@name) or an email address"
		}
	}
	return ""
}

// deliver posts text to a destination slackDestination accepted.
func (s *slacker) deliver(ctx context.Context, to, text string) error {
	channel, err := s.resolve(ctx, to)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrSlack, to, err)
	}
	var posted struct{}
	if err := s.call(ctx, http.MethodPost, "chat.postMessage", map[string]any{
		"channel": channel, "text": text, "unfurl_links": false, "unfurl_media": false,
	}, &posted); err != nil {
		return fmt.Errorf("%w: posting to %s: %w", ErrSlack, to, err)
	}
	return nil
}

// resolve turns a destination into what chat.postMessage takes: channel
// names as they are (Slack resolves them; chat:write.public covers channels
// the app is not in), user names and emails into user IDs (a post to a user
// ID arrives as a direct message from the app).
func (s *slacker) resolve(ctx context.Context, to string) (string, error) {
	switch {
	case strings.HasPrefix(to, "#"):
		return to, nil
	case strings.HasPrefix(to, "@"):
		return s.userByName(ctx, to[1:])
	}
	var found struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := s.call(ctx, http.MethodGet, "users.lookupByEmail", map[string]any{"email": to}, &found); err != nil {
		return "", err
	}
	if found.User.ID == "" {
		return "", errors.New("no Slack user has this email")
	}
	return found.User.ID, nil
}

// userByName pages through users.list for a member named name (the
// handle, or the display name people type after @).
func (s *slacker) userByName(ctx context.Context, name string) (string, error) {
	cursor := ""
	for range 100 { // 100 pages of 200: a bound, not a workspace limit in practice
		var page struct {
			Members []struct {
				ID      string `json:"id"`
				Name    string `json:"name"`
				Deleted bool   `json:"deleted"`
				Profile struct {
					DisplayName string `json:"display_name"`
				} `json:"profile"`
			} `json:"members"`
			Meta struct {
				NextCursor string `json:"next_cursor"`
			} `json:"response_metadata"`
		}
		params := map[string]any{"limit": "200"}
		if cursor != "" {
			params["cursor"] = cursor
		}
		if err := s.call(ctx, http.MethodGet, "users.list", params, &page); err != nil {
			return "", err
		}
		for _, m := range page.Members {
			if m.Name == name || (m.Profile.DisplayName != "" && m.Profile.DisplayName == name) {
				if m.Deleted {
					return "", errors.New("this Slack user was deactivated")
				}
				return m.ID, nil
			}
		}
		if cursor = page.Meta.NextCursor; cursor == "" {
			break
		}
	}
	return "", errors.New("no such Slack user in the workspace")
}

// call makes one Web API call: GET with query parameters or POST with a
// JSON body, the bot token as bearer. Slack answers 200 with ok:false and
// an error code for refusals; the code becomes the error.
func (s *slacker) call(ctx context.Context, httpMethod, apiMethod string, params map[string]any, out any) error {
	u := s.api.JoinPath(apiMethod)
	var body io.Reader
	if httpMethod == http.MethodGet {
		q := url.Values{}
		for k, v := range params {
			q.Set(k, fmt.Sprint(v))
		}
		u.RawQuery = q.Encode()
	} else {
		b, err := json.Marshal(params)
		if err != nil {
			return err
		}
		body = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, httpMethod, u.String(), body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", apiMethod, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("%s: %w", apiMethod, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %s", apiMethod, resp.Status)
	}
	var status struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(raw, &status); err != nil {
		return fmt.Errorf("%s: not a Slack API answer: %w", apiMethod, err)
	}
	if !status.OK {
		if status.Error == "" {
			status.Error = "unknown error"
		}
		return fmt.Errorf("%s: %s", apiMethod, status.Error)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s: %w", apiMethod, err)
	}
	return nil
}

// slackText formats a notification as Slack mrkdwn: the title in bold and
// the message quoted, with a link to the transaction when the server knows
// its public URL. Slack's control characters in the host's text are
// escaped.
func slackText(title, message, actionName, txURL string) string {
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	var b strings.Builder
	if actionName != "" {
		fmt.Fprintf(&b, "The *%s* action sent a notification.\n", esc.Replace(actionName))
	}
	if title != "" {
		fmt.Fprintf(&b, ">*%s*\n", esc.Replace(title))
	}
	for _, line := range strings.Split(message, "\n") {
		fmt.Fprintf(&b, ">%s\n", esc.Replace(line))
	}
	if txURL != "" {
		fmt.Fprintf(&b, "<%s|View the transaction>", txURL)
	}
	return strings.TrimRight(b.String(), "\n")
}
