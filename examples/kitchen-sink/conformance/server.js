// A fake Interval server that runs every action and page a host declares and
// checks every message the host sends against the zod schemas of the official
// @interval/sdk 2.0.0 (internalRpcSchema, ioSchema, Layout). Usage:
//   node server.js --report report.json
// It prints "PORT <n>" once listening, runs the routes once the host
// initializes, writes the report when the host disconnects (or on SIGTERM),
// and exits.
'use strict'
const http = require('http')
const fs = require('fs')
const crypto = require('crypto')
const { WebSocketServer } = require('ws')
const { z } = require('zod')
const rpcSchema = require('@interval/sdk/dist/internalRpcSchema')
const { ioSchema, IO_RENDER, DISPLAY_RENDER } = require('@interval/sdk/dist/ioSchema')
const { LAYOUT_SCHEMA } = require('@interval/sdk/dist/classes/Layout')
const superjson = require('superjson')

const args = process.argv.slice(2)
const reportPath = args[args.indexOf('--report') + 1]
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
// Keys our host may add beyond the schema (receivers strip unknown keys).
const EXTRA_OK = { INITIALIZE_HOST: ['implementation'] }

const report = { violations: [], messages: 0, ioCalls: 0, methods: {}, actions: {}, pages: {}, setStates: 0 }
function violation(where, detail) {
  report.violations.push({ where, detail: typeof detail === 'string' ? detail : JSON.stringify(detail).slice(0, 2000) })
}
function strictParse(schema, value, where, extra = []) {
  let s = schema
  if (s instanceof z.ZodObject) {
    s = s.extend(Object.fromEntries(extra.map((k) => [k, z.any()]))).strict()
  }
  const r = s.safeParse(value)
  if (!r.success) violation(where, r.error.issues)
  return r.success
}

let rpcId = 0
let ws = null
const pending = new Map() // rpc id -> resolve
const waiters = new Map() // transactionId/pageKey -> fn(event)

function sendFrame(obj) { ws.send(JSON.stringify(obj)) }
function sendMessage(data) { sendFrame({ id: crypto.randomUUID(), data, type: 'MESSAGE' }) }
function call(methodName, data) {
  const id = String(++rpcId)
  const s = rpcSchema.hostSchema[methodName]
  if (s) s.inputs.parse(data) // our own calls must be valid too
  return new Promise((resolve) => {
    pending.set(id, { resolve, methodName })
    sendMessage(JSON.stringify({ id, kind: 'CALL', data, methodName }))
  })
}
function respond(id, methodName, data) {
  const env = { id, kind: 'RESPONSE', methodName }
  if (data !== undefined) env.data = data
  sendMessage(JSON.stringify(env))
}
function emit(key, ev) { const w = waiters.get(key); if (w) w(ev) }

function checkRender(ioCallStr, where) {
  let render
  try { render = JSON.parse(ioCallStr) } catch (e) { violation(where, 'ioCall is not JSON: ' + e.message); return null }
  strictParse(IO_RENDER, render, where + ' IO_RENDER')
  if (!UUID.test(render.id) || !UUID.test(render.inputGroupKey)) violation(where, 'render id/inputGroupKey not UUIDs')
  for (const c of render.toRender || []) {
    const m = ioSchema[c.methodName]
    if (!m) { violation(where, 'unknown methodName ' + c.methodName); continue }
    for (const k of Object.keys(c)) {
      if (!['methodName', 'label', 'props', 'propsMeta', 'isStateful', 'isOptional', 'isMultiple', 'validationErrorMessage', 'multipleProps'].includes(k)) violation(where, 'unknown component key ' + k)
    }
    // Receivers apply the superjson meta before validating (null + "undefined" → absent).
    let props = c.props
    if (c.propsMeta) {
      try { props = superjson.deserialize({ json: c.props, meta: c.propsMeta }) } catch (e) { violation(where, 'propsMeta: ' + e.message) }
    }
    strictParse(m.props, props, `${where} ${c.methodName} props`)
  }
  return render
}

