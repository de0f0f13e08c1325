package console_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/interval-go/sdk/server/console/internal/testhost"
)

// TestBrowserAccounts creates an API key (shown once) and revokes it, adds
// a team and a user (who gets a one-time login link) and changes the
// operator's password.
func TestBrowserAccounts(t *testing.T) {
	t.Parallel()
	e := newEnvWithPassword(t, nil, nil)
	e.login()

	e.clickAccountMenu()
	e.clickButton("API keys")
	e.waitText("h1", "Settings")
	e.waitText(".empty", "No API keys yet")
	e.typeInto("#key-label", "CI runner")
	e.clickButton("Create key")
	e.waitText(".modal", "only time it is shown")
	key := e.text("[data-testid=secret]")
	if !strings.Contains(key, "dev") || len(key) < 20 {
		t.Errorf("shown key %q does not look like a development key", key)
	}
	// It says how a host connects: the endpoint and the key, as variables.
	conn := e.text("[data-testid=connect-env]")
	endpoint, _, _ := strings.Cut(strings.TrimPrefix(conn, "INTERVAL_ENDPOINT="), "\n")
	if want := "ws" + strings.TrimPrefix(e.url, "http") + "/websocket"; endpoint != want || !strings.Contains(conn, "INTERVAL_API_KEY="+key) {
		t.Errorf("connection help = %q, want INTERVAL_ENDPOINT=%s and INTERVAL_API_KEY=%s", conn, want, key)
	}
	e.clickButton("Done")
	e.waitText("[data-testid=keys-table]", "CI runner")
	if txt := e.text("[data-testid=keys-table]"); strings.Contains(txt, key) {
		t.Errorf("the key is shown again after creation:\n%s", txt)
	}
	// The key works: a host connects with it.
	h, err := testhost.Start(context.Background(), testhost.Options{Endpoint: endpoint, APIKey: key,
		Actions: []testhost.Action{hello()}})
	if err != nil {
		t.Fatalf("host with the new key: %v", err)
	}
	h.Close()
	e.shot("api-keys")
	e.do(chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`))
	e.clickButton("Revoke")
	e.waitText("[data-testid=keys-table]", "Revoked")

	e.clickButton("Users and teams")
	e.waitText("[data-testid=users-table]", opEmail)
	e.typeInto("#team-name", "Support")
	e.clickButton("Add team")
	e.waitText(".team-list", "Support")
	e.clickButton("Add user")
	// The role select's arrow is inside its box, not at the far edge of the form.
	e.waitJS(`(() => { const s = document.querySelector("#u-role").getBoundingClientRect(), i = document.querySelector("#u-role + .icon").getBoundingClientRect(); return i.left >= s.left && i.right <= s.right })()`, "the role select's arrow inside the select")
	e.typeInto("#u-email", "grace@example.com")
	e.typeInto("#u-first", "Grace")
	e.typeInto("#u-last", "Hopper")
	e.do(chromedp.SetValue(chromedp.CSS("#u-role"), "developer"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#u-role').dispatchEvent(new Event('change', {bubbles: true}))`))
	e.do(chromedp.Click(`//fieldset//label[.//span[normalize-space(.)="Support"]]//input`, chromedp.NodeVisible))
	e.do(chromedp.Click(`//div[@class="modal"]//button[normalize-space(.)="Add user"]`, chromedp.NodeVisible))
	e.waitText(".modal", "One-time login link")
	if link := e.text("[data-testid=secret]"); !strings.Contains(link, "/login/link?token=") {
		t.Errorf("login link %q", link)
	}
	graceLink := e.text("[data-testid=secret]")
	e.clickButton("Done")
	e.waitText("[data-testid=users-table]", "Grace Hopper")
	e.waitText("[data-testid=users-table]", "developer")
	e.waitText("[data-testid=users-table]", "support")
	e.shot("users")

	e.clickButton("Account")
	e.waitText(".card", opEmail)
	e.typeInto("#pw1", "new-password-42")
	e.typeInto("#pw2", "new-password-42")
	e.clickButton("Save password")
	e.waitText(".toasts", "Your password was saved.")

	// The new password works.
	e.clickAccountMenu()
	e.clickButton("Log out")
	e.waitText("h1", "Welcome back")
	e.typeInto("#login-email", opEmail)
	e.typeInto("#login-password", "new-password-42")
	e.clickButton("Log in")
	e.waitText(".brand-name", "Acme Corp")

	// Grace's one-time link logs her in and invites her to set a password.
	e.clickAccountMenu()
	e.clickButton("Log out")
	e.waitText("h1", "Welcome back")
	e.do(chromedp.Navigate(graceLink))
	e.waitText("[data-testid=set-password-note]", "Set a password")
	e.do(chromedp.Click(`[data-testid=set-password-note] a`, chromedp.NodeVisible))
	e.waitText("h2", "Set a password")
	e.clickAccountMenu()
	e.waitText("[data-testid=user-name]", "Grace Hopper")
}

