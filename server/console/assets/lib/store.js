// @ts-check
// The console's one store (session, routes, toasts) and its hook.
import { useEffect, useState } from 'preact/hooks'

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

/**
 * toast shows a message for timeout ms (0: until dismissed).
 * @param {string} message
 * @param {{title?: string, kind?: string, timeout?: number}} [opts]
 */
export function toast(message, { title, kind = 'info', timeout = 6000 } = {}) {
  const id = ++toastSeq
  store.set({ toasts: [...store.state.toasts, { id, message, title, kind }] })
  if (timeout) setTimeout(() => dismissToast(id), timeout)
}
export function dismissToast(id) {
  store.set({ toasts: store.state.toasts.filter(t => t.id !== id) })
}
