// Running an action: POST /api/console/transactions, then the transaction's
// live stream over the socket (RENDER, LOADING_STATE, LOG, REDIRECT,
// TRANSACTION_COMPLETED, HOST_CLOSED_UNEXPECTEDLY, HOST_RECONNECTED, ...).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { html, classes } from '../lib/html.js'
import { api } from '../lib/api.js'
import { store, useStore, toast } from '../lib/store.js'
import { navigate, routeHref, setNavigationGuard, paramsQuery, takeLocationData } from '../lib/router.js'
import { safeURL, sanitize } from '../lib/markup.js'
import { deserialize } from '../lib/superjson.js'
import { fmtDateTime, fmtValue, fmtDuration, txStatus } from '../lib/format.js'
import { copyText } from '../lib/clipboard.js'
import { socket, loadRoutes } from '../lib/session.js'
import { NotConnectedError } from '../lib/socket.js'
import { Icon, Spinner, ErrorBox, Empty, Badge } from '../lib/ui.js'
import { findAction, actionName } from '../lib/routes.js'
import { IOForm, parseRender, isDisplay } from '../io/form.js'
import { ObjectView } from '../io/displays.js'
import { LoadingState } from './home.js'

const LIVE = new Set(['PENDING', 'RUNNING', 'AWAITING_INPUT', 'HOST_DROPPED'])

/** parseResult decodes the JSON text of an action result (PROTOCOL.md §4.6). */
export function parseResult(text, resultStatus) {
  if (text == null || text === '') return { status: resultStatus || 'SUCCESS', data: null }
  try {
    const r = typeof text === 'string' ? JSON.parse(text) : text
    if (r && typeof r === 'object' && 'status' in r && 'data' in r) {
      return { status: resultStatus || r.status, data: deserialize(r.data, r.meta) }
    }
    return { status: resultStatus || 'SUCCESS', data: r }
  } catch (e) {
    return { status: resultStatus || 'SUCCESS', data: String(text) }
  }
}

function isFlat(o) {
  return o && typeof o === 'object' && !Array.isArray(o) && !(o instanceof Date) &&
    Object.values(o).every(v => v === null || typeof v !== 'object' || v instanceof Date)
}

/** ResultValue is a formatted result value; a web address is a link. */
function ResultValue({ v }) {
  if (typeof v === 'string' && /^https?:\/\/[^\s]+$/.test(v)) return html`<a class="link" href=${v} target="_blank" rel="noopener noreferrer">${v}</a>`
  return fmtValue(v)
}

export function ResultView({ result, at }) {
  if (!result) return null
  const { status, data } = result
  if (status === 'FAILURE') {
    const d = data || {}
    return html`<div class="result" data-testid="result">
      <div class="result-head"><span class="result-icon result-icon-error"><${Icon} name="x" /></span><span><strong>Error</strong>${at && html` at ${fmtDateTime(at)}`}</span></div>
      <div class="alert alert-danger result-error" role="alert"><div>
        <div class="result-error-msg"><strong>${d.error || 'Error'}:</strong> ${d.message || (typeof data === 'string' ? data : 'The action failed.')}</div>
        ${d.cause && html`<div class="small">Cause: ${d.cause}</div>`}
        <div class="small muted">Check the host's logs for more information.</div>
      </div></div>
    </div>`
  }
  if (status === 'CANCELED') {
    return html`<div class="result" data-testid="result"><div class="result-head"><span class="result-icon"><${Icon} name="x" /></span><span><strong>Canceled</strong>${at && html` at ${fmtDateTime(at)}`}</span></div></div>`
  }
  const head = html`<div class="result-head"><span class="result-icon result-icon-ok"><${Icon} name="check" /></span><span><strong>${status === 'REDIRECTED' ? 'Redirected' : 'Completed'}</strong>${at && html` at ${fmtDateTime(at)}`}</span></div>`
  let body = null
  if (data !== null && data !== undefined) {
    if (isFlat(data)) {
      body = html`<dl class="kv">${Object.entries(data).map(([k, v]) => html`<div class="kv-row"><dt>${k}</dt><dd><${ResultValue} v=${v} /></dd></div>`)}</dl>`
    } else if (typeof data === 'object') {
      body = html`<${ObjectView} data=${data} label="result" />`
    } else if (typeof data === 'string' && result.html) {
      body = html`<${HTMLResult} html=${result.html} source=${data} />`
    } else {
      body = html`<div class="result-value"><${ResultValue} v=${data} /></div>`
    }
  }
  return html`<div class="result" data-testid="result">${head}${body && html`<div class="result-body"><div class="result-label">Result</div>${body}</div>`}</div>`
}

