// The browser side of Interval's wire protocol (PROTOCOL.md §1.4, §2):
// ISocket framing (MESSAGE/ACK, ACK first, "ping" every 15 s, reconnect) and
// DuplexRPC (counter ids, CALL/RESPONSE) over ws(s)://<origin>/websocket.

const PING_INTERVAL = 15000
const ACK_TIMEOUT = 10000
// CONNECT_TIMEOUT bounds the opening of a socket: a network path that
// takes the connection and carries nothing would otherwise hold it for
// minutes, and the console would not try again meanwhile.
const CONNECT_TIMEOUT = 10000

// Server → browser calls answered with no data (void); all others get `true`.
const VOID_METHODS = new Set(['CLIENT_USURPED', 'HOST_CLOSED_UNEXPECTEDLY', 'HOST_RECONNECTED'])

export function uuid() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID()
  const b = crypto.getRandomValues(new Uint8Array(16))
  b[6] = (b[6] & 0x0f) | 0x40
  b[8] = (b[8] & 0x3f) | 0x80
  const h = [...b].map(x => x.toString(16).padStart(2, '0')).join('')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

let rpcCounter = 0 // module-level, never reset (as in the official clients)

export class NotConnectedError extends Error {
  constructor() { super('Not connected to the server'); this.name = 'NotConnectedError' }
}

/**
 * ConsoleSocket keeps one socket to the server open, reconnecting with a
 * back-off, and exposes DuplexRPC calls and server-call handlers.
 *
 * status: 'connecting' | 'open' | 'reconnecting' | 'closed' | 'unauthorized'
 */
export class ConsoleSocket {
  constructor({ url, onStatus = () => {}, onReady = () => {}, onClose = () => {} } = {}) {
    this.url = url || `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/websocket`
    this.onStatus = onStatus
    this.onReady = onReady
    this.onClose = onClose
    this.handlers = new Map()
    this.acks = new Map() // message id → {resolve, reject, timer}
    this.calls = new Map() // rpc id → {resolve, reject}
    this.status = 'connecting'
    this.ws = null
    this.stopped = false
    this.attempt = 0
    this.readyWaiters = []
  }

  /** on registers the handler of a server → browser method. */
  on(method, fn) {
    if (!this.handlers.has(method)) this.handlers.set(method, new Set())
    this.handlers.get(method).add(fn)
    return () => this.handlers.get(method).delete(fn)
  }

  emit(method, data) {
    for (const h of this.handlers.get(method) || []) {
      try { h(data) } catch (e) { console.error(method, e) }
    }
  }

  start() {
    this.stopped = false
    if (this.ws) return
    this.setStatus('connecting')
    this.connect()
  }

  stop() {
    this.stopped = true
    clearTimeout(this.retryTimer)
    if (this.ws) this.ws.close(1000, 'Closed by client')
    this.setStatus('closed')
  }

  setStatus(s) {
    if (this.status === s) return
    this.status = s
    this.onStatus(s)
    if (s === 'open') {
      const w = this.readyWaiters
      this.readyWaiters = []
      w.forEach(f => f())
    }
  }

  /** ready resolves once the socket is open and the client initialized. */
  ready() {
    if (this.status === 'open') return Promise.resolve()
    return new Promise(res => this.readyWaiters.push(res))
  }

  connect() {
    let ws
    try {
      ws = new WebSocket(this.url)
    } catch (e) {
      this.scheduleReconnect()
      return
    }
    this.ws = ws
    let initialized = false
    let opened = false
    let pingTimer = null
    const openTimer = setTimeout(() => {
      if (opened || this.ws !== ws) return
      console.warn('the server did not open the socket in', CONNECT_TIMEOUT, 'ms: trying again')
      lost({ code: 1006, reason: '' })
      try { ws.close() } catch (e) { /* closing already */ }
    }, CONNECT_TIMEOUT)
    const init = async () => {
      if (initialized || this.ws !== ws) return
      initialized = true
      try {
        await this.call('INITIALIZE_CLIENT', undefined, { force: true })
      } catch (e) {
        console.warn('INITIALIZE_CLIENT failed', e)
      }
      if (this.ws !== ws) return
      this.attempt = 0
      const again = this.openedBefore
      this.openedBefore = true
      this.setStatus('open')
      this.onReady()
      // Views re-attach to their transaction or page after a reconnect.
      if (again) this.emit('__reconnected', {})
    }
    ws.onopen = () => {
      opened = true
      clearTimeout(openTimer)
      pingTimer = setInterval(() => {
        this.sendMessage('ping').catch(() => {})
      }, PING_INTERVAL)
      // Interval servers send an "authenticated" MESSAGE to browsers too;
      // this server authenticates browsers at the upgrade and may not, so
      // initialize at once (init runs only once per socket).
      init()
    }
    ws.onmessage = ev => {
      if (this.ws !== ws) return
      let frame
      try {
        frame = JSON.parse(ev.data)
      } catch (e) {
        console.warn('malformed frame', ev.data)
        return
      }
      if (frame.type === 'ACK') {
        const p = this.acks.get(frame.id)
        if (p) {
          this.acks.delete(frame.id)
          clearTimeout(p.timer)
          p.resolve()
        }
        return
      }
      if (frame.type !== 'MESSAGE') return
      // ACK immediately, before processing.
      ws.send(JSON.stringify({ type: 'ACK', id: frame.id }))
      if (frame.data === 'authenticated') {
        clearTimeout(this.authTimer)
        init()
        return
      }
      if (frame.data === 'ping') return
      this.receive(frame.data)
    }
    // lost ends the socket's life for the console: at its close, or once
    // the server stopped acknowledging (unresponsive), which a stalled
    // network may not turn into a close for many minutes.
    const lost = ev => {
      clearInterval(pingTimer)
      clearTimeout(openTimer)
      clearTimeout(this.authTimer)
      if (this.ws !== ws) return
      this.ws = null
      for (const [, p] of this.acks) { clearTimeout(p.timer); p.reject(new NotConnectedError()) }
      this.acks.clear()
      for (const [, p] of this.calls) p.reject(new NotConnectedError())
      this.calls.clear()
      if (this.stopped) return
      // Every close but ours reconnects (a network drop, 1006; the server
      // restarting, 1012; or closing us, 1008, for a message we did not
      // acknowledge in time or too many calls): views re-attach then. The
      // reason of the close that dropped an open socket is kept through
      // the failed attempts that may follow.
      if (opened) this.onClose({ code: ev.code, reason: ev.reason || '' })
      if (ev.code === 1008 && /auth|session|login/i.test(ev.reason || '')) {
        this.setStatus('unauthorized')
      }
      this.scheduleReconnect()
    }
    ws.onclose = lost
    ws.lost = lost
  }

