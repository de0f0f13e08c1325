// Audit log (admins): who did what on the server, with filters, and its
// export as JSON lines (GET /api/console/audit, /api/console/audit/export).
import { useEffect, useState } from 'preact/hooks'
import { html } from '../lib/html.js'
import { api } from '../lib/api.js'
import { fmtRelative, fmtDateTime } from '../lib/format.js'
import { Icon, Spinner, Empty, ErrorBox } from '../lib/ui.js'

// Filterable actions: a dotted prefix selects every action under it.
const ACTIONS = [
  ['', 'All actions'],
  ['login.', 'Logins and failures'],
  ['login.failed', 'Failed logins'],
  ['key.', 'API keys'],
  ['user.', 'Users, roles and teams'],
  ['run.', 'Runs started and canceled'],
  ['audit.exported', 'Audit exports'],
]

const EMPTY = { action: '', actor: '', since: '', until: '' }

// query turns the filters into the API's query: dates are local days.
function query(f, extra) {
  const q = new URLSearchParams()
  if (f.action) q.set('action', f.action)
  if (f.actor) q.set('actor', f.actor)
  if (f.since) q.set('since', String(new Date(`${f.since}T00:00`).getTime()))
  if (f.until) q.set('until', String(new Date(`${f.until}T00:00`).getTime() + 86400000))
  for (const [k, v] of Object.entries(extra || {})) q.set(k, v)
  return q
}

function summary(ev) {
  const d = ev.detail || {}
  const parts = []
  for (const [k, v] of Object.entries(d)) {
    parts.push(`${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
  }
  return parts.join(' · ')
}

export function AuditView() {
  const [filters, setFilters] = useState(EMPTY)
  const [actor, setActor] = useState('')
  const [list, setList] = useState(null)
  const [next, setNext] = useState(0)
  const [error, setError] = useState(null)
  const [busy, setBusy] = useState(false)
  const limit = 100

  useEffect(() => { document.title = 'Audit log · Interval' }, [])
  useEffect(() => {
    let alive = true
    setError(null)
    setBusy(true)
    api('GET', `/api/console/audit?${query(filters, { limit: String(limit) })}`).then(r => {
      if (!alive) return
      setList(r.events || [])
      setNext(r.next || 0)
    }).catch(e => alive && setError(e)).finally(() => alive && setBusy(false))
    return () => { alive = false }
  }, [filters.action, filters.actor, filters.since, filters.until])

  const loadMore = async () => {
    setBusy(true)
    try {
      const r = await api('GET', `/api/console/audit?${query(filters, { limit: String(limit), before: String(next) })}`)
      setList([...list, ...(r.events || [])])
      setNext(r.next || 0)
    } catch (e) { setError(e) } finally { setBusy(false) }
  }
  const set = k => e => setFilters({ ...filters, [k]: e.currentTarget.value })
  const filtered = filters.action || filters.actor || filters.since || filters.until

  return html`<div class="page">
    <div class="page-head"><div><h1 class="page-title">Audit log</h1>
      <p class="page-desc">Who did what on this server, newest first: logins, API keys, users, roles and teams, runs.</p></div>
      <a class="btn btn-secondary" href=${`/api/console/audit/export?${query(filters)}`} download data-testid="audit-export"><${Icon} name="download" /> Export JSON lines</a>
    </div>
    <form class="filters" role="search" onSubmit=${e => { e.preventDefault(); setFilters({ ...filters, actor: actor.trim() }) }}>
      <label class="select-native"><span class="sr-only">Action</span><select aria-label="Filter by action" value=${filters.action} onChange=${set('action')}>
        ${ACTIONS.map(([v, l]) => html`<option value=${v}>${l}</option>`)}</select><${Icon} name="chevronDown" size=${14} /></label>
      <input class="input input-inline" type="search" aria-label="Filter by user email" placeholder="User email" value=${actor}
        onInput=${e => setActor(e.currentTarget.value)} onBlur=${() => actor.trim() !== filters.actor && setFilters({ ...filters, actor: actor.trim() })} />
      <label class="small muted">From <input class="input input-inline" type="date" aria-label="From day" value=${filters.since} onChange=${set('since')} /></label>
      <label class="small muted">To <input class="input input-inline" type="date" aria-label="To day" value=${filters.until} onChange=${set('until')} /></label>
      ${filtered && html`<button type="button" class="btn btn-ghost btn-sm" onClick=${() => { setActor(''); setFilters(EMPTY) }}>Clear filters</button>`}
      ${busy && html`<${Spinner} size="sm" />`}
    </form>
    ${error && html`<${ErrorBox} title="Could not load the audit log" message=${error.message} />`}
    ${list === null ? !error && html`<div class="center"><${Spinner} /></div>`
      : list.length === 0 ? html`<${Empty} icon="history" title="No events">${filtered ? 'Nothing matches these filters.' : 'Logins, key and user changes and runs will show up here.'}</${Empty}>`
      : html`<div class="table-block"><div class="table-scroll"><table class="table table-audit" data-testid="audit-table">
        <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Details</th><th scope="col">From</th></tr></thead>
        <tbody>${list.map(ev => html`<tr key=${ev.seq} data-action=${ev.action}>
          <td><time datetime=${ev.at} title=${fmtDateTime(ev.at)}>${fmtRelative(ev.at)}</time></td>
          <td>${ev.actorEmail || '—'}</td>
          <td><code>${ev.action}</code></td>
          <td class="small">${ev.target || '—'}</td>
          <td class="small audit-detail">${summary(ev)}</td>
          <td class="small muted">${ev.remote || '—'}</td>
        </tr>`)}</tbody></table></div></div>
        ${next > 0 && html`<div class="center"><button type="button" class="btn btn-secondary" disabled=${busy} onClick=${loadMore}>Load more</button></div>`}`}
  </div>`
}
