// Notifications: what hosts sent the operator (ctx.notify), newest first
// (GET /api/console/notifications). Messages are text, never HTML.
import { useEffect, useState } from 'preact/hooks'
import { html, classes } from '../lib/html.js'
import { api } from '../lib/api.js'
import { store, useStore, toast } from '../lib/store.js'
import { fmtRelative, fmtDateTime } from '../lib/format.js'
import { Icon, Spinner, Empty, ErrorBox, Badge } from '../lib/ui.js'
import { findAction, actionName } from '../lib/routes.js'
import { refreshUnread } from '../lib/notifications.js'

const LIMIT = 50
const METHOD = { EMAIL: 'email', SLACK: 'Slack' }

/** NotificationBell is the top bar's link to the Notifications page with the unread count. */
export function NotificationBell({ unread, active }) {
  const n = unread || 0
  const label = n ? `Notifications, ${n} unread` : 'Notifications'
  return html`<a class=${classes('bell', active && 'active')} href="/notifications" aria-label=${label} title=${label} data-testid="notification-bell">
    <${Icon} name="bell" size=${19} />${n > 0 && html`<span class="bell-count" data-testid="notification-count">${n > 99 ? '99+' : n}</span>`}</a>`
}

function Undelivered({ deliveries }) {
  const notes = (deliveries || []).filter(d => d.note)
  if (!notes.length) return null
  return html`<div class="notif-undelivered small muted">${notes.map(d => html`<div>
    <${Icon} name="info" size=${13} /> Not delivered to ${d.to}${d.method ? ` by ${METHOD[d.method] || d.method}` : ''}: ${d.note.replace(/^not delivered: /, '')}</div>`)}</div>`
}

export function NotificationsView() {
  const s = useStore()
  const [list, setList] = useState(null)
  const [more, setMore] = useState(false)
  const [error, setError] = useState(null)
  const [busy, setBusy] = useState(false)

  const load = async (offset = 0) => {
    const r = await api('GET', `/api/console/notifications?offset=${offset}&limit=${LIMIT}`)
    store.set({ unread: r.unread })
    setMore(!!r.hasMore)
    return r.notifications || []
  }
  useEffect(() => {
    document.title = 'Notifications · Interval'
    load().then(setList).catch(setError)
  }, [])

  const markRead = async n => {
    try {
      await api('POST', `/api/console/notifications/${encodeURIComponent(n.id)}/read`)
      setList(list.map(x => x.id === n.id ? { ...x, readAt: new Date().toISOString() } : x))
      refreshUnread()
    } catch (e) { toast(e.message, { title: 'Could not mark as read', kind: 'error' }) }
  }
  const markAll = async () => {
    setBusy(true)
    try {
      await api('POST', '/api/console/notifications/read-all')
      const now = new Date().toISOString()
      setList(list.map(x => x.readAt ? x : { ...x, readAt: now }))
      store.set({ unread: 0 })
    } catch (e) { toast(e.message, { title: 'Could not mark all as read', kind: 'error' }) } finally { setBusy(false) }
  }
  const loadMore = async () => {
    setBusy(true)
    try { setList([...list, ...await load(list.length)]) } catch (e) { setError(e) } finally { setBusy(false) }
  }
  const unread = s.unread || 0

  return html`<div class="page">
    <div class="page-head"><div><h1 class="page-title">Notifications</h1><p class="page-desc">Messages your actions sent you, newest first.</p></div>
      ${list && list.length > 0 && html`<button type="button" class="btn btn-secondary" disabled=${busy || unread === 0} onClick=${markAll}><${Icon} name="check" />Mark all as read</button>`}</div>
    ${error && html`<${ErrorBox} title="Could not load notifications" message=${error.message} />`}
    ${list === null ? !error && html`<div class="center"><${Spinner} /></div>`
      : list.length === 0 ? html`<${Empty} icon="bell" title="No notifications">When an action notifies you, it shows up here.</${Empty}>`
      : html`<ul class="notifs" data-testid="notifications">${list.map(n => {
          const a = n.actionSlug && findAction(s.routes, n.actionSlug)
          return html`<li class=${classes('card notif', !n.readAt && 'notif-unread')} key=${n.id} data-testid="notification">
            <span class="notif-dot" aria-hidden="true"></span>
            <div class="notif-main">
              <div class="notif-head">
                <span class="card-title notif-title">${n.title || 'Notification'}</span>
                ${!n.readAt && html`<span class="sr-only">(unread)</span>`}
                ${n.env && n.env !== s.env && html`<${Badge}>${n.env}</${Badge}>`}
              </div>
              <p class="notif-message">${n.message}</p>
              <div class="notif-meta muted small">
                <time datetime=${n.createdAt} title=${fmtDateTime(n.createdAt)}>${fmtRelative(n.createdAt)}</time>
                ${n.transactionId && html`<span aria-hidden="true">·</span><a href=${`/transactions/${encodeURIComponent(n.transactionId)}`}><${Icon} name="link" size=${13} />${a ? actionName(a) : n.actionSlug || 'Transaction'}</a>`}
              </div>
              <${Undelivered} deliveries=${n.deliveries} />
            </div>
            ${!n.readAt && html`<button type="button" class="btn btn-ghost btn-sm notif-read" onClick=${() => markRead(n)}><${Icon} name="check" />Mark as read</button>`}
          </li>`
        })}</ul>
        ${more && html`<div class="center"><button type="button" class="btn btn-secondary" disabled=${busy} onClick=${loadMore}>Load more</button></div>`}`}
  </div>`
}
