// Tables (DISPLAY_TABLE, SELECT_TABLE) and grids (DISPLAY_GRID): paging,
// sorting and search, through SET_STATE when the host made them stateful
// and in the browser otherwise.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { html, classes } from '../lib/html.js'
import { fmtValue } from '../lib/format.js'
import { routeHref } from '../lib/router.js'
import { safeURL } from '../lib/markup.js'
import { Icon, RowMenu } from '../lib/ui.js'
import { downloadText } from '../lib/download.js'

function colKey(col, i) { return col.accessorKey != null ? col.accessorKey : String(i) }

function cellObj(v) { return v && typeof v === 'object' && !(v instanceof Date) && !Array.isArray(v) ? v : null }

function cellText(v) {
  const o = cellObj(v)
  if (o) return o.label != null ? fmtValue(o.label) : o.value != null ? fmtValue(o.value) : ''
  return v == null ? '' : fmtValue(v)
}

function sortValue(v) {
  const o = cellObj(v)
  if (o) v = o.value != null ? o.value : o.label
  if (v instanceof Date) return v.getTime()
  return v
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' })
function compare(a, b) {
  if (a == null && b == null) return 0
  if (a == null) return 1
  if (b == null) return -1
  if (typeof a === 'number' && typeof b === 'number') return a - b
  return collator.compare(String(a), String(b))
}

export function Cell({ v }) {
  const o = cellObj(v)
  if (!o) {
    if (typeof v === 'string' && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) return html`<a class="link" href=${'mailto:' + v}>${v}</a>`
    return html`<span>${v == null ? '' : fmtValue(v)}</span>`
  }
  const text = cellText(v)
  const imgURL = o.image && safeURL(o.image.url)
  const img = imgURL && html`<img class=${classes('cell-img', `img-${o.image.size || 'thumbnail'}`)} src=${imgURL} alt=${o.image.alt || ''} loading="lazy" />`
  const body = html`${img}${text && html`<span>${text}</span>`}`
  const href = safeURL(o.url) || safeURL(o.href)
  if (href) return html`<a class="link" href=${href} target="_blank" rel="noopener noreferrer">${body}</a>`
  const route = o.route || o.action
  if (route) return html`<a class="link" href=${routeHref(route, o.params)}>${body}</a>`
  return html`<span class="cell-rich">${body}</span>`
}

/** isNumeric reports whether a cell's value (or its rich value) is a number. */
function isNumeric(v) {
  return typeof sortValue(v) === 'number'
}

/** numericColumns is the set of column keys whose shown values are all numbers. */
function numericColumns(columns, rows) {
  const out = new Set()
  columns.forEach((c, i) => {
    const k = colKey(c, i)
    let seen = false
    for (const r of rows) {
      const v = r.data ? r.data[k] : undefined
      if (v == null || v === '') continue
      if (!isNumeric(v)) return
      seen = true
    }
    if (seen) out.add(k)
  })
  return out
}

/** csvValue is a cell as a spreadsheet reads it: numbers plain, dates ISO. */
function csvValue(v) {
  const o = cellObj(v)
  // A rich cell's number or date is what a spreadsheet computes with; its
  // label ("$1,234.50") is only how it looks.
  if (o) v = typeof o.value === 'number' || o.value instanceof Date ? o.value : o.label != null ? o.label : o.value
  if (v == null) return ''
  if (v instanceof Date) return v.toISOString()
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  if (typeof v === 'object') return JSON.stringify(v)
  let s = String(v)
  // A text a spreadsheet would run as a formula is kept as text.
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`
  return s
}

/** toCSV writes rows as RFC 4180 CSV with a header of the column labels. */
export function toCSV(columns, rows) {
  const q = s => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s)
  const lines = [columns.map(c => q(csvValue(c.label))).join(',')]
  for (const r of rows) lines.push(columns.map((c, i) => q(csvValue(r.data ? r.data[colKey(c, i)] : undefined))).join(','))
  return lines.join('\r\n') + '\r\n'
}

function downloadCSV(name, text) {
  downloadText(`${String(name || 'table').replace(/[^\w.-]+/g, '-').slice(0, 60) || 'table'}.csv`, text, 'text/csv;charset=utf-8')
}

function highlight(v) {
  const o = cellObj(v)
  const long = cellText(v).length > 60 ? ' cell-long' : ''
  return (o && o.highlightColor ? `hl-${o.highlightColor}` : '') + long
}

/** useTableState implements paging/sort/search, local or via SET_STATE. */
function useTableState({ props, stateful, onState, sortable, pageSizeDefault }) {
  const pageSize = props.defaultPageSize > 0 ? props.defaultPageSize : pageSizeDefault
  const [query, setQuery] = useState('')
  const [sort, setSort] = useState({ column: null, direction: null })
  const [offset, setOffset] = useState(0)
  // buf: the offset of the first row in props.data, the offset of the page
  // on screen, and the offset asked for with SET_STATE and not answered yet.
  const [buf, setBuf] = useState({ offset: 0, shown: 0, pending: null })
  const sent = useRef(false)
  const timer = useRef()
  const rows = props.data || []

  // A new render of this component answers the last state we sent.
  useEffect(() => {
    setBuf(b => (b.pending != null ? { offset: b.pending, shown: b.pending, pending: null } : b))
  }, [props])

  const send = (st) => {
    setBuf(b => ({ ...b, pending: st.offset }))
    sent.current = true
    onState({ queryTerm: st.query || undefined, sortColumn: st.sort.column || undefined, sortDirection: st.sort.direction || undefined, offset: st.offset, pageSize })
  }

  useEffect(() => {
    // Async tables start empty: ask for the first page.
    if (stateful && props.isAsync && !sent.current) send({ query, sort, offset: 0 })
    return () => clearTimeout(timer.current)
  }, [])

  let view, total, shown
  let t_all = null
  if (stateful) {
    shown = buf.shown
    const start = Math.max(0, shown - buf.offset)
    view = rows.slice(start, start + pageSize)
    total = props.totalRecords
  } else {
    let all = rows
    const q = query.trim().toLowerCase()
    if (q) {
      all = all.filter(r => (r.filterValue != null ? String(r.filterValue) : Object.values(r.data || {}).map(cellText).join(' ')).toLowerCase().includes(q))
    }
    if (sortable && sort.column != null && sort.direction) {
      const dir = sort.direction === 'desc' ? -1 : 1
      all = [...all].sort((a, b) => {
        const x = sortValue(a.data && a.data[sort.column]); const y = sortValue(b.data && b.data[sort.column])
        if (x == null || y == null) return compare(x, y)
        return dir * compare(x, y)
      })
    }
    total = all.length
    shown = offset
    view = all.slice(offset, offset + pageSize)
    t_all = all
  }

  const change = (next) => {
    const st = { query, sort, offset, ...next }
    if ('query' in next) setQuery(next.query)
    if ('sort' in next) setSort(next.sort)
    setOffset(st.offset)
    if (stateful) {
      clearTimeout(timer.current)
      if ('query' in next) timer.current = setTimeout(() => send(st), 300)
      else send(st)
    }
  }

  return {
    view, total, offset: shown, pageSize, query, sort, pending: buf.pending != null,
    // Every row the filter and sort give (local tables), or the page on
    // screen (a host-paged table has no other rows here).
    all: t_all || view,
    setQuery: q => change({ query: q, offset: 0 }),
    toggleSort: col => {
      let s
      if (sort.column !== col) s = { column: col, direction: 'asc' }
      else if (sort.direction === 'asc') s = { column: col, direction: 'desc' }
      else s = { column: null, direction: null }
      change({ sort: s, offset: 0 })
    },
    prev: () => change({ offset: Math.max(0, shown - pageSize) }),
    next: () => change({ offset: shown + pageSize }),
  }
}

function Pager({ t, count, label }) {
  const end = t.offset + count
  const hasNext = t.total != null ? end < t.total : count >= t.pageSize
  const text = count === 0 ? (t.total === 0 || t.total == null ? 'No results' : `${t.offset + 1}+ of ${t.total}`) : `${t.offset + 1} – ${end}${t.total != null ? ` of ${t.total}` : ''}`
  return html`<div class="pager">
    <span class="pager-text" aria-live="polite">${text}</span>
    <button type="button" class="btn btn-secondary btn-sm" disabled=${t.offset === 0} onClick=${t.prev} aria-label=${`Previous page of ${label}`}>Prev</button>
    <button type="button" class="btn btn-secondary btn-sm" disabled=${!hasNext} onClick=${t.next} aria-label=${`Next page of ${label}`}>Next</button>
  </div>`
}

function Filter({ t, label }) {
  return html`<label class="filter"><${Icon} name="search" size=${14} /><input type="search" placeholder="Filter" aria-label=${`Filter ${label}`}
    value=${t.query} onInput=${e => t.setQuery(e.currentTarget.value)} /></label>`
}

/**
 * Table renders DISPLAY_TABLE and SELECT_TABLE. For SELECT_TABLE pass
 * selectable, value ([{key}]) and setValue.
 */
export function Table({ comp, props, onState, selectable, value, setValue, disabled }) {
  const columns = props.columns || []
  const sortable = props.isSortable !== false
  const filterable = props.isFilterable !== false
  const label = comp.label || 'table'
  const t = useTableState({ props, stateful: !!comp.isStateful, onState, sortable, pageSizeDefault: 20 })
  const selected = useMemo(() => new Set((value || []).map(v => v.key)), [value])
  const hasMenu = t.view.some(r => r.menu && r.menu.length)

  if (props.orientation === 'vertical' && !selectable) {
    return html`<div class="table-block">
      ${t.view.map(r => html`<dl class="vtable" key=${r.key}>${columns.map((c, i) => html`<div class="vrow"><dt>${c.label}</dt><dd class=${highlight(r.data[colKey(c, i)])}><${Cell} v=${r.data[colKey(c, i)]} /></dd></div>`)}</dl>`)}
      ${(t.total == null || t.total > t.pageSize) && html`<div class="table-toolbar"><span></span><${Pager} t=${t} count=${t.view.length} label=${label} /></div>`}
    </div>`
  }

  const toggle = key => {
    if (disabled) return
    const next = new Set(selected)
    next.has(key) ? next.delete(key) : next.add(key)
    if (props.maxSelections === 1 && !selected.has(key)) { next.clear(); next.add(key) }
    setValue([...next].map(k => ({ key: k })))
  }
  const pageKeys = t.view.map(r => r.key)
  const allOnPage = pageKeys.length > 0 && pageKeys.every(k => selected.has(k))
  const someOnPage = pageKeys.some(k => selected.has(k))
  const togglePage = () => {
    const next = new Set(selected)
    if (allOnPage) pageKeys.forEach(k => next.delete(k))
    else pageKeys.forEach(k => next.add(k))
    setValue([...next].map(k => ({ key: k })))
  }
  const { minSelections: lo, maxSelections: hi } = props
  const rule = lo && lo === hi ? ` · select ${lo}` : `${lo ? ` · select at least ${lo}` : ''}${hi ? ` · at most ${hi}` : ''}`
  const selInfo = selectable && html`<span class="table-sel">${selected.size} selected${rule}</span>`
  const nums = numericColumns(columns, t.view)
  const csvTitle = comp.isStateful ? 'Download the rows on screen as CSV' : `Download ${t.all.length === 1 ? 'this row' : `these ${t.all.length} rows`} as CSV`

  return html`<div class=${classes('table-block', t.pending && 'is-pending')}>
    <div class="table-toolbar">
      ${filterable ? html`<${Filter} t=${t} label=${label} />` : html`<span></span>`}
      ${selInfo}
      <span class="table-tools">
        <button type="button" class="btn btn-ghost btn-sm table-csv" title=${csvTitle} aria-label=${`Download ${label} as CSV`} disabled=${t.all.length === 0}
          onClick=${() => downloadCSV(label, toCSV(columns, t.all))}><${Icon} name="download" size=${14} />CSV</button>
        <${Pager} t=${t} count=${t.view.length} label=${label} />
      </span>
    </div>
    <div class="table-scroll">
      <table class="table">
        <thead><tr>
          ${selectable && (hi === 1 ? html`<th class="col-check"><span class="sr-only">Selected</span></th>` : html`<th class="col-check"><input type="checkbox" aria-label="Select all rows on this page" checked=${allOnPage}
            ref=${el => { if (el) el.indeterminate = someOnPage && !allOnPage }} onChange=${togglePage} disabled=${disabled} /></th>`)}
          ${columns.map((c, i) => {
            const k = colKey(c, i)
            const active = t.sort.column === k && t.sort.direction
            return html`<th scope="col" class=${nums.has(k) ? 'num' : undefined} aria-sort=${active ? (t.sort.direction === 'asc' ? 'ascending' : 'descending') : undefined}>${sortable ? html`<button type="button" class=${classes('th-sort', active && 'active')} onClick=${() => t.toggleSort(k)}>
              ${c.label}<${Icon} name=${active ? (t.sort.direction === 'asc' ? 'sortUp' : 'sortDown') : 'sortBoth'} size=${14} class="sort-icon" /></button>` : c.label}</th>`
          })}
          ${hasMenu && html`<th class="col-menu"><span class="sr-only">Row actions</span></th>`}
        </tr></thead>
        <tbody>
          ${t.view.length === 0 && html`<tr><td class="table-empty" colspan=${columns.length + (selectable ? 1 : 0) + (hasMenu ? 1 : 0)}>${props.isAsync && t.pending ? 'Loading…' : t.query ? 'No matching records' : 'No records'}</td></tr>`}
          ${t.view.map(r => html`<tr key=${r.key} class=${classes(selectable && selected.has(r.key) && 'selected', selectable && 'selectable')}
              onClick=${selectable ? e => { if (!e.target.closest('a,button,input')) toggle(r.key) } : undefined}>
            ${selectable && html`<td class="col-check"><input type="checkbox" aria-label=${`Select row ${cellText(r.data[colKey(columns[0] || {}, 0)]) || r.key}`} checked=${selected.has(r.key)} onChange=${() => toggle(r.key)} disabled=${disabled} /></td>`}
            ${columns.map((c, i) => { const k = colKey(c, i); const v = r.data ? r.data[k] : undefined; return html`<td class=${classes(highlight(v), nums.has(k) && 'num')}><${Cell} v=${v} /></td>` })}
            ${hasMenu && html`<td class="col-menu"><${RowMenu} items=${r.menu} /></td>`}
          </tr>`)}
        </tbody>
      </table>
    </div>
    ${t.view.length > 8 && html`<div class="table-toolbar table-toolbar-bottom"><span></span><${Pager} t=${t} count=${t.view.length} label=${label} /></div>`}
  </div>`
}

const FITS = ['cover', 'contain', 'fill', 'none', 'scale-down']

/** Grid renders DISPLAY_GRID. */
export function Grid({ comp, props, onState }) {
  const t = useTableState({ props, stateful: !!comp.isStateful, onState, sortable: false, pageSizeDefault: 20 })
  const filterable = props.isFilterable !== false
  const min = Math.max(140, Math.min(props.idealColumnWidth || 220, 480))
  const label = comp.label || 'grid'
  return html`<div class=${classes('grid-block', t.pending && 'is-pending')}>
    ${(filterable || (t.total || 0) > t.pageSize) && html`<div class="table-toolbar">
      ${filterable ? html`<${Filter} t=${t} label=${label} />` : html`<span></span>`}
      <${Pager} t=${t} count=${t.view.length} label=${label} /></div>`}
    <div class="grid" style=${`grid-template-columns: repeat(auto-fill, minmax(min(${min}px, 100%), 1fr))`}>
      ${t.view.length === 0 && html`<div class="muted">No items</div>`}
      ${t.view.map(it => {
        const d = it.data || {}
        const img = d.image && safeURL(d.image.url)
        const title = d.label || d.title
        // Only a number and a keyword reach the style: a string could
        // carry more declarations (position: fixed, …).
        const ratio = img && Number(d.image.aspectRatio) > 0 ? Number(d.image.aspectRatio) : 16 / 9
        const fit = img && FITS.includes(d.image.fit) ? d.image.fit : 'cover'
        const inner = html`${img && html`<div class="grid-img" style=${{ aspectRatio: String(ratio) }}><img src=${img} alt=${d.image.alt || ''} style=${{ objectFit: fit }} loading="lazy" /></div>`}
          <div class="grid-body">${title && html`<div class="grid-title">${title}</div>`}${d.label && d.title && d.title !== d.label && html`<div class="grid-sub">${d.title}</div>`}${d.description && html`<div class="grid-desc">${d.description}</div>`}</div>`
        const url = safeURL(d.url)
        const href = url || (d.route && routeHref(d.route, d.params))
        return html`<div class="grid-item" key=${it.key}>
          ${href ? html`<a class="grid-link" href=${href} target=${url ? '_blank' : undefined} rel=${url ? 'noopener noreferrer' : undefined}>${inner}</a>` : inner}
          ${d.menu && d.menu.length > 0 && html`<div class="grid-menu"><${RowMenu} items=${d.menu} /></div>`}
        </div>`
      })}
    </div>
  </div>`
}
