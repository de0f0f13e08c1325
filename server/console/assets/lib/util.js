// Shared helpers: HTTP API client, router, tiny store, superjson decoding,
// formatting.
import { h } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import htm from 'htm'
import DOMPurify from 'dompurify'

export const html = htm.bind(h)

// ---- what hosts send: URLs and HTML ----

/**
 * safeURL returns a host's URL when the console may open, load or go to
 * it, else null: not javascript:, vbscript:, or data: other than image/,
 * video/ or audio/, read the way the browser reads it. The server applies
 * the same rule first (server/internal/markup SafeURL); the CSP is the
 * wall behind both.
 */
export function safeURL(u) {
  if (typeof u !== 'string' || u === '') return null
  let url
  try { url = new URL(u, location.href) } catch { return null }
  const scheme = url.protocol.slice(0, -1).toLowerCase()
  if (scheme === 'javascript' || scheme === 'vbscript' || scheme === 'livescript') return null
  if (scheme === 'data' && !/^\s*(image|video|audio)\//i.test(decodeURIComponentSafe(url.pathname))) return null
  return u
}

function decodeURIComponentSafe(s) {
  try { return decodeURIComponent(s) } catch { return s }
}

// The inline styles host HTML may keep: the server's policy
// (server/internal/markup), none of which can move, size or lay anything
// over the console. Shorthands are listed with their longhands, as the
// browser reports them.
const STYLE_PROPS = new Set(['color', 'background-color', 'text-align', 'font-weight', 'font-style',
  'text-decoration', 'text-decoration-line', 'text-decoration-style', 'text-decoration-color', 'text-decoration-thickness',
  'vertical-align', 'white-space', 'white-space-collapse', 'text-wrap-mode'])
const CODE_CLASS = /^language-[\w+#.-]{1,40}$/

DOMPurify.addHook('afterSanitizeAttributes', node => {
  if (!node.hasAttribute) return
  if (node.hasAttribute('style')) {
    const st = node.style
    const keep = []
    for (let i = 0; st && i < st.length; i++) {
      const prop = st[i]
      const val = st.getPropertyValue(prop)
      if (STYLE_PROPS.has(prop) && !/url\(|image|expression|var\(|attr\(/i.test(val)) keep.push(`${prop}: ${val}`)
    }
    if (keep.length) node.setAttribute('style', keep.join('; '))
    else node.removeAttribute('style')
  }
  // The console's own classes would let host HTML take their look (a
  // modal's backdrop over everything); only code's language stays.
  if (node.hasAttribute('class') && !(node.tagName === 'CODE' && CODE_CLASS.test(node.getAttribute('class')))) node.removeAttribute('class')
  for (const a of ['href', 'src', 'xlink:href', 'action', 'formaction']) {
    if (node.hasAttribute(a) && !safeURL(node.getAttribute(a))) node.removeAttribute(a)
  }
})

/**
 * sanitize is the one policy for HTML from hosts and for what the rich
 * text editor holds: the server's (server/internal/markup) again, so HTML
 * it passed is left as it is. No script, handler, form control, <style>,
 * style that positions or sizes, console class, or script URL survives.
 */
const SANITIZE = { USE_PROFILES: { html: true }, FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'link', 'meta', 'base'], ADD_ATTR: ['target'] }

export function sanitize(h) {
  return DOMPurify.sanitize(h, SANITIZE)
}

/** sanitizeToFragment is sanitize returning a DocumentFragment of this document (the rich text editor's paste and setHTML). */
export function sanitizeToFragment(h) {
  const f = DOMPurify.sanitize(h, { ...SANITIZE, RETURN_DOM_FRAGMENT: true })
  return f ? document.importNode(f, true) : document.createDocumentFragment()
}

// ---- HTTP API (server/API.md) ----

export class APIError extends Error {
  constructor(status, message) {
    super(message)
    this.status = status
  }
}

export async function api(method, path, body) {
  const opts = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' }
  if (method !== 'GET' && method !== 'HEAD') opts.headers['X-Interval-Console'] = '1'
  if (body instanceof FormData) {
    opts.body = body
  } else if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json'
    opts.body = JSON.stringify(body)
  }
  let res
  try {
    res = await fetch(path, opts)
  } catch (e) {
    throw new APIError(0, 'Could not reach the server. Check your connection and try again.')
  }
  if (res.status === 204) return null
  const text = await res.text()
  let data = null
  if (text) {
    try { data = JSON.parse(text) } catch { data = null }
  }
  if (!res.ok) {
    const msg = (data && (data.error || data.message)) || `${res.status} ${res.statusText}`
    const err = new APIError(res.status, msg)
    const ra = Number(res.headers.get('Retry-After'))
    if (ra > 0) err.retryAfter = ra // seconds (429)
    if (res.status === 401 && !path.startsWith('/api/auth/')) store.set({ me: null })
    throw err
  }
  return data
}

/** throttled says how long a throttled password login (429, Retry-After) waits. */
export function throttled(x) {
  if (!x.retryAfter) return x.message
  const m = Math.max(1, Math.ceil(x.retryAfter / 60))
  return `Too many failed logins for this email. Try again in ${m} minute${m === 1 ? '' : 's'}, or ask an admin for a one-time login link.`
}

// ---- store ----

const listeners = new Set()
export const store = {
  state: {
    me: undefined, // undefined = loading, null = logged out
    env: localStorage.getItem('interval.env') || 'development',
    routes: null,
    socketStatus: 'connecting',
    socketClose: null, // {code, reason} of the last socket close
    toasts: [],
  },
  set(patch) {
    this.state = { ...this.state, ...patch }
    listeners.forEach(f => f(this.state))
  },
}

export function useStore() {
  const [s, setS] = useState(store.state)
  useEffect(() => {
    listeners.add(setS)
    setS(store.state)
    return () => listeners.delete(setS)
  }, [])
  return s
}

let toastSeq = 0
export function toast(message, { title, kind = 'info', timeout = 6000 } = {}) {
  const id = ++toastSeq
  store.set({ toasts: [...store.state.toasts, { id, message, title, kind }] })
  if (timeout) setTimeout(() => dismissToast(id), timeout)
}
export function dismissToast(id) {
  store.set({ toasts: store.state.toasts.filter(t => t.id !== id) })
}

// ---- router ----

// Every navigation gets its own key in history.state (like a browser tab's
// history entry): a view keyed by it starts afresh even at the same URL
// ("New transaction", the sidebar link of the action on screen), and back
// and forward return to the entry's key. data carries what the next view
// needs and the URL does not show (the queued action QueueView runs).
let navSeq = 0

const routeListeners = new Set()
let guard = null // () => boolean: false blocks in-app navigation

/** setNavigationGuard installs fn (or null), asked before in-app navigation. */
export function setNavigationGuard(fn) { guard = fn }

/**
 * navigate moves the app to another address (a new history entry, or the
 * current one replaced). force skips the navigation guard (a running
 * transaction's leave prompt); data is kept in the entry's state for the
 * next view (readLocation().data).
 */
export function navigate(to, { replace = false, force = false, data = null } = {}) {
  const url = new URL(to, location.href)
  if (url.origin !== location.origin) {
    location.assign(url.href)
    return
  }
  if (!force && guard && !guard()) return
  const path = url.pathname + url.search + url.hash
  const state = { key: `${Date.now().toString(36)}.${++navSeq}`, data }
  if (replace) history.replaceState(state, '', path)
  else history.pushState(state, '', path)
  routeListeners.forEach(f => f())
  if (!replace) window.scrollTo(0, 0)
}

/**
 * readLocation returns the address (href: path and query), the history
 * entry's key ('initial' for the page's first entry) and its data.
 */
export function readLocation() {
  const st = history.state || {}
  return { href: location.pathname + location.search, key: st.key || 'initial', data: st.data || null }
}

/** takeLocationData returns the entry's data once: a reload does not see it again. */
export function takeLocationData() {
  const st = history.state
  if (!st || !st.data) return null
  history.replaceState({ ...st, data: null }, '')
  return st.data
}

/** useLocation is the current location (readLocation), new at every navigation. */
export function useLocation() {
  const [loc, setLoc] = useState(readLocation)
  useEffect(() => {
    const f = () => setLoc(readLocation())
    routeListeners.add(f)
    window.addEventListener('popstate', f)
    return () => { routeListeners.delete(f); window.removeEventListener('popstate', f) }
  }, [])
  return loc
}

// Intercept same-origin link clicks for client-side routing.
document.addEventListener('click', e => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
  const a = e.target.closest && e.target.closest('a[href]')
  if (!a || a.target === '_blank' || a.hasAttribute('download')) return
  const url = new URL(a.href, location.href)
  if (url.origin !== location.origin) return
  if (url.pathname.startsWith('/uploads/') || url.pathname.startsWith('/api/') || url.pathname.startsWith('/login/link')) return
  e.preventDefault()
  navigate(url.pathname + url.search + url.hash)
})

/** routeHref is the console URL of a route slug (an action or a page). */
export function routeHref(slug, params) {
  const routes = store.state.routes
  const isPage = routes && routes.pages.some(p => p.slug === slug) && !routes.actions.some(a => a.slug === slug)
  const qs = paramsQuery(params)
  return `/${isPage ? 'pages' : 'actions'}/${slug}${qs}`
}

export function paramsQuery(params) {
  if (!params) return ''
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue
    q.set(k, v === null ? '' : v instanceof Date ? v.toISOString() : String(v))
  }
  const s = q.toString()
  return s ? `?${s}` : ''
}

// ---- superjson (PROTOCOL.md §4.5): decode the meta half ----

function splitPath(p) {
  const out = []
  let cur = ''
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '\\' && p[i + 1] === '.') { cur += '.'; i++ } else if (p[i] === '.') { out.push(cur); cur = '' } else cur += p[i]
  }
  out.push(cur)
  return out
}

