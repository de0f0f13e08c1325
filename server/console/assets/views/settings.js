// Settings: account password, API keys (admins, developers), users and teams
// and serverless hosts (admins).
import { useEffect, useState } from 'preact/hooks'
import { html, classes } from '../lib/html.js'
import { api } from '../lib/api.js'
import { store, useStore, toast } from '../lib/store.js'
import { fmtRelative, fmtDateTime } from '../lib/format.js'
import { copyText } from '../lib/clipboard.js'
import { Icon, Spinner, Empty, ErrorBox, Badge, Modal } from '../lib/ui.js'

function Tabs({ tab, role }) {
  const tabs = [['account', 'Account', 'user']]
  if (role === 'admin' || role === 'developer') tabs.push(['keys', 'API keys', 'key'])
  if (role === 'admin') tabs.push(['users', 'Users and teams', 'users'], ['hosts', 'Serverless hosts', 'plug'])
  return html`<nav class="tabs" aria-label="Settings">${tabs.map(([k, l, i]) => html`<a class=${classes('tab', tab === k && 'active')} href=${`/settings/${k}`} aria-current=${tab === k ? 'page' : undefined}><${Icon} name=${i} />${l}</a>`)}</nav>`
}

export function SettingsView({ tab }) {
  const s = useStore()
  const role = s.me.user.role
  useEffect(() => { document.title = 'Settings · Interval' }, [tab])
  let body
  if (tab === 'keys') body = role === 'member' ? html`<${ErrorBox} title="Developers only" message="Ask an admin for the developer role to create API keys." />` : html`<${KeysTab} />`
  else if (tab === 'users') body = role !== 'admin' ? html`<${ErrorBox} title="Admins only" message="Only admins can manage users and teams." />` : html`<${UsersTab} me=${s.me.user} />`
  else if (tab === 'hosts') body = role !== 'admin' ? html`<${ErrorBox} title="Admins only" message="Only admins can manage serverless hosts." />` : html`<${HTTPHostsTab} />`
  else body = html`<${AccountTab} me=${s.me} />`
  return html`<div class="page"><div class="page-head"><div><h1 class="page-title">Settings</h1></div></div><${Tabs} tab=${tab} role=${role} />${body}</div>`
}

function AccountTab({ me }) {
  const u = me.user
  const [pw, setPw] = useState('')
  const [pw2, setPw2] = useState('')
  const [err, setErr] = useState(null)
  const [busy, setBusy] = useState(false)
  const save = async e => {
    e.preventDefault()
    if (pw.length < 8) { setErr('Use at least 8 characters.'); return }
    if (pw !== pw2) { setErr('The two passwords differ.'); return }
    setBusy(true); setErr(null)
    try {
      await api('POST', '/api/auth/password', { password: pw })
      // The user has a password now (the card's title, the log-out warning).
      if (store.state.me) store.set({ me: { ...store.state.me, user: { ...store.state.me.user, hasPassword: true } } })
      setPw(''); setPw2('')
      toast('Your password was saved.', { kind: 'success' })
    } catch (x) { setErr(x.message) } finally { setBusy(false) }
  }
  return html`<div class="settings-grid">
    <section class="card">
      <h2 class="section-title">Profile</h2>
      <dl class="kv">
        <div class="kv-row"><dt>Name</dt><dd>${[u.firstName, u.lastName].filter(Boolean).join(' ') || '—'}</dd></div>
        <div class="kv-row"><dt>Email</dt><dd>${u.email}</dd></div>
        <div class="kv-row"><dt>Role</dt><dd>${u.role}</dd></div>
        <div class="kv-row"><dt>Teams</dt><dd>${(u.teams || []).join(', ') || '—'}</dd></div>
        <div class="kv-row"><dt>Organization</dt><dd>${(me.organization || {}).name}</dd></div>
      </dl>
    </section>
    <section class="card">
      <h2 class="section-title">${u.hasPassword === false ? 'Set a password' : 'Change password'}</h2>
      ${u.hasPassword === false && html`<p class="muted">You logged in with a one-time link. Set a password to log in again later.</p>`}
      <form class="stack" onSubmit=${save}>
        <label class="field-label" for="pw1">New password</label>
        <input id="pw1" class="input" type="password" autocomplete="new-password" minLength="8" value=${pw} onInput=${e => setPw(e.currentTarget.value)} />
        <div class="help">At least 8 characters.</div>
        <label class="field-label" for="pw2">Repeat the password</label>
        <input id="pw2" class="input" type="password" autocomplete="new-password" value=${pw2} onInput=${e => setPw2(e.currentTarget.value)} />
        ${err && html`<div class="field-error" role="alert">${err}</div>`}
        <div><button type="submit" class="btn btn-primary" disabled=${busy || !pw}>Save password</button></div>
      </form>
    </section>
  </div>`
}

