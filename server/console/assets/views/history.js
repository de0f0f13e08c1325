// History: transactions with filters, search, pages and a CSV export
// (GET /api/console/transactions, /api/console/transactions/export.csv).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { html } from '../lib/html.js'
import { api } from '../lib/api.js'
import { useStore, toast } from '../lib/store.js'
import { navigate } from '../lib/router.js'
import { fmtRelative, fmtDateTime, fmtDuration, txStatus } from '../lib/format.js'
import { Icon, Spinner, Empty, ErrorBox, Badge } from '../lib/ui.js'
import { downloadBlob } from '../lib/download.js'
import { actionName } from '../lib/routes.js'

// Outcomes of finished runs are results; the others are statuses.
const STATUSES = [['', 'Any status'], ['result:SUCCESS', 'Completed'], ['result:FAILURE', 'Error'], ['result:REDIRECTED', 'Redirected'],
  ['CANCELED', 'Canceled'], ['RUNNING', 'Running'], ['AWAITING_INPUT', 'Awaiting input'], ['PENDING', 'Pending'], ['HOST_DROPPED', 'Host disconnected']]
const PAGE = 50
const EMPTY = { slug: '', status: '', user: '', q: '', from: '', to: '' }

/** dayStart is the local midnight of a YYYY-MM-DD date, in ms (or ''). */
function dayStart(d, plusDays = 0) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(d || '')) return ''
  const [y, m, day] = d.split('-').map(Number)
  return String(new Date(y, m - 1, day + plusDays).getTime())
}

/** apiQuery turns the filters into the API's query (the dates as local days). */
function apiQuery(env, f, extra = {}) {
  const q = new URLSearchParams({ env, ...extra })
  if (f.slug) q.set('slug', f.slug)
  if (f.status.startsWith('result:')) q.set('result', f.status.slice(7))
  else if (f.status) q.set('status', f.status)
  if (f.user) q.set('user', f.user)
  if (f.q.trim()) q.set('q', f.q.trim())
  if (dayStart(f.from)) q.set('from', dayStart(f.from))
  if (dayStart(f.to, 1)) q.set('to', dayStart(f.to, 1)) // the whole last day
  return q
}