/**
 * HTMLResult shows a result that is HTML (a rich text answer returned) as
 * formatted text, as the server sanitized it; its source is a click away.
 */
function HTMLResult({ html: h, source }) {
  const [raw, setRaw] = useState(false)
  const safe = useMemo(() => sanitize(h), [h])
  return html`<div class="result-value result-html">
    ${raw ? html`<pre class="code result-source">${source}</pre>` : html`<div class="prose" data-testid="result-html" dangerouslySetInnerHTML=${{ __html: safe }}></div>`}
    <button type="button" class="btn btn-ghost btn-sm result-toggle" aria-pressed=${raw ? 'true' : 'false'} onClick=${() => setRaw(!raw)}>${raw ? 'Show formatted' : 'Show HTML'}</button>
  </div>`
}

export function LogsPanel({ logs, live }) {
  const [open, setOpen] = useState(true)
  const ref = useRef()
  useEffect(() => { if (open && ref.current && live) ref.current.scrollTop = ref.current.scrollHeight }, [logs.length, open])
  if (!logs.length) return null
  return html`<section class="logs" aria-label="Logs">
    <button type="button" class="logs-head" aria-expanded=${open} onClick=${() => setOpen(!open)}>
      <${Icon} name=${open ? 'chevronDown' : 'chevronRight'} size=${14} /><span>Logs</span><span class="count">${logs.length}</span></button>
    ${open && html`<ol class="logs-body" ref=${ref}>${logs.map(l => html`<li class="log-line" key=${l.index}><time class="log-time" datetime=${new Date(l.timestamp).toISOString()}>${new Date(l.timestamp).toLocaleTimeString()}</time><pre>${l.data == null ? '' : l.data}</pre></li>`)}</ol>`}
  </section>`
}

/**
 * HostAway tells the operator what is true about a run whose host is away
 * (GET /api/console/transactions/{id}/host, asked every few seconds): its
 * host may still come back and the run continue; or a new process of the
 * host is online, which cannot continue a handler that ran in the process
 * that stopped, so the run should be started again; and when it fails.
 */
function HostAway({ txId, onRestart }) {
  const [a, setA] = useState(null)
  useEffect(() => {
    let alive = true
    let timer
    const ask = () => api('GET', `/api/console/transactions/${encodeURIComponent(txId)}/host`)
      .then(r => {
        if (!alive) return
        // A new instance came up: the host chip and the sidebar show it.
        setA(prev => { if (r.replaced && !(prev && prev.replaced)) loadRoutes(); return r })
      }).catch(() => {})
      .finally(() => { if (alive) timer = setTimeout(ask, 3000) })
    ask()
    return () => { alive = false; clearTimeout(timer) }
  }, [txId])
  const at = a && a.failsAt ? html` <span class="nowrap">It fails at <time datetime=${a.failsAt}>${fmtTime(a.failsAt)}</time> otherwise.</span>` : null
  if (a && a.replaced) {
    return html`<div class="alert alert-warning host-gone" role="status" data-testid="host-reconnecting"><${Icon} name="alert" />
      <div><strong>This run cannot continue.</strong> The host process that ran it stopped, and a new one is online: a new process cannot pick up
        a run that was in progress in the one that stopped. Start the action again (with the same parameters). This run waits in case the old
        process comes back.${at}
        <div class="btn-row host-gone-actions"><button type="button" class="btn btn-primary btn-sm" data-testid="start-again" onClick=${onRestart}><${Icon} name="refresh" />Start again</button></div></div></div>`
  }
  if (a && a.anyHost) {
    return html`<div class="alert alert-warning host-gone" role="status" data-testid="host-reconnecting"><${Spinner} size="sm" />
      <div><strong>Waiting for a host.</strong> No host serving this action is online right now (it is probably restarting); the run starts as soon as one connects.${at}</div></div>`
  }
  return html`<div class="alert alert-warning host-gone" role="status" data-testid="host-reconnecting"><${Spinner} size="sm" />
    <div><strong>The host disconnected.</strong> Waiting for it to reconnect — if it does, your transaction continues where it left off.${at}</div></div>`
}