function valueFor(c) {
  const p = c.props || {}
  let v
  switch (c.methodName) {
    case 'INPUT_TEXT': v = 'conformance'.padEnd(p.minLength || 0, 'x'); if (p.maxLength) v = v.slice(0, p.maxLength); break
    case 'INPUT_EMAIL': v = 'ops@example.com'; break
    case 'INPUT_NUMBER': v = p.defaultValue != null ? p.defaultValue : p.min !== undefined ? p.min : (p.max !== undefined ? Math.min(1, p.max) : 1); break
    case 'INPUT_SLIDER': v = p.min; break
    case 'INPUT_URL': v = 'https://example.com/path'; break
    case 'INPUT_BOOLEAN': v = true; break
    case 'INPUT_RICH_TEXT': v = '<p>Hello</p>'; break
    case 'INPUT_DATE': v = { year: 2024, month: 3, day: 9 }; break
    case 'INPUT_TIME': v = { hour: 13, minute: 45 }; break
    case 'INPUT_DATETIME': v = { year: 2024, month: 3, day: 9, hour: 13, minute: 45 }; break
    case 'UPLOAD_FILE': v = { name: 'a.txt', type: 'text/plain', lastModified: 1700000000000, size: 5, url: 'http://127.0.0.1/uploads/a.txt' }; break
    case 'SEARCH': v = p.results && p.results.length ? p.results[0].value : null; break
    case 'SELECT_SINGLE': v = p.options && p.options[0] ? { label: p.options[0].label, value: p.options[0].value } : null; break
    case 'SELECT_MULTIPLE': v = (p.options || []).slice(0, Math.max(p.minSelections || 0, 1)).map((o) => ({ label: o.label, value: o.value })); break
    case 'SELECT_TABLE': v = (p.data || []).slice(0, Math.max(p.minSelections || 0, 1)).map((r) => ({ key: r.key })); break
    case 'CONFIRM': case 'CONFIRM_IDENTITY': v = true; break
    case 'INPUT_SPREADSHEET': {
      const row = {}
      for (const [k, t] of Object.entries(p.columns || {})) row[k] = t.startsWith('number') ? 1 : t.startsWith('boolean') ? true : 'x'
      v = [row]; break
    }
    default: v = null // displays
  }
  if (c.isMultiple && v !== null && !Array.isArray(v)) v = [v]
  return v
}

async function drive(kind, key, slug, start) {
  const record = { status: 'pending', renders: 0 }
  ;(kind === 'action' ? report.actions : report.pages)[slug] = record
  let done
  const finished = new Promise((r) => { done = r })
  const stateDone = new Set()
  waiters.set(key, async (ev) => {
    if (ev.type === 'render') {
      record.renders++
      const r = ev.render
      if (record.renders > 8) { violation(slug, 'too many re-renders: ' + JSON.stringify(r.toRender.map((c) => c.validationErrorMessage))); done(); return }
      const invalid = r.toRender.filter((c) => c.validationErrorMessage)
      if (invalid.length && record.renders > 2) violation(slug, 'host rejected generated values: ' + invalid.map((c) => c.validationErrorMessage).join('; '))
      // Exercise state once per stateful component.
      const stateful = r.toRender.map((c, i) => [c, i]).filter(([c, i]) => c.isStateful && !stateDone.has(i))
      if (stateful.length) {
        const values = r.toRender.map(() => null)
        for (const [c, i] of stateful) {
          stateDone.add(i)
          values[i] = c.methodName === 'SEARCH' ? { queryTerm: 'a' } : c.methodName === 'UPLOAD_FILE' ? { files: [{ name: 'a.txt', type: 'text/plain' }] } : { queryTerm: '', offset: 0, pageSize: 5 }
        }
        report.setStates++
        call('IO_RESPONSE', { transactionId: key, value: JSON.stringify({ id: r.id, transactionId: key, inputGroupKey: r.inputGroupKey, values, kind: 'SET_STATE' }) })
        return
      }
      const allDisplay = r.toRender.every((c) => c.methodName.startsWith('DISPLAY_'))
      if (kind === 'page' || (allDisplay && !r.choiceButtons)) return // resolves at once
      const values = r.toRender.map(valueFor)
      const choice = r.choiceButtons && r.choiceButtons.length ? r.choiceButtons[0].value : 'Continue'
      const resp = { id: r.id, transactionId: key, inputGroupKey: r.inputGroupKey, values, kind: 'RETURN' }
      if (!r.toRender.some((c) => c.methodName === 'CONFIRM' || c.methodName === 'CONFIRM_IDENTITY')) resp.choice = choice
      call('IO_RESPONSE', { transactionId: key, value: JSON.stringify(resp) })
    } else if (ev.type === 'complete' || ev.type === 'page') {
      record.status = ev.status
      if (kind === 'action' || record.renders >= 0) done()
    }
  })
  await start()
  const timer = new Promise((r) => setTimeout(() => r('timeout'), 15000))
  if ((await Promise.race([finished, timer])) === 'timeout') {
    record.status = 'timeout'
    violation(slug, 'did not complete within 15 s')
  }
  waiters.delete(key)
}