// TestBrowserHostReconnect drops the host while a form waits: the operator
// sees that the host is reconnecting, then gets the form back and finishes.
func TestBrowserHostReconnect(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []testhost.Action{hello()}, nil)
	e.login()
	e.navigate("/actions/hello")
	e.typeInto(field("Your name", "input"), "Ada")
	e.host.Drop()
	e.waitText("[data-testid=host-reconnecting]", "The host disconnected")
	e.waitJS(`document.querySelector(`+js(field("Your name", "input"))+`).disabled`, "the form disabled")
	e.shot("host-reconnecting")
	if err := e.host.Reconnect(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.waitJS(`!document.querySelector("[data-testid=host-reconnecting]")`, "the notice to go")
	e.waitJS(`!document.querySelector(`+js(field("Your name", "input"))+`).disabled`, "the form back")
	if v := eval[string](e, `document.querySelector(`+js(field("Your name", "input"))+`).value`); v != "Ada" {
		t.Errorf("typed value after reconnect = %q, want it kept", v)
	}
	e.clickButton("Continue")
	e.waitText("[data-testid=result]", "Hello, Ada!")
}

// TestBrowserHostRestartSaysTheTruth: the host process running a run is
// killed and a new one starts. The console does not promise that the run
// continues: it says a new process cannot continue it, when it fails, and
// offers to start it again, which runs on the new process.
func TestBrowserHostRestartSaysTheTruth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []testhost.Action{hello()}, nil)
	e.acceptDialogs() // "Start over?" is answered yes
	e.login()
	e.navigate("/actions/hello?customer=cus_42")
	e.typeInto(field("Your name", "input"), "Ada")
	e.host.Close() // the process dies
	e.waitText("[data-testid=host-reconnecting]", "The host disconnected")
	e.waitText("[data-testid=host-reconnecting]", "It fails at")

	h2, err := testhost.Start(context.Background(), testhost.Options{Endpoint: "ws" + strings.TrimPrefix(e.url, "http") + "/websocket", APIKey: e.key, Actions: []testhost.Action{hello()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h2.Close)
	e.waitText("[data-testid=host-reconnecting]", "This run cannot continue")
	if got := e.text("[data-testid=host-reconnecting]"); contains(got, "continue where it left off") {
		t.Fatalf("the notice still promises the run goes on: %q", got)
	}
	e.waitText("[data-testid=host-status]", "1 host online")
	e.shot("host-restarted")
	e.do(chromedp.Click(`[data-testid=start-again]`, chromedp.NodeVisible))
	e.waitFocus("Your name: INPUT", "the new run's first field")
	if !strings.HasSuffix(eval[string](e, `location.href`), "/actions/hello?customer=cus_42") {
		t.Fatalf("started again at %s, want the same parameters", eval[string](e, `location.href`))
	}
	e.keys("Grace")
	e.keys(kb.Enter)
	e.waitText("[data-testid=result]", "Hello, Grace!")
}