export function HistoryView({ params }) {
  const s = useStore()
  const [filters, setFilters] = useState(() => {
    const f = { ...EMPTY }
    for (const k of Object.keys(EMPTY)) if (params[k]) f[k] = params[k]
    if (params.result) f.status = `result:${params.result}`
    return f
  })
  const [search, setSearch] = useState(filters.q) // what is typed; filters.q follows after a pause
  const [page, setPage] = useState(Math.max(0, (Number(params.page) || 1) - 1))
  const [data, setData] = useState(null) // {transactions, total}
  const [error, setError] = useState(null)
  const [busy, setBusy] = useState(false)
  const [exporting, setExporting] = useState(false)
  const typing = useRef()

  useEffect(() => {
    let alive = true
    setError(null)
    setBusy(true)
    api('GET', `/api/console/transactions?${apiQuery(s.env, filters, { limit: String(PAGE), offset: String(page * PAGE) })}`).then(r => {
      if (alive) setData({ transactions: r.transactions || [], total: r.total || 0 })
    }).catch(e => alive && setError(e)).finally(() => alive && setBusy(false))
    // The address keeps the filters: a reload or a shared link shows the same.
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(filters)) {
      if (!v) continue
      if (k === 'status' && v.startsWith('result:')) q.set('result', v.slice(7))
      else q.set(k, v)
    }
    if (page > 0) q.set('page', String(page + 1))
    history.replaceState(history.state, '', `/history${q.toString() ? `?${q}` : ''}`)
    return () => { alive = false }
  }, [filters, page, s.env])
  useEffect(() => { document.title = 'History · Interval' }, [])
  useEffect(() => () => clearTimeout(typing.current), [])

  const change = next => { setFilters(f => ({ ...f, ...next })); setPage(0) }
  const set = k => e => change({ [k]: e.currentTarget.value })
  const onSearch = e => {
    const v = e.currentTarget.value
    setSearch(v)
    clearTimeout(typing.current)
    typing.current = setTimeout(() => change({ q: v }), 250)
  }
  const clear = () => { clearTimeout(typing.current); setSearch(''); setFilters({ ...EMPTY }); setPage(0) }
  const exportCSV = async () => {
    setExporting(true)
    try {
      const res = await fetch(`/api/console/transactions/export.csv?${apiQuery(s.env, filters)}`, { credentials: 'same-origin', headers: { 'X-Interval-Console': '1' } })
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      const name = (/filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '') || [])[1] || 'history.csv'
      downloadBlob(name, await res.blob())
    } catch (e) {
      toast(e.message, { kind: 'error', title: 'Could not export the history' })
    } finally {
      setExporting(false)
    }
  }

  const actions = useMemo(() => ((s.routes && s.routes.actions) || []).slice().sort((a, b) => actionName(a).localeCompare(actionName(b))), [s.routes])
  const me = s.me.user
  const filtered = Object.values(filters).some(Boolean)
  const list = data && data.transactions
  const total = data ? data.total : 0
  const first = page * PAGE
  const pages = Math.max(1, Math.ceil(total / PAGE))

  return html`<div class="page">
    <div class="page-head"><div><h1 class="page-title">History</h1><p class="page-desc">Transactions in the ${s.env} environment, newest first.</p></div>
      <button type="button" class="btn btn-secondary" data-testid="history-export" disabled=${exporting || !total} onClick=${exportCSV}
        title="Download every transaction these filters select (up to 10,000) as CSV">${exporting ? html`<${Spinner} size="sm" />` : html`<${Icon} name="download" />`}Export CSV</button></div>
    <div class="filters" role="search">
      <label class="filter"><${Icon} name="search" size=${14} /><input type="search" placeholder="Search action, person, params" aria-label="Search the history"
        value=${search} onInput=${onSearch} /></label>
      <label class="select-native"><span class="sr-only">Action</span><select aria-label="Filter by action" value=${filters.slug} onChange=${set('slug')}>
        <option value="">All actions</option>${actions.map(a => html`<option value=${a.slug}>${actionName(a)}</option>`)}
        ${filters.slug && !actions.some(a => a.slug === filters.slug) && html`<option value=${filters.slug}>${filters.slug}</option>`}
      </select><${Icon} name="chevronDown" size=${14} /></label>
      <label class="select-native"><span class="sr-only">Status</span><select aria-label="Filter by status" value=${filters.status} onChange=${set('status')}>
        ${STATUSES.map(([v, l]) => html`<option value=${v}>${l}</option>`)}</select><${Icon} name="chevronDown" size=${14} /></label>
      <label class="select-native"><span class="sr-only">Run by</span><select aria-label="Filter by user" value=${filters.user} onChange=${set('user')}>
        <option value="">Anyone</option><option value=${me.email}>Me</option>
        ${filters.user && filters.user !== me.email && html`<option value=${filters.user}>${filters.user}</option>`}</select><${Icon} name="chevronDown" size=${14} /></label>
      <label class="date-filter"><span class="small muted">From</span><input type="date" class="input input-sm" aria-label="Started on or after" value=${filters.from} max=${filters.to || undefined} onChange=${set('from')} /></label>
      <label class="date-filter"><span class="small muted">To</span><input type="date" class="input input-sm" aria-label="Started on or before" value=${filters.to} min=${filters.from || undefined} onChange=${set('to')} /></label>
      ${filtered && html`<button type="button" class="btn btn-ghost btn-sm" onClick=${clear}>Clear filters</button>`}
      ${busy && html`<${Spinner} size="sm" />`}
    </div>
    ${error && html`<${ErrorBox} title="Could not load history" message=${error.message} />`}
    ${list == null ? !error && html`<div class="center"><${Spinner} /></div>`
      : list.length === 0 ? html`<${Empty} icon="history" title="No transactions">${filtered ? 'Nothing matches these filters.' : 'Runs of your actions will show up here.'}</${Empty}>`
      : html`<div class="table-block"><div class="table-scroll"><table class="table table-history" data-testid="history-table">
        <thead><tr><th scope="col">Action</th><th scope="col" class="col-wide">Run by</th><th scope="col" class="col-wide">Started</th><th scope="col" class="col-wide">Duration</th><th scope="col" class="col-wide">Status</th></tr></thead>
        <tbody>${list.map(tx => {
          const st = txStatus(tx)
          return html`<tr key=${tx.id} class="row-link" onClick=${e => { if (!e.target.closest('a')) navigate(`/transactions/${tx.id}`) }}>
            <td><a class="row-title" href=${`/transactions/${tx.id}`}>${tx.actionName || tx.slug}</a><div class="muted small">${tx.slug}</div>
              <div class="hist-inline" data-testid="history-inline"><${Badge} tone=${st.tone} dot>${st.label}</${Badge}><span>${fmtRelative(tx.createdAt)}</span></div></td>
            <td class="col-wide">${(tx.user && (tx.user.name || tx.user.email)) || '—'}</td>
            <td class="col-wide"><time datetime=${tx.createdAt} title=${fmtDateTime(tx.createdAt)}>${fmtRelative(tx.createdAt)}</time></td>
            <td class="col-wide">${fmtDuration(tx.durationMs)}</td>
            <td class="col-wide"><${Badge} tone=${st.tone} dot>${st.label}</${Badge}></td>
          </tr>`
        })}</tbody></table></div>
        <div class="table-toolbar table-toolbar-bottom"><span></span><div class="pager" data-testid="history-pager">
          <span class="pager-text" aria-live="polite">${first + 1} – ${first + list.length} of ${total}</span>
          <button type="button" class="btn btn-secondary btn-sm" disabled=${page === 0 || busy} onClick=${() => setPage(page - 1)} aria-label="Previous page of the history">Prev</button>
          <span class="small muted">Page ${page + 1} of ${pages}</span>
          <button type="button" class="btn btn-secondary btn-sm" disabled=${page + 1 >= pages || busy} onClick=${() => setPage(page + 1)} aria-label="Next page of the history">Next</button>
        </div></div></div>`}
  </div>`
}