  /**
   * unresponsive gives up socket ws, whose server acknowledged nothing
   * for ACK_TIMEOUT (it ACKs every message at once; a ping is sent every
   * PING_INTERVAL): what waits on it fails as at a close, and the console
   * reconnects at once, on a new connection.
   */
  unresponsive(ws) {
    if (this.ws !== ws) return
    console.warn('the server acknowledged nothing for', ACK_TIMEOUT, 'ms: reconnecting')
    ws.lost({ code: 1006, reason: '' })
    try { ws.close(4000, 'No acknowledgement in time') } catch (e) { /* closing already */ }
    this.attempt = 0
    this.reconnectNow()
  }

  scheduleReconnect() {
    if (this.stopped) return
    if (this.status !== 'unauthorized') this.setStatus(this.status === 'connecting' && this.attempt === 0 ? 'connecting' : 'reconnecting')
    this.attempt++
    const delay = Math.min(8000, 500 * 2 ** Math.min(this.attempt - 1, 4)) * (0.8 + Math.random() * 0.4)
    clearTimeout(this.retryTimer)
    this.retryTimer = setTimeout(() => this.connect(), delay)
  }

  /** reconnectNow skips the back-off (the "retry" link of the status chip). */
  reconnectNow() {
    if (this.ws || this.stopped) return
    clearTimeout(this.retryTimer)
    this.connect()
  }

  sendMessage(data) {
    const ws = this.ws
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new NotConnectedError())
    const id = uuid()
    return new Promise((resolve, reject) => {
      // Rejected with NotConnectedError as the socket is given up.
      const timer = setTimeout(() => this.unresponsive(ws), ACK_TIMEOUT)
      this.acks.set(id, { resolve, reject, timer })
      ws.send(JSON.stringify({ type: 'MESSAGE', id, data }))
    })
  }

  /** call sends a DuplexRPC CALL and resolves with the RESPONSE's data. */
  async call(methodName, data, { force = false } = {}) {
    if (!force && this.status !== 'open') await this.ready()
    const id = String(++rpcCounter)
    const env = { id, kind: 'CALL', methodName }
    if (data !== undefined) env.data = data
    const p = new Promise((resolve, reject) => this.calls.set(id, { resolve, reject }))
    try {
      await this.sendMessage(JSON.stringify(env))
    } catch (e) {
      this.calls.delete(id)
      p.catch(() => {}) // rejected too when the socket closed: the caller hears e, once
      throw e
    }
    return p
  }

  receive(text) {
    let env
    try {
      env = JSON.parse(text)
    } catch (e) {
      console.warn('malformed RPC envelope', text)
      return
    }
    if (env.kind === 'RESPONSE') {
      const p = this.calls.get(env.id)
      if (p) {
        this.calls.delete(env.id)
        p.resolve(env.data)
      }
      return
    }
    if (env.kind !== 'CALL') return
    const hs = this.handlers.get(env.methodName)
    if (!hs || hs.size === 0) {
      console.debug('unhandled server call', env.methodName)
    }
    for (const h of hs || []) {
      try { h(env.data || {}) } catch (e) { console.error(env.methodName, e) }
    }
    const resp = { id: env.id, kind: 'RESPONSE', methodName: env.methodName }
    if (!VOID_METHODS.has(env.methodName)) resp.data = true
    this.sendMessage(JSON.stringify(resp)).catch(() => {})
  }
}
