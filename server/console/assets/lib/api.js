// @ts-check
// The console HTTP API client (server/API.md).
import { store } from './store.js'

/** APIError is a refused or failed API call: its HTTP status (0: no answer) and the server's message. */
export class APIError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   */
  constructor(status, message) {
    super(message)
    this.status = status
    /** @type {number|undefined} seconds to wait, from a 429's Retry-After */
    this.retryAfter = undefined
  }
}

/**
 * API_TIMEOUT bounds a call's wait for the server's answer (an upload's is
 * not bounded): a request sent on a connection whose network path died
 * without a close is never answered, and the browser does not give up on
 * it for many minutes.
 */
export const API_TIMEOUT = 15000

/**
 * api calls the console API and returns its JSON answer (null for 204).
 * @param {string} method
 * @param {string} path
 * @param {any} [body] JSON, or FormData for uploads
 * @param {{timeout?: number}} [options] timeout: ms to wait for the answer (API_TIMEOUT)
 * @returns {Promise<any>}
 */
export async function api(method, path, body, { timeout = API_TIMEOUT } = {}) {
  /** @type {RequestInit & {headers: Record<string, string>}} */
  const opts = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' }
  if (!(body instanceof FormData)) opts.signal = AbortSignal.timeout(timeout)
  if (method !== 'GET' && method !== 'HEAD') opts.headers['X-Interval-Console'] = '1'
  if (body instanceof FormData) {
    opts.body = body
  } else if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json'
    opts.body = JSON.stringify(body)
  }
  let res, text
  try {
    res = await fetch(path, opts)
    text = await res.text()
  } catch (e) {
    if (e && e.name === 'TimeoutError') {
      throw new APIError(0, `The server did not answer within ${Math.round(timeout / 1000)} s. Check your connection and try again.`)
    }
    throw new APIError(0, 'Could not reach the server. Check your connection and try again.')
  }
  if (res.status === 204) return null
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
  // The server says which limit it is (this address, this email, or the
  // server's own ceiling) and how long to wait.
  return x.message
}
