// The unread count of the operator's notifications (the top bar's bell):
// fetched at start, every 30 s, when the tab comes back and after a
// notification toast or a change on the Notifications page.
import { api } from './api.js'
import { store } from './store.js'

const POLL_MS = 30000
let timer = null

/** refreshUnread fetches the unread count into store.state.unread. */
export async function refreshUnread() {
  try {
    const r = await api('GET', '/api/console/notifications/unread')
    if (r && typeof r.unread === 'number' && r.unread !== store.state.unread) store.set({ unread: r.unread })
  } catch {
    // Offline or logged out: the next poll tries again.
  }
}

/** startUnreadPolling refreshes the count now and every 30 s (once). */
export function startUnreadPolling() {
  if (timer) return
  refreshUnread()
  timer = setInterval(() => { if (document.visibilityState !== 'hidden') refreshUnread() }, POLL_MS)
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') refreshUnread() })
}
