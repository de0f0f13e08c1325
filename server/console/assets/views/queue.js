// Queue: queued actions assigned to the operator (GET /api/console/queue).
import { useEffect, useState } from 'preact/hooks'
import { html } from '../lib/html.js'
import { api } from '../lib/api.js'
import { useStore } from '../lib/store.js'
import { fmtRelative, fmtDateTime, fmtValue } from '../lib/format.js'
import { navigate } from '../lib/router.js'
import { Icon, Spinner, Empty, ErrorBox } from '../lib/ui.js'
import { findAction, actionName } from '../lib/routes.js'

export function QueueView() {
  const s = useStore()
  const [list, setList] = useState(null)
  const [error, setError] = useState(null)
  useEffect(() => {
    document.title = 'Queue · Interval'
    api('GET', '/api/console/queue').then(r => setList(r.queued || [])).catch(setError)
  }, [])
  return html`<div class="page">
    <div class="page-head"><div><h1 class="page-title">Queue</h1><p class="page-desc">Actions queued for you to run.</p></div></div>
    ${error && html`<${ErrorBox} title="Could not load the queue" message=${error.message} />`}
    ${list === null ? !error && html`<div class="center"><${Spinner} /></div>`
      : list.length === 0 ? html`<${Empty} icon="inbox" title="Nothing queued">When a host queues an action for you, it shows up here.</${Empty}>`
      : html`<ul class="queue">${list.map(q => {
          const a = findAction(s.routes, q.slug)
          const params = q.params || {}
          return html`<li class="card queue-item" key=${q.id}>
            <div class="queue-main">
              <div class="card-title">${a ? actionName(a) : q.slug}</div>
              <div class="muted small">${q.env && q.env !== s.env ? `${q.env} · ` : ''}Queued <time datetime=${q.createdAt} title=${fmtDateTime(q.createdAt)}>${fmtRelative(q.createdAt)}</time>${q.assignee ? ` for ${q.assignee}` : ''}</div>
              ${Object.keys(params).length > 0 && html`<div class="params">${Object.entries(params).map(([k, v]) => html`<span class="param"><span class="param-key">${k}</span><span class="param-val">${fmtValue(v)}</span></span>`)}</div>`}
            </div>
            <button type="button" class="btn btn-primary" onClick=${() => navigate(`/actions/${q.slug}`, { data: { queued: q } })}><${Icon} name="play" />Run</button>
          </li>`
        })}</ul>`}
  </div>`
}