/** fmtTime is a time of day, with the date when it is not today. */
function fmtTime(iso) {
  const d = new Date(iso)
  if (isNaN(d.getTime())) return ''
  const same = d.toDateString() === new Date().toDateString()
  return same ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }) : fmtDateTime(d)
}

function Params({ params }) {
  const entries = Object.entries(params || {})
  if (!entries.length) return null
  return html`<div class="params" aria-label="Parameters">${entries.map(([k, v]) => html`<span class="param"><span class="param-key">${k}</span><span class="param-val">${fmtValue(v)}</span></span>`)}</div>`
}

/**
 * RunView runs the action slug (a new transaction), or attaches to the live
 * transaction txId.
 */
export function RunView({ slug, params, txId: attachTo, summary }) {
  const s = useStore()
  const action = findAction(s.routes, slug)
  const [txId, setTxId] = useState(attachTo || null)
  // A queued action being run (QueueView): the server dequeues it and
  // merges its params.
  const [queued] = useState(() => {
    const d = takeLocationData()
    return d && d.queued && d.queued.slug === slug ? d.queued : null
  })
  const [startError, setStartError] = useState(null)
  const [items, setItems] = useState([]) // {render, frozen}
  const [submitting, setSubmitting] = useState(false)
  // unconfirmed: the connection dropped after an answer went out, before
  // the server confirmed it. The server shows the form again on the new
  // connection only if the answer did not reach it.
  const unconfirmed = useRef(false)
  // sending holds the render id of the form whose answer is on its way to
  // the server (sent, not yet taken or refused).
  const sending = useRef(null)
  const [loading, setLoading] = useState(null)
  const [logs, setLogs] = useState([])
  const [result, setResult] = useState(null)
  const [completedAt, setCompletedAt] = useState(null)
  const [hostGone, setHostGone] = useState(summary && summary.status === 'HOST_DROPPED')
  const [usurped, setUsurped] = useState(false)
  const [connectError, setConnectError] = useState(null)
  const [respondError, setRespondError] = useState(null)
  const [attempt, setAttempt] = useState(0)
  const redirecting = useRef(false)
  const txRef = useRef(txId)
  txRef.current = txId
  const itemsRef = useRef(items)
  itemsRef.current = items
  const done = !!result
  const name = action ? actionName(action) : (summary && summary.actionName) || slug

  useEffect(() => { document.title = `${name} · Interval` }, [name])

  // Start a new transaction.
  useEffect(() => {
    if (attachTo) return
    let alive = true
    setStartError(null)
    const body = { slug, env: store.state.env, params: params || {} }
    if (queued && attempt === 0) {
      body.queuedActionId = queued.id
      if (queued.env) body.env = queued.env
    }
    api('POST', '/api/console/transactions', body)
      .then(r => { if (alive) setTxId(r.id) })
      .catch(e => { if (alive) setStartError(e) })
    return () => { alive = false }
  }, [slug, attempt])

  // Attach to the transaction's stream.
  useEffect(() => {
    if (!txId) return
    let alive = true
    const mine = d => d && d.transactionId === txId
    const offs = [
      socket.on('RENDER', d => {
        if (!mine(d)) return
        let r
        try { r = parseRender(d.toRender) } catch (e) { toast(e.message, { kind: 'error', title: 'Cannot show this step' }); return }
        setHostGone(false)
        const old = itemsRef.current.find(it => it.render.inputGroupKey === r.inputGroupKey)
        if (old && sending.current === r.id && old.render.id === r.id) {
          // The form on screen, sent again (its host is back after a
          // drop) while the answer to it is on its way: it stays as sent.
          // Refused, the answer makes it usable again (respond).
          return
        }
        if (!old || !(old.frozen || old.done)) {
          // A new call, or the current one again: the host is waiting.
          setLoading(null)
          setSubmitting(false)
          setRespondError(old && unconfirmed.current ? 'Your answer did not reach the server before the connection dropped. Submit again.' : null)
        }
        unconfirmed.current = false
        setItems(prev => {
          // A re-render of a call on screen (validation, state update, or a
          // table paged after the end) replaces it in place.
          const i = prev.findIndex(it => it.render.inputGroupKey === r.inputGroupKey)
          if (i >= 0) return prev.map((it, j) => (j === i ? { ...it, render: r } : it))
          // Append UI: earlier display-only calls stay on screen above.
          const kept = prev.filter(it => it.render.toRender.every(c => isDisplay(c.methodName)) && it.render.inputGroupKey !== r.inputGroupKey).map(it => ({ ...it, frozen: true }))
          return [...kept, { render: r }]
        })
      }),
      socket.on('LOADING_STATE', d => {
        if (!mine(d)) return
        unconfirmed.current = false
        setLoading(d)
        setSubmitting(false)
        setRespondError(null)
        setItems(prev => prev.filter(it => it.render.toRender.every(c => isDisplay(c.methodName))).map(it => ({ ...it, frozen: true })))
      }),
      socket.on('LOG', d => {
        if (!mine(d)) return
        setLogs(prev => (prev.some(l => l.index === d.index && l.timestamp === d.timestamp) ? prev : [...prev, d].sort((a, b) => a.index - b.index)))
      }),
      socket.on('REDIRECT', d => {
        if (!mine(d)) return
        const url = safeURL(d.url)
        if (d.url && !url) {
          // The server refuses these; never follow one that got through.
          console.warn('Ignored a redirect to a script URL.')
          return
        }
        setNavigationGuard(null)
        if (url) {
          if (d.download != null) {
            const a = document.createElement('a'); a.href = url; a.download = d.download || ''; document.body.appendChild(a); a.click(); a.remove()
          } else {
            // The host sends the operator away: no leave prompt, and the
            // unload does not cancel the run (it may still complete).
            redirecting.current = true
            if (d.replace) location.replace(url)
            else location.assign(url)
          }
        } else if (d.route || d.action) {
          navigate(routeHref(d.route || d.action, d.params), { replace: !!d.replace, force: true })
        }
      }),
      socket.on('TRANSACTION_COMPLETED', d => {
        if (!mine(d)) return
        setResult({ ...parseResult(d.result, d.resultStatus), html: d.resultHtml || null })
        setCompletedAt(new Date())
        unconfirmed.current = false
        setLoading(null)
        setSubmitting(false)
        setRespondError(null)
        setHostGone(false)
        setItems(prev => prev.filter(it => it.render.toRender.every(c => isDisplay(c.methodName))).map(it => ({ ...it, frozen: false, done: true })))
      }),
      socket.on('HOST_CLOSED_UNEXPECTEDLY', d => { if (mine(d)) setHostGone(true) }),
      socket.on('HOST_RECONNECTED', d => { if (mine(d)) setHostGone(false) }),
      socket.on('CLIENT_USURPED', d => { if (mine(d)) setUsurped(true) }),
    ]
    const connect = async () => {
      setConnectError(null)
      try {
        const ok = await socket.call('CONNECT_TO_TRANSACTION_AS_CLIENT', { transactionId: txId })
        if (alive && ok === false) setConnectError('This transaction could not be opened. It may have ended or belong to someone else.')
        if (alive && ok) setUsurped(false)
      } catch (e) {
        if (alive) setConnectError(e.message)
      }
    }
    connect()
    offs.push(socket.on('__reconnected', connect))
    window.__intervalReconnect = connect
    return () => {
      alive = false
      offs.forEach(f => f())
      socket.call('LEAVE_TRANSACTION', { transactionId: txId }).catch(() => {})
    }
  }, [txId])

  // Warn before leaving a running transaction (warnOnClose, default true).
  const running = txId && !done && !startError && !connectError
  const warn = running && (!action || action.warnOnClose !== false)
  // Read at unload time: effects run after paint, so the listener of a
  // transaction that just completed may still be attached for a moment.
  const warnNow = useRef(warn)
  warnNow.current = warn
  useEffect(() => {
    if (!warn) return
    const before = e => { if (!warnNow.current || redirecting.current) return; e.preventDefault(); e.returnValue = '' }
    window.addEventListener('beforeunload', before)
    setNavigationGuard(() => window.confirm('Leave this transaction? It will be canceled.'))
    return () => { window.removeEventListener('beforeunload', before); setNavigationGuard(null) }
  }, [warn])

  const showCanceled = () => {
    setResult({ status: 'CANCELED', data: null })
    setCompletedAt(new Date())
    setItems(prev => prev.filter(it => it.render.toRender.every(c => isDisplay(c.methodName))))
    setLoading(null)
  }

  // Unloading the page (reload, closing the tab, another address) closes
  // the socket without LEAVE_TRANSACTION, so the server would keep the run
  // waiting for a browser (HostDropGrace), listed as "Awaiting input" in
  // History. A run started here cannot be picked up again at this address
  // (a reload starts a new one): cancel it, as leaving inside the console
  // does. Attached runs (/transactions/:id) and backgroundable actions keep
  // running. keepalive lets the request outlive the page. Chrome may keep
  // the page in its back/forward cache (pagehide with persisted); coming
  // back to it then shows the run as canceled.
  useEffect(() => {
    if (!running || attachTo || (action && action.backgroundable)) return
    let left = false
    const hide = () => {
      if (redirecting.current) return
      left = true
      fetch(`/api/console/transactions/${encodeURIComponent(txId)}/cancel`, {
        method: 'POST', keepalive: true, credentials: 'same-origin', headers: { 'X-Interval-Console': '1' },
      }).catch(() => {})
    }
    const show = e => { if (e.persisted && left) showCanceled() }
    window.addEventListener('pagehide', hide)
    window.addEventListener('pageshow', show)
    return () => { window.removeEventListener('pagehide', hide); window.removeEventListener('pageshow', show) }
  }, [running, txId, attachTo, action && action.backgroundable])

  const respond = (render, kind, values, choice) => {
    const resp = { id: render.id, transactionId: txId, inputGroupKey: render.inputGroupKey, values, kind }
    if (choice !== undefined) resp.choice = choice
    if (kind === 'RETURN') { setSubmitting(true); setRespondError(null); sending.current = render.id }
    const sent = () => { if (kind === 'RETURN' && sending.current === render.id) sending.current = null }
    // The server answers false when it refuses an answer (the run is open
    // elsewhere or its host is away, an identity check is missing, ...):
    // say so on the form, which stays usable.
    socket.call('RESPOND_TO_IO_CALL', { transactionId: txId, ioResponse: JSON.stringify(resp) })
      .finally(sent)
      .then(ok => {
        if (ok === false) {
          setSubmitting(false)
          setRespondError('The server did not accept this answer: this step may have changed or been answered elsewhere. Check the form and submit again.')
        }
      })
      .catch(e => {
        if (kind === 'RETURN' && e instanceof NotConnectedError) {
          // Sent, but the connection dropped before the server confirmed
          // it: the form stays as sent. The reconnected socket gets the
          // form again only if the answer was not taken (see RENDER).
          unconfirmed.current = true
          return
        }
        setSubmitting(false)
        setRespondError(`Your answer was not sent: ${e.message}. Submit again.`)
      })
  }

  const cancel = async () => {
    try {
      setNavigationGuard(null)
      await api('POST', `/api/console/transactions/${encodeURIComponent(txId)}/cancel`)
      showCanceled()
    } catch (e) {
      toast(e.message, { kind: 'error', title: 'Could not cancel' })
    }
  }
  const restart = () => {
    if (warn && !window.confirm('Start over? This transaction will be canceled.')) return
    setNavigationGuard(null)
    const href = `/actions/${slug}${paramsQuery(params)}`
    navigate(href, { replace: true, force: true })
  }
  const back = () => {
    const group = action && action.groupSlug
    navigate(group ? `/pages/${group}` : '/', { force: !warn })
  }

  // A finished run hands the keyboard to "New transaction" (Enter runs the
  // action again), unless the operator is busy in a field or a dialog. The
  // page stays where the operator was reading: the button is at the top.
  const newRunRef = useRef()
  useEffect(() => {
    const a = document.activeElement
    if (!done || !newRunRef.current || (a && a !== document.body && a.closest('input, textarea, select, [contenteditable=true], .modal'))) return
    newRunRef.current.focus({ preventScroll: true })
  }, [done])

  const active = items.length ? items[items.length - 1] : null
  // A link that starts this action again with the same parameters.
  const shareLink = `/actions/${slug}${paramsQuery(params)}`
  const reconnecting = txId && !done && (s.socketStatus === 'reconnecting' || s.socketStatus === 'unauthorized')
  const waiting = txId && !done && !loading && !items.some(it => !it.frozen && !it.done) && !connectError
  return html`<div class="page run">
    <div class="page-head run-head">
      <div class="run-title">
        <h1 class="page-title">${name}</h1>
        ${action && action.description && html`<p class="page-desc">${action.description}</p>`}
        <${Params} params=${summary ? summary.params : queued ? { ...(queued.params || {}), ...params } : params} />
      </div>
      <div class="btn-row run-buttons">
        ${(done || (startError && startError.status !== 404 && startError.status !== 403)) && html`<button type="button" class="btn btn-secondary" ref=${newRunRef} onClick=${restart} data-testid="new-transaction"><${Icon} name="refresh" />New transaction</button>`}
        ${running ? html`<button type="button" class="btn btn-secondary" onClick=${cancel} data-testid="cancel">Cancel</button>`
          : html`<button type="button" class="btn btn-secondary" onClick=${back}><${Icon} name="arrowLeft" />Go back</button>`}
        ${/* Last: the row ends at the page's right edge, so the link stays
              under the pointer while the buttons before it change as the
              run starts and ends. */ ''}
        ${!attachTo && html`<a class="btn btn-ghost btn-icon" href=${shareLink} data-testid="share-link" title="Copy a link that starts this action with these parameters" aria-label="Copy link"
          onClick=${e => { e.preventDefault(); copyText(location.origin + shareLink) }}><${Icon} name="link" /></a>`}
      </div>
    </div>

    ${startError && (startError.status === 409
      ? html`<${Empty} icon="plug" title="No host is online for this action"><p>${startError.message}. Start a host that serves <code>${slug}</code> in ${s.env}, then try again.</p><p><button type="button" class="btn btn-primary" onClick=${() => setAttempt(attempt + 1)}>Try again</button></p></${Empty}>`
      : startError.status === 404
        ? html`<${Empty} icon="search" title="Action not found"><p>There is no action <code>${slug}</code> in the ${s.env} environment. It may have been renamed or removed, or be served in the other environment.</p><p><a class="btn btn-secondary" href="/">Go to the dashboard</a></p></${Empty}>`
        : html`<${ErrorBox} title=${startError.status === 403 ? 'You do not have access to this action' : 'Could not start the action'} message=${startError.message} />`)}
    ${connectError && html`<${ErrorBox} title="Could not open this transaction" message=${connectError} />`}
    ${hostGone && !done && txId && html`<${HostAway} txId=${txId} onRestart=${restart} />`}
    ${reconnecting && html`<div class="alert alert-warning" role="status" data-testid="socket-reconnecting"><${Spinner} size="sm" /><div><strong>Reconnecting to the server…</strong> ${closeText(s.socketClose)}Your transaction will continue where it left off.</div></div>`}
    ${usurped && html`<div class="alert alert-info" role="status"><${Icon} name="info" /><div>This transaction was opened in another tab or window. <button type="button" class="btn btn-secondary btn-sm" onClick=${() => window.__intervalReconnect && window.__intervalReconnect()}>Continue here</button></div></div>`}

    <div class="run-body">
      ${items.map((it, i) => html`<div class=${classes('run-step', it.frozen && 'is-frozen')} key=${it.render.inputGroupKey}>
        <${IOForm} key=${it.render.inputGroupKey} render=${it.render} mode=${it.frozen || it.done ? 'frozen' : 'transaction'}
          disabled=${hostGone || usurped || done} submitting=${submitting && it === active}
          onRespond=${(kind, values, choice) => respond(it.render, kind, values, choice)} />
        ${respondError && it === active && !it.frozen && html`<div class="alert alert-danger respond-error" role="alert" data-testid="respond-error"><${Icon} name="x" /><div>${respondError}</div></div>`}
      </div>`)}
      <${LoadingState} state=${!done && loading} />
      ${waiting && !startError && html`<div class="loading-state" role="status"><span class="dots"><span></span><span></span><span></span></span><div class="loading-label muted">${submitting ? 'Submitting…' : 'Waiting for the host…'}</div></div>`}
      ${!txId && !startError && html`<div class="loading-state" role="status"><span class="dots"><span></span><span></span><span></span></span><div class="loading-label muted">Starting…</div></div>`}
      <${ResultView} result=${result} at=${completedAt} />
      ${done && txId && html`<p class="small"><a class="link" href=${`/transactions/${txId}`}>Transaction details</a></p>`}
    </div>
    <${LogsPanel} logs=${logs} live=${!done} />
  </div>`
}

