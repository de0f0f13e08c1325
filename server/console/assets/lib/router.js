// @ts-check
// Client-side routing: history entries with their own key and data.
import { useEffect, useState } from 'preact/hooks'
import { store } from './store.js'

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
  const t = /** @type {Element} */ (e.target)
  const a = /** @type {HTMLAnchorElement|null} */ (t.closest && t.closest('a[href]'))
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
