// History: transactions with filters (GET /api/console/transactions).
import { useEffect, useMemo, useState } from 'preact/hooks'
import { html, api, useStore, navigate, fmtRelative, fmtDateTime, fmtDuration, txStatus } from '../lib/util.js'
import { Icon, Spinner, Empty, ErrorBox, Badge } from '../lib/ui.js'
import { actionName } from '../lib/routes.js'

const STATUSES = [['', 'Any status'], ['COMPLETED', 'Completed'], ['RUNNING', 'Running'], ['AWAITING_INPUT', 'Awaiting input'], ['PENDING', 'Pending'], ['CANCELED', 'Canceled'], ['HOST_DROPPED', 'Host disconnected']]

export function HistoryView({ params }) {
  const s = useStore()
  const [filters, setFilters] = useState({ slug: params.slug || '', status: params.status || '', user: params.user || '' })
  const [list, setList] = useState(null)
  const [more, setMore] = useState(false)
  const [error, setError] = useState(null)
  const [busy, setBusy] = useState(false)
  const limit = 50

  const query = before => {
    const q = new URLSearchParams({ env: s.env, limit: String(limit) })
    for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v)
    if (before) q.set('before', before)
    return `/api/console/transactions?${q}`
  }
  useEffect(() => {
    let alive = true
    setError(null)
    setBusy(true)
    api('GET', query()).then(r => {
      if (!alive) return
      setList(r.transactions || [])
      setMore((r.transactions || []).length >= limit)
    }).catch(e => alive && setError(e)).finally(() => alive && setBusy(false))
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v)
    history.replaceState(history.state, '', `/history${q.toString() ? `?${q}` : ''}`)
    return () => { alive = false }
  }, [filters.slug, filters.status, filters.user, s.env])
  useEffect(() => { document.title = 'History · Interval' }, [])

  const loadMore = async () => {
    setBusy(true)
    try {
      const r = await api('GET', query(list[list.length - 1].id))
      setList([...list, ...(r.transactions || [])])
      setMore((r.transactions || []).length >= limit)
    } catch (e) { setError(e) } finally { setBusy(false) }
  }
  const actions = useMemo(() => ((s.routes && s.routes.actions) || []).slice().sort((a, b) => actionName(a).localeCompare(actionName(b))), [s.routes])
  const set = k => e => setFilters({ ...filters, [k]: e.currentTarget.value })
  const me = s.me.user

  return html`<div class="page">
    <div class="page-head"><div><h1 class="page-title">History</h1><p class="page-desc">Transactions in the ${s.env} environment, newest first.</p></div></div>
    <div class="filters" role="search">
      <label class="select-native"><span class="sr-only">Action</span><select aria-label="Filter by action" value=${filters.slug} onChange=${set('slug')}>
        <option value="">All actions</option>${actions.map(a => html`<option value=${a.slug}>${actionName(a)}</option>`)}
        ${filters.slug && !actions.some(a => a.slug === filters.slug) && html`<option value=${filters.slug}>${filters.slug}</option>`}
      </select><${Icon} name="chevronDown" size=${14} /></label>
      <label class="select-native"><span class="sr-only">Status</span><select aria-label="Filter by status" value=${filters.status} onChange=${set('status')}>
        ${STATUSES.map(([v, l]) => html`<option value=${v}>${l}</option>`)}</select><${Icon} name="chevronDown" size=${14} /></label>
      <label class="select-native"><span class="sr-only">Run by</span><select aria-label="Filter by user" value=${filters.user} onChange=${set('user')}>
        <option value="">Anyone</option><option value=${me.email}>Me</option>
        ${filters.user && filters.user !== me.email && html`<option value=${filters.user}>${filters.user}</option>`}</select><${Icon} name="chevronDown" size=${14} /></label>
      ${(filters.slug || filters.status || filters.user) && html`<button type="button" class="btn btn-ghost btn-sm" onClick=${() => setFilters({ slug: '', status: '', user: '' })}>Clear filters</button>`}
      ${busy && html`<${Spinner} size="sm" />`}
    </div>
    ${error && html`<${ErrorBox} title="Could not load history" message=${error.message} />`}
    ${list === null ? !error && html`<div class="center"><${Spinner} /></div>`
      : list.length === 0 ? html`<${Empty} icon="history" title="No transactions">${filters.slug || filters.status || filters.user ? 'Nothing matches these filters.' : 'Runs of your actions will show up here.'}</${Empty}>`
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
        })}</tbody></table></div></div>
        ${more && html`<div class="center"><button type="button" class="btn btn-secondary" disabled=${busy} onClick=${loadMore}>Load more</button></div>`}`}
  </div>`
}