const user = { email: 'alice@example.com', firstName: 'Alice', lastName: null, role: 'admin', teams: ['support'] }
async function runAll(init) {
  for (const a of init.actions) {
    const slug = a.groupSlug ? a.groupSlug + '/' + a.slug : a.slug
    const id = crypto.randomUUID()
    await drive('action', id, slug, () => call('START_TRANSACTION', {
      transactionId: id, displayResolvesImmediately: true, actionName: slug,
      action: { slug, url: 'http://127.0.0.1/actions/' + slug }, environment: 'development', user, params: {},
    }))
    await call('CLOSE_TRANSACTION', { transactionId: id })
  }
  for (const g of init.groups || []) {
    if (!g.hasHandler) continue
    const key = crypto.randomUUID()
    await drive('page', key, g.slug, async () => {
      const r = await call('OPEN_PAGE', { pageKey: key, page: { slug: g.slug }, environment: 'development', user, params: {} })
      strictParse(rpcSchema.hostSchema.OPEN_PAGE.returns, r, 'OPEN_PAGE returns')
    })
    await call('CLOSE_PAGE', { pageKey: key })
  }
  console.log('DONE')
}

function onHostCall(env) {
  const { id, methodName, data } = env
  report.methods[methodName] = (report.methods[methodName] || 0) + 1
  const s = rpcSchema.wsServerSchema[methodName]
  if (!s) { violation(methodName, 'not a server method'); return }
  strictParse(s.inputs, data, methodName + ' inputs', EXTRA_OK[methodName] || [])
  switch (methodName) {
    case 'INITIALIZE_HOST': {
      respond(id, methodName, { type: 'success', environment: 'development', invalidSlugs: [], organization: { name: 'Acme', slug: 'acme' }, dashboardUrl: 'http://127.0.0.1/', warnings: [] })
      setImmediate(() => runAll(data).catch((e) => violation('runAll', e.stack)))
      return
    }
    case 'SEND_IO_CALL': {
      report.ioCalls++
      const render = checkRender(data.ioCall, 'SEND_IO_CALL')
      respond(id, methodName, true)
      if (render) emit(data.transactionId, { type: 'render', render })
      return
    }
    case 'MARK_TRANSACTION_COMPLETE': {
      try {
        const r = JSON.parse(data.result)
        strictParse(z.object({ schemaVersion: z.literal(1), status: z.enum(['SUCCESS', 'FAILURE']), data: z.any(), meta: z.any().optional() }), r, 'result')
        if (r.status !== data.resultStatus) violation('result', 'status differs from resultStatus')
      } catch (e) { violation('MARK_TRANSACTION_COMPLETE', 'result is not JSON') }
      respond(id, methodName, true)
      emit(data.transactionId, { type: 'complete', status: data.resultStatus })
      return
    }
    case 'SEND_PAGE': {
      if (data.page != null) {
        let layout
        try { layout = JSON.parse(data.page) } catch (e) { violation('SEND_PAGE', 'page is not JSON') }
        if (layout) {
          strictParse(LAYOUT_SCHEMA, layout, 'SEND_PAGE layout')
          if (layout.children) checkRender(JSON.stringify(layout.children), 'SEND_PAGE children')
        }
      }
      respond(id, methodName, true)
      emit(data.pageKey, { type: 'page', status: 'RENDERED' })
      return
    }
    case 'BEGIN_HOST_SHUTDOWN': respond(id, methodName, { type: 'success' }); return
    default: respond(id, methodName, true)
  }
}