/** closeText explains why the server closed the socket, when it said. */
function closeText(c) {
  if (!c || !c.reason || c.code === 1000 || c.code === 1001) return ''
  return html`<span class="muted">The server closed the connection: ${c.reason.replace(/\.?$/, '.')} </span>`
}

/** TransactionView shows a run: live (attached) or finished (from history). */
export function TransactionView({ id }) {
  const [tx, setTx] = useState(null)
  const [error, setError] = useState(null)
  useEffect(() => {
    api('GET', `/api/console/transactions/${encodeURIComponent(id)}`).then(setTx).catch(setError)
  }, [id])
  if (error) return html`<div class="page"><${ErrorBox} title=${error.status === 404 ? 'Transaction not found' : 'Could not load the transaction'} message=${error.message} /></div>`
  if (!tx) return html`<div class="page"><div class="center"><${Spinner} /></div></div>`
  if (LIVE.has(tx.status)) return html`<${RunView} slug=${tx.slug} txId=${tx.id} summary=${tx} params=${tx.params} />`
  const st = txStatus(tx)
  const result = tx.status === 'CANCELED' ? { status: 'CANCELED', data: null } : { ...parseResult(tx.result, tx.resultStatus), html: tx.resultHtml || null }
  return html`<div class="page">
    <nav class="crumbs" aria-label="Breadcrumb"><a href="/history">History</a></nav>
    <div class="page-head">
      <div>
        <h1 class="page-title">${tx.actionName || tx.slug}</h1>
        <p class="page-desc">${tx.slug}</p>
      </div>
      <div class="btn-row"><a class="btn btn-secondary" href=${`/actions/${tx.slug}${paramsQuery(tx.params)}`}><${Icon} name="refresh" />Run again</a></div>
    </div>
    <dl class="meta meta-grid tx-meta">
      <div class="meta-item"><dt>Status</dt><dd><${Badge} tone=${st.tone} dot>${st.label}</${Badge}></dd></div>
      <div class="meta-item"><dt>Run by</dt><dd>${(tx.user && (tx.user.name || tx.user.email)) || '—'}</dd></div>
      <div class="meta-item"><dt>Started</dt><dd>${fmtDateTime(tx.createdAt)}</dd></div>
      <div class="meta-item"><dt>Duration</dt><dd>${fmtDuration(tx.durationMs)}</dd></div>
      <div class="meta-item"><dt>Environment</dt><dd>${tx.env}</dd></div>
    </dl>
    ${tx.params && Object.keys(tx.params).length > 0 && html`<section class="section"><h2 class="section-title">Parameters</h2><dl class="kv">${Object.entries(tx.params).map(([k, v]) => html`<div class="kv-row"><dt>${k}</dt><dd>${fmtValue(v)}</dd></div>`)}</dl></section>`}
    <section class="section"><${ResultView} result=${result} at=${tx.completedAt} /></section>
    <${LogsPanel} logs=${tx.logs || []} />
  </div>`
}
