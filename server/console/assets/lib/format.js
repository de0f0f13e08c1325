// @ts-check
// How values, dates, durations and run statuses read in the console.

const dtf = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const df = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' })
const nf = new Intl.NumberFormat()

export function fmtDateTime(d) {
  const x = d instanceof Date ? d : new Date(d)
  return isNaN(x.getTime()) ? String(d) : dtf.format(x)
}
export function fmtDate(d) {
  const x = d instanceof Date ? d : new Date(d)
  return isNaN(x.getTime()) ? String(d) : df.format(x)
}
export function fmtNumber(n) { return nf.format(n) }

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })
export function fmtRelative(d) {
  const x = d instanceof Date ? d : new Date(d)
  if (isNaN(x.getTime())) return ''
  const s = (x.getTime() - Date.now()) / 1000
  const a = Math.abs(s)
  if (a < 45) return 'just now'
  if (a < 3600) return rtf.format(Math.round(s / 60), 'minute')
  if (a < 86400) return rtf.format(Math.round(s / 3600), 'hour')
  if (a < 86400 * 7) return rtf.format(Math.round(s / 86400), 'day')
  return fmtDate(x)
}

export function fmtDuration(ms) {
  if (ms == null) return '—'
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`
  return `${Math.floor(m / 60)} h ${m % 60} min`
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/
export function isISODate(s) { return typeof s === 'string' && ISO.test(s) }

/** fmtValue is the text of a primitive value (cells, metadata, results). */
export function fmtValue(v) {
  if (v === null || v === undefined) return '—'
  if (v instanceof Date) return fmtDateTime(v)
  if (typeof v === 'number') return fmtNumber(v)
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  if (isISODate(v)) return fmtDateTime(v)
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

// humanize names a slug the way the server does (internal/naming.Humanize,
// Interval's rule): the last segment in words split at - _ . spaces and
// camelCase humps, a run of capitals one word, sentence case:
// "refundUser" → "Refund user", "APIKeys" → "Api keys".
export function humanize(slug) {
  let s = String(slug).split('/').pop()
  if (s === s.toUpperCase()) s = s.toLowerCase()
  const words = s.split(/[-_.\s]+/).flatMap(part => part.match(/\p{Lu}+(?=\p{Lu}\p{Ll})|\p{Lu}?[^\p{Lu}]+|\p{Lu}+/gu) || [])
  const name = words.map(w => w.toLowerCase()).join(' ')
  return name.charAt(0).toUpperCase() + name.slice(1)
}


export const STATUS_LABELS = {
  PENDING: 'Pending', RUNNING: 'Running', AWAITING_INPUT: 'Awaiting input', HOST_DROPPED: 'Host disconnected',
  COMPLETED: 'Completed', CANCELED: 'Canceled', SUCCESS: 'Completed', FAILURE: 'Error', REDIRECTED: 'Redirected',
}

export function txStatus(tx) {
  if (tx.status === 'COMPLETED') {
    if (tx.resultStatus === 'FAILURE') return { label: 'Error', tone: 'danger' }
    if (tx.resultStatus === 'REDIRECTED') return { label: 'Redirected', tone: 'neutral' }
    if (tx.resultStatus === 'CANCELED') return { label: 'Canceled', tone: 'neutral' }
    return { label: 'Completed', tone: 'success' }
  }
  if (tx.status === 'CANCELED') return { label: 'Canceled', tone: 'neutral' }
  if (tx.status === 'HOST_DROPPED') return { label: 'Host disconnected', tone: 'warning' }
  return { label: STATUS_LABELS[tx.status] || tx.status, tone: 'info' }
}