function SecretOnce({ title, secret, note, onClose, children }) {
  return html`<${Modal} title=${title} onClose=${onClose} labelledBy="secret-title" footer=${html`<button type="button" class="btn btn-primary" onClick=${onClose}>Done</button>`}>
    <p>${note}</p>
    <div class="secret"><code data-testid="secret">${secret}</code><button type="button" class="btn btn-secondary btn-sm" onClick=${() => copyText(secret)}><${Icon} name="copy" />Copy</button></div>
    ${children}
  </${Modal}>`
}

/** hostEndpoint is this server's websocket URL for hosts, as the browser reaches it. */
export function hostEndpoint() {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/websocket`
}

/** ConnectHost tells how a host connects with a new key: the SDKs read these variables. */
function ConnectHost({ apiKey }) {
  const env = `INTERVAL_ENDPOINT=${hostEndpoint()}\nINTERVAL_API_KEY=${apiKey}`
  return html`<h3 class="connect-title">Connect a host</h3>
    <p class="help">Start your host with these environment variables (or pass them as the endpoint and API key options).</p>
    <div class="secret"><code class="connect-env" data-testid="connect-env">${env}</code><button type="button" class="btn btn-secondary btn-sm" onClick=${() => copyText(env)}><${Icon} name="copy" />Copy</button></div>`
}

function KeysTab() {
  const s = useStore()
  const [keys, setKeys] = useState(null)
  const [error, setError] = useState(null)
  const [env, setEnv] = useState(s.env)
  const [label, setLabel] = useState('')
  const [created, setCreated] = useState(null)
  const [busy, setBusy] = useState(false)
  const load = () => api('GET', '/api/console/keys').then(r => setKeys(r.keys || [])).catch(setError)
  useEffect(() => { load() }, [])
  const create = async e => {
    e.preventDefault()
    setBusy(true)
    try {
      const r = await api('POST', '/api/console/keys', { env, label: label.trim() })
      setCreated(r.key)
      setLabel('')
      load()
    } catch (x) { toast(x.message, { kind: 'error', title: 'Could not create the key' }) } finally { setBusy(false) }
  }
  const revoke = async k => {
    if (!window.confirm(`Revoke the key “${k.label || k.prefix}”? Hosts using it are disconnected.`)) return
    try { await api('DELETE', `/api/console/keys/${encodeURIComponent(k.id)}`); load() } catch (x) { toast(x.message, { kind: 'error' }) }
  }
  return html`<div class="stack-lg">
    <section class="card">
      <h2 class="section-title">Create an API key</h2>
      <form class="inline-form" onSubmit=${create}>
        <div class="inline-field grow"><label class="field-label" for="key-label">Label</label><input id="key-label" class="input" placeholder="e.g. Alice's laptop" value=${label} onInput=${e => setLabel(e.currentTarget.value)} /></div>
        <div class="inline-field"><label class="field-label" for="key-env">Environment</label>
          <label class="select-native"><select id="key-env" value=${env} onChange=${e => setEnv(e.currentTarget.value)}><option value="development">Development</option><option value="production">Production</option></select><${Icon} name="chevronDown" size=${14} /></label></div>
        <div class="inline-field"><button type="submit" class="btn btn-primary" disabled=${busy}>Create key</button></div>
      </form>
      <p class="help">Development keys run actions only you can see; production keys serve the whole organization.</p>
    </section>
    ${error && html`<${ErrorBox} title="Could not load keys" message=${error.message} />`}
    ${keys === null ? !error && html`<div class="center"><${Spinner} /></div>` : keys.length === 0 ? html`<${Empty} icon="key" title="No API keys yet">Create one to connect a host.</${Empty}>`
      : html`<div class="table-block"><div class="table-scroll"><table class="table" data-testid="keys-table">
        <thead><tr><th scope="col">Label</th><th scope="col">Key</th><th scope="col">Environment</th><th scope="col">Owner</th><th scope="col">Created</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>${keys.map(k => html`<tr key=${k.id} class=${k.revokedAt ? 'is-revoked' : ''}>
          <td>${k.label || html`<span class="muted">—</span>`}</td><td><code>${k.prefix}…</code></td>
          <td><${Badge} tone=${k.env === 'production' ? 'info' : 'warning'}>${k.env}</${Badge}></td><td>${k.owner || '—'}</td>
          <td><time title=${fmtDateTime(k.createdAt)}>${fmtRelative(k.createdAt)}</time></td>
          <td class="cell-actions">${k.revokedAt ? html`<${Badge}>Revoked</${Badge}>` : html`<button type="button" class="btn btn-secondary btn-sm" onClick=${() => revoke(k)}>Revoke</button>`}</td>
        </tr>`)}</tbody></table></div></div>`}
    ${created && html`<${SecretOnce} title="Your new API key" secret=${created} note="Copy it now: this is the only time it is shown." onClose=${() => setCreated(null)}><${ConnectHost} apiKey=${created} /></${SecretOnce}>`}
  </div>`
}

const ROLES = ['admin', 'developer', 'member']

function UserForm({ teams, user, onDone, onCancel }) {
  const [f, setF] = useState(user ? { ...user } : { email: '', firstName: '', lastName: '', role: 'member', teams: [], password: '' })
  const [err, setErr] = useState(null)
  const [busy, setBusy] = useState(false)
  const set = k => e => setF({ ...f, [k]: e.currentTarget.value })
  const save = async e => {
    e.preventDefault()
    setBusy(true); setErr(null)
    try {
      if (user) {
        await api('PATCH', `/api/console/users/${encodeURIComponent(user.id)}`, { role: f.role, teams: f.teams, firstName: f.firstName, lastName: f.lastName })
        onDone(null)
      } else {
        const body = { email: f.email.trim(), firstName: f.firstName, lastName: f.lastName, role: f.role, teams: f.teams }
        if (f.password) body.password = f.password
        const r = await api('POST', '/api/console/users', body)
        onDone(r.loginLink || null)
      }
    } catch (x) { setErr(x.message) } finally { setBusy(false) }
  }
  return html`<${Modal} title=${user ? `Edit ${user.email}` : 'Add a user'} onClose=${onCancel} labelledBy="user-form-title">
    <form class="stack" onSubmit=${save}>
      ${!user && html`<label class="field-label" for="u-email">Email</label><input id="u-email" class="input" type="email" required value=${f.email} onInput=${set('email')} />`}
      <div class="two-col">
        <div><label class="field-label" for="u-first">First name</label><input id="u-first" class="input" value=${f.firstName || ''} onInput=${set('firstName')} /></div>
        <div><label class="field-label" for="u-last">Last name</label><input id="u-last" class="input" value=${f.lastName || ''} onInput=${set('lastName')} /></div>
      </div>
      <label class="field-label" for="u-role">Role</label>
      <label class="select-native"><select id="u-role" value=${f.role} onChange=${set('role')}>${ROLES.map(r => html`<option value=${r}>${r}</option>`)}</select><${Icon} name="chevronDown" size=${14} /></label>
      ${teams.length > 0 && html`<fieldset class="checklist"><legend class="field-label">Teams</legend>${teams.map(t => html`<label class="check"><input type="checkbox" checked=${f.teams.includes(t.slug)}
        onChange=${e => setF({ ...f, teams: e.currentTarget.checked ? [...f.teams, t.slug] : f.teams.filter(x => x !== t.slug) })} /><span class="check-label">${t.name}</span></label>`)}</fieldset>`}
      ${!user && html`<label class="field-label" for="u-pw">Password <span class="optional">(optional)</span></label><input id="u-pw" class="input" type="password" autocomplete="new-password" value=${f.password} onInput=${set('password')} />
        <div class="help">Leave empty to send a one-time login link instead.</div>`}
      ${err && html`<div class="field-error" role="alert">${err}</div>`}
      <div class="btn-row"><button type="submit" class="btn btn-primary" disabled=${busy}>${user ? 'Save' : 'Add user'}</button><button type="button" class="btn btn-secondary" onClick=${onCancel}>Cancel</button></div>
    </form>
  </${Modal}>`
}

function UsersTab({ me }) {
  const [users, setUsers] = useState(null)
  const [teams, setTeams] = useState([])
  const [error, setError] = useState(null)
  const [editing, setEditing] = useState(null) // 'new' | user
  const [link, setLink] = useState(null)
  const [team, setTeam] = useState({ name: '', slug: '' })
  const load = () => Promise.all([api('GET', '/api/console/users'), api('GET', '/api/console/teams')])
    .then(([u, t]) => { setUsers(u.users || []); setTeams(t.teams || []) }).catch(setError)
  useEffect(() => { load() }, [])
  const del = async u => {
    if (!window.confirm(`Remove ${u.email} from the organization?`)) return
    try { await api('DELETE', `/api/console/users/${encodeURIComponent(u.id)}`); load() } catch (x) { toast(x.message, { kind: 'error' }) }
  }
  const addTeam = async e => {
    e.preventDefault()
    const slug = team.slug || team.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')
    try { await api('POST', '/api/console/teams', { slug, name: team.name.trim() }); setTeam({ name: '', slug: '' }); load() } catch (x) { toast(x.message, { kind: 'error', title: 'Could not add the team' }) }
  }
  const origin = location.origin
  return html`<div class="stack-lg">
    ${error && html`<${ErrorBox} title="Could not load users" message=${error.message} />`}
    <section>
      <div class="section-head"><h2 class="section-title">Users</h2><button type="button" class="btn btn-primary" onClick=${() => setEditing('new')}>Add user</button></div>
      ${users === null ? !error && html`<div class="center"><${Spinner} /></div>` : html`<div class="table-block"><div class="table-scroll"><table class="table" data-testid="users-table">
        <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Teams</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>${users.map(u => html`<tr key=${u.id}>
          <td>${[u.firstName, u.lastName].filter(Boolean).join(' ') || '—'}${!u.hasPassword && html` <${Badge} tone="warning">no password</${Badge}>`}</td><td>${u.email}</td>
          <td><${Badge} tone=${u.role === 'admin' ? 'info' : 'neutral'}>${u.role}</${Badge}></td><td>${(u.teams || []).join(', ') || html`<span class="muted">—</span>`}</td>
          <td class="cell-actions"><button type="button" class="btn btn-secondary btn-sm" onClick=${() => setEditing(u)}>Edit</button>
            ${u.id !== me.id && html`<button type="button" class="btn btn-ghost btn-sm danger-text" onClick=${() => del(u)}>Remove</button>`}</td>
        </tr>`)}</tbody></table></div></div>`}
    </section>
    <section>
      <h2 class="section-title">Teams</h2>
      <div class="card">
        ${teams.length === 0 ? html`<p class="muted">No teams yet. Teams limit who can run an action (its <code>access</code>).</p>` : html`<ul class="team-list">${teams.map(t => html`<li><strong>${t.name}</strong> <code class="muted">${t.slug}</code></li>`)}</ul>`}
        <form class="inline-form" onSubmit=${addTeam}>
          <div class="inline-field grow"><label class="field-label" for="team-name">Team name</label><input id="team-name" class="input" required value=${team.name} onInput=${e => setTeam({ ...team, name: e.currentTarget.value })} /></div>
          <div class="inline-field"><label class="field-label" for="team-slug">Slug <span class="optional">(optional)</span></label><input id="team-slug" class="input" value=${team.slug} onInput=${e => setTeam({ ...team, slug: e.currentTarget.value })} /></div>
          <div class="inline-field"><button type="submit" class="btn btn-secondary">Add team</button></div>
        </form>
      </div>
    </section>
    ${editing && html`<${UserForm} teams=${teams} user=${editing === 'new' ? null : editing} onCancel=${() => setEditing(null)} onDone=${l => { setEditing(null); load(); if (l) setLink(l) }} />`}
    ${link && html`<${SecretOnce} title="One-time login link" secret=${link.startsWith('http') ? link : origin + link} note="Send this link to the new user. It logs them in once and asks them to set a password." onClose=${() => setLink(null)} />`}
  </div>`
}

// A check of a serverless host waits for it up to 30 s (the server's
// httpCheckTimeout).
const HOST_CHECK_TIMEOUT = 45000
const HOST_TONE = { ONLINE: 'success', UNREACHABLE: 'danger', CHECKING: 'neutral' }

function plural(n, one) { return `${n} ${one}${n === 1 ? '' : 's'}` }

// Serverless (HTTP) hosts: URLs the server POSTs to, to check them and to
// have them run actions and pages of the production environment.
function HTTPHostsTab() {
  const [hosts, setHosts] = useState(null)
  const [error, setError] = useState(null)
  const [url, setUrl] = useState('')
  const [busy, setBusy] = useState(false)
  const [checking, setChecking] = useState(null)
  const load = () => api('GET', '/api/console/http-hosts').then(r => { setHosts(r.httpHosts || []); setError(null) }).catch(setError)
  useEffect(() => { load() }, [])
  const add = async e => {
    e.preventDefault()
    setBusy(true)
    try {
      const r = await api('POST', '/api/console/http-hosts', { url: url.trim() }, { timeout: HOST_CHECK_TIMEOUT })
      setUrl('')
      const h = r.httpHost
      if (h.status === 'ONLINE') toast(`It declared ${plural(h.actions, 'action')} and ${plural(h.pages, 'page')}.`, { kind: 'success', title: 'Serverless host online' })
      else toast(h.lastError || 'The host did not answer.', { kind: 'error', title: 'Registered, but unreachable' })
      if (r.warning) toast(r.warning, { kind: 'error', title: 'No production API key' })
      load()
    } catch (x) { toast(x.message, { kind: 'error', title: 'Could not add the host' }) } finally { setBusy(false) }
  }
  const check = async h => {
    setChecking(h.id)
    try {
      const r = await api('POST', `/api/console/http-hosts/${encodeURIComponent(h.id)}/check`, undefined, { timeout: HOST_CHECK_TIMEOUT })
      if (r.httpHost.status !== 'ONLINE') toast(r.httpHost.lastError || 'The host did not answer.', { kind: 'error', title: 'Unreachable' })
      load()
    } catch (x) { toast(x.message, { kind: 'error' }) } finally { setChecking(null) }
  }
  const remove = async h => {
    if (!window.confirm(`Remove the serverless host ${h.url}? Its actions and pages disappear; runs in progress finish.`)) return
    try { await api('DELETE', `/api/console/http-hosts/${encodeURIComponent(h.id)}`); load() } catch (x) { toast(x.message, { kind: 'error' }) }
  }
  return html`<div class="stack-lg">
    <section class="card">
      <h2 class="section-title">Add a serverless host</h2>
      <form class="inline-form" onSubmit=${add}>
        <div class="inline-field grow"><label class="field-label" for="host-url">URL</label><input id="host-url" class="input" type="url" required placeholder="https://…/interval" value=${url} onInput=${e => setUrl(e.currentTarget.value)} /></div>
        <div class="inline-field"><button type="submit" class="btn btn-primary" disabled=${busy || !url.trim()}>${busy ? 'Checking…' : 'Add host'}</button></div>
      </form>
      <p class="help">A serverless host is a function (AWS Lambda, Cloud Run, any HTTP endpoint) running a host with a production API key. The server POSTs to it to check it and to run its actions; it serves the production environment.</p>
    </section>
    ${error && html`<${ErrorBox} title="Could not load serverless hosts" message=${error.message} />`}
    ${hosts === null ? !error && html`<div class="center"><${Spinner} /></div>` : hosts.length === 0 ? html`<${Empty} icon="plug" title="No serverless hosts">Add the URL of a function that serves actions over HTTP.</${Empty}>`
      : html`<div class="table-block"><div class="table-scroll"><table class="table" data-testid="http-hosts-table">
        <thead><tr><th scope="col">URL</th><th scope="col">Status</th><th scope="col">Routes</th><th scope="col">SDK</th><th scope="col">Last check</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>${hosts.map(h => html`<tr key=${h.id}>
          <td class="cell-wrap"><code>${h.url}</code></td>
          <td class="cell-wrap"><${Badge} tone=${HOST_TONE[h.status] || 'neutral'} dot=${true}>${h.status.toLowerCase()}</${Badge}>${h.lastError && html`<div class="help small" data-testid="host-error">${h.lastError}</div>`}</td>
          <td>${h.declaredAt ? `${plural(h.actions, 'action')}, ${plural(h.pages, 'page')}` : html`<span class="muted">—</span>`}</td>
          <td>${h.sdkName ? html`${h.sdkName} <span class="muted">${h.sdkVersion}</span>` : html`<span class="muted">—</span>`}</td>
          <td>${h.checkedAt ? html`<time title=${fmtDateTime(h.checkedAt)}>${fmtRelative(h.checkedAt)}</time>` : html`<span class="muted">—</span>`}</td>
          <td class="cell-actions"><button type="button" class="btn btn-secondary btn-sm" disabled=${checking === h.id} onClick=${() => check(h)}>${checking === h.id ? 'Checking…' : 'Check now'}</button>
            <button type="button" class="btn btn-ghost btn-sm danger-text" onClick=${() => remove(h)}>Remove</button></td>
        </tr>`)}</tbody></table></div></div>`}
  </div>`
}
