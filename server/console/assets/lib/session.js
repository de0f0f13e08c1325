// Session state shared by the views: the socket, the user and the routes.
import { api } from './api.js'
import { store, toast } from './store.js'
import { navigate } from './router.js'
import { ConsoleSocket } from './socket.js'
import { refreshUnread } from './notifications.js'

let authCheck
export const socket = new ConsoleSocket({
  onClose: c => {
    store.set({ socketClose: c })
    // An admin changed this user's role or teams: the server closed the
    // socket so it reconnects as the new user; the console follows (menus,
    // links and what the dashboard lists).
    if (c.code === 1012 && /role or teams/i.test(c.reason)) refreshMe()
  },
  onStatus: s => {
    store.set({ socketStatus: s })
    // A socket that keeps failing may mean the session ended: check, and
    // show the login page if so.
    clearTimeout(authCheck)
    if (s === 'reconnecting' || s === 'unauthorized') {
      authCheck = setTimeout(async () => {
        try {
          await api('GET', '/api/auth/me')
        } catch (e) {
          if (e.status === 401) {
            socket.stop()
            store.set({ me: null, routes: null })
          }
        }
      }, s === 'unauthorized' ? 0 : 3000)
    }
  },
})
window.__intervalSocket = socket
socket.on('NOTIFY', d => { toast(d.message, { title: d.title }); refreshUnread() })
// Host status changes: refresh the routes (and with them the hosts).
for (const m of ['HOST_CLOSED_UNEXPECTEDLY', 'HOST_RECONNECTED']) socket.on(m, () => loadRoutes())

export async function loadMe() {
  try {
    const me = await api('GET', '/api/auth/me')
    const envs = me.environments && me.environments.length ? me.environments : ['development', 'production']
    let env = store.state.env
    if (!envs.includes(env)) env = envs[0]
    clearTimeout(bootRetry)
    store.set({ me, env, bootError: null })
    socket.start()
    loadRoutes()
  } catch (e) {
    if (e.status === 401) {
      store.set({ me: null, bootError: null })
      return
    }
    // The server did not answer who this is (it is unreachable, or its
    // database is): that is no logout. Keep waiting, and say why.
    store.set({ me: undefined, bootError: e.message.replace(/;\s*try again\.?$/i, '.') })
    clearTimeout(bootRetry)
    bootRetry = setTimeout(loadMe, BOOT_RETRY)
  }
}

// BOOT_RETRY is how long the console waits before asking again who is
// logged in, after the server failed to answer (ms).
const BOOT_RETRY = 2000
let bootRetry

async function refreshMe() {
  try {
    store.set({ me: await api('GET', '/api/auth/me') })
    loadRoutes()
  } catch (e) {
    if (e.status === 401) {
      socket.stop()
      store.set({ me: null, routes: null })
    }
  }
}

let routesTimer
export async function loadRoutes() {
  clearTimeout(routesTimer)
  try {
    const routes = await api('GET', `/api/console/routes?env=${encodeURIComponent(store.state.env)}`)
    store.set({ routes, routesError: null })
  } catch (e) {
    if (e.status !== 401) store.set({ routesError: e.message })
  }
  // Host status changes without a push: refresh while the tab is visible.
  routesTimer = setTimeout(() => { if (document.visibilityState === 'visible') loadRoutes(); else routesTimer = setTimeout(loadRoutes, 10000) }, 10000)
}
document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible' && store.state.me) loadRoutes() })

export function setEnv(env) {
  if (env === store.state.env) return
  localStorage.setItem('interval.env', env)
  store.set({ env, routes: null })
  loadRoutes()
}

export async function logout() {
  try { await api('POST', '/api/auth/logout') } catch (e) { /* already out */ }
  socket.stop()
  store.set({ me: null, routes: null })
  navigate('/login', { force: true })
}

