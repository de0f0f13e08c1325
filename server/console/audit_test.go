package console_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserAuditLog: an admin reads the audit trail in the console: the
// login and a key created and revoked are listed; the action filter keeps
// the key events only, an unknown user email shows none; the export link
// carries the filter and downloads the selected events as JSON lines.
func TestBrowserAuditLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	e.login()
	e.waitText(".side-links", "Audit log")
	// A key created and revoked through the console API, as the settings
	// page does.
	e.waitJS(`(window.__keys = fetch('/api/console/keys', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-Interval-Console': '1'},
		body: JSON.stringify({env: 'development', label: 'ci-deploy'})}).then(r => r.json()).then(k =>
		fetch('/api/console/keys/' + k.id, {method: 'DELETE', headers: {'X-Interval-Console': '1'}})).then(r => { window.__revoked = r.status })), true`, "the key requests")
	e.waitJS(`window.__revoked === 204`, "the key to be revoked")

	e.clickButton("Audit log")
	e.waitJS(`location.pathname === '/audit'`, "the audit page")
	rows := `document.querySelectorAll('[data-testid=audit-table] tbody tr')`
	e.waitJS(`[...`+rows+`].map(r => r.dataset.action).join() === 'key.revoked,key.created,login'`, "the three events, newest first")
	e.waitText(`[data-testid=audit-table] tr[data-action="key.created"]`, "label: ci-deploy")
	e.waitText(`[data-testid=audit-table] tr[data-action="login"]`, opEmail)
	e.shot("audit-log")

	e.do(chromedp.SetValue(chromedp.CSS(`select[aria-label="Filter by action"]`), "key."))
	e.waitJS(`[...`+rows+`].map(r => r.dataset.action).join() === 'key.revoked,key.created'`, "the key events only")
	e.waitJS(`document.querySelector('[data-testid=audit-export]').getAttribute('href') === '/api/console/audit/export?action=key.'`, "the export link to carry the filter")
	e.waitJS(`(window.__export = fetch(document.querySelector('[data-testid=audit-export]').href).then(r => r.text()).then(t => {
		window.__lines = t.trim().split('\n').map(l => JSON.parse(l).action).join() })), true`, "the export")
	e.waitJS(`window.__lines === 'key.revoked,key.created'`, "the export's JSON lines")

	e.typeInto(`input[aria-label="Filter by user email"]`, "nobody@example.com\n")
	e.waitText(".page", "Nothing matches these filters.")
	e.clickButton("Clear filters")
	e.waitJS(`[...`+rows+`].length === 4`, "every event again, the export included")
	e.waitText(`[data-testid=audit-table] tr[data-action="audit.exported"]`, "action=key.")
}