function transform(v, ann) {
  if (Array.isArray(ann)) {
    if (ann[0] === 'custom') return v
    return v
  }
  switch (ann) {
    case 'Date': { const d = new Date(v); return isNaN(d) ? v : d }
    case 'bigint': return String(v)
    case 'undefined': return undefined
    case 'number': return Number(v)
    case 'set': return Array.isArray(v) ? v : v
    case 'map': return Array.isArray(v) ? Object.fromEntries(v) : v
    default: return v
  }
}

function applyNode(v, node) {
  if (!Array.isArray(node)) return v
  const [ann, children] = node
  if (children && v && typeof v === 'object') {
    for (const [k, child] of Object.entries(children)) setPath(v, splitPath(k), child)
  }
  return transform(v, ann)
}

function setPath(root, parts, node) {
  let o = root
  for (let i = 0; i < parts.length - 1; i++) {
    if (o == null) return
    o = o[parts[i]]
  }
  if (o == null || typeof o !== 'object') return
  const k = parts[parts.length - 1]
  o[k] = applyNode(o[k], node)
}

/** deserialize returns json with the superjson meta applied (a deep copy). */
export function deserialize(json, meta) {
  if (!meta || !meta.values) return json
  const v = json === undefined ? undefined : JSON.parse(JSON.stringify(json))
  const tree = meta.values
  if (Array.isArray(tree)) return applyNode(v, tree)
  if (v && typeof v === 'object') {
    for (const [k, node] of Object.entries(tree)) setPath(v, splitPath(k), node)
  }
  return v
}

// ---- formatting ----

const dtf = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const df = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' })
const nf = new Intl.NumberFormat()

export function fmtDateTime(d) {
  const x = d instanceof Date ? d : new Date(d)
  return isNaN(x) ? String(d) : dtf.format(x)
}
export function fmtDate(d) {
  const x = d instanceof Date ? d : new Date(d)
  return isNaN(x) ? String(d) : df.format(x)
}
export function fmtNumber(n) { return nf.format(n) }

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })
export function fmtRelative(d) {
  const x = d instanceof Date ? d : new Date(d)
  if (isNaN(x)) return ''
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

export function classes(...xs) { return xs.filter(Boolean).join(' ') }

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

export function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text).then(() => toast('Copied to clipboard', { timeout: 2000 }))
  }
  const ta = document.createElement('textarea')
  ta.value = text
  document.body.appendChild(ta)
  ta.select()
  document.execCommand('copy')
  ta.remove()
  toast('Copied to clipboard', { timeout: 2000 })
  return Promise.resolve()
}