function onText(text) {
  report.messages++
  let frame
  try { frame = JSON.parse(text) } catch (e) { violation('frame', 'not JSON'); return }
  if (frame.type === 'ACK') {
    strictParse(z.object({ type: z.literal('ACK'), id: z.string() }), frame, 'ACK frame')
    return
  }
  strictParse(z.object({ id: z.string().regex(UUID), data: z.string(), type: z.literal('MESSAGE') }), frame, 'MESSAGE frame')
  sendFrame({ type: 'ACK', id: frame.id })
  let env
  try { env = JSON.parse(frame.data) } catch (e) { violation('rpc', 'data is not JSON'); return }
  if (!rpcSchema.DUPLEX_MESSAGE_SCHEMA.safeParse(env).success) { violation('rpc', env); return }
  if (env.kind === 'RESPONSE') {
    const p = pending.get(env.id)
    if (!p) { violation('rpc', 'response to unknown id ' + env.id); return }
    pending.delete(env.id)
    const hs = rpcSchema.hostSchema[env.methodName]
    if (hs && hs.returns) strictParse(hs.returns, env.data, env.methodName + ' returns')
    p.resolve(env.data)
    return
  }
  onHostCall(env)
}

function finish() {
  if (reportPath) fs.writeFileSync(reportPath, JSON.stringify(report, null, 2))
  process.exit(0)
}

const srv = http.createServer((req, res) => {
  let body = ''
  req.on('data', (d) => { body += d })
  req.on('end', () => {
    const ep = { '/api/notify': rpcSchema.NOTIFY, '/api/actions/enqueue': rpcSchema.ENQUEUE_ACTION, '/api/actions/dequeue': rpcSchema.DEQUEUE_ACTION }[req.url]
    res.setHeader('Content-Type', 'application/json')
    if (!ep) { res.statusCode = 404; res.end('{"type":"error","message":"not found"}'); return }
    if (!/^Bearer .+/.test(req.headers.authorization || '')) violation(req.url, 'no bearer key')
    let data
    try { data = JSON.parse(body) } catch (e) { violation(req.url, 'body is not JSON') }
    strictParse(ep.inputs, data, req.url)
    report.methods[req.url] = (report.methods[req.url] || 0) + 1
    res.end(req.url === '/api/actions/enqueue' ? '{"type":"success","id":"q1"}' : '{"type":"success"}')
  })
})
const wss = new WebSocketServer({ server: srv, path: '/websocket' })
wss.on('connection', (socket, req) => {
  if (!req.headers['x-api-key']) violation('upgrade', 'no x-api-key')
  if (!UUID.test(req.headers['x-instance-id'] || '')) violation('upgrade', 'x-instance-id is not a UUID')
  ws = socket
  socket.on('message', (d) => onText(d.toString()))
  socket.on('close', finish)
  sendMessage('authenticated')
})
process.on('SIGTERM', finish)
srv.listen(0, '127.0.0.1', () => console.log('PORT ' + srv.address().port))
