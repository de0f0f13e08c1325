// The dashboard (actions and pages) and page views (REQUEST_PAGE/RENDER_PAGE).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { html, classes } from '../lib/html.js'
import { store, useStore } from '../lib/store.js'
import { navigate, routeHref } from '../lib/router.js'
import { safeURL } from '../lib/markup.js'
import { socket } from '../lib/session.js'
import { uuid } from '../lib/socket.js'
import { Icon, Spinner, Empty, ErrorBox, ButtonItem, Badge, Dots } from '../lib/ui.js'
import { buildTree, findGroup, actionName, searchActions, groupIcon } from '../lib/routes.js'
import { IOForm, parseRender } from '../io/form.js'
import { ProgressBar } from '../io/displays.js'

function ActionCard({ a }) {
  return html`<a class="card card-link action-card" href=${`/actions/${a.slug}`}>
    <div class="card-title"><${Icon} name="bolt" size=${15} class="card-icon" />${actionName(a)}${!a.online && html`<span class="offline-tag" title="No host is online for this action">offline</span>`}</div>
    ${a.description ? html`<div class="card-desc">${a.description}</div>` : html`<div class="card-desc muted">${a.slug}</div>`}
  </a>`
}

function GroupCard({ g }) {
  const n = g.actions.length + g.groups.length
  return html`<a class="card card-link action-card" href=${`/pages/${g.slug}`}>
    <div class="card-title"><${Icon} name=${groupIcon(g)} size=${15} class="card-icon card-icon-folder" />${g.name}</div>
    <div class="card-desc">${(g.page && g.page.description) || `${n} item${n === 1 ? '' : 's'}`}</div>
  </a>`
}

function Cards({ group }) {
  if (!group.groups.length && !group.actions.length) return null
  return html`<div class="cards">${group.groups.map(g => html`<${GroupCard} key=${g.slug} g=${g} />`)}${group.actions.map(a => html`<${ActionCard} key=${a.slug} a=${a} />`)}</div>`
}

export function HomeView() {
  const s = useStore()
  const [q, setQ] = useState('')
  const tree = useMemo(() => buildTree(s.routes), [s.routes])
  const results = useMemo(() => searchActions(s.routes, q), [s.routes, q])
  useEffect(() => { document.title = `${(s.me.organization || {}).name || 'Interval'} · Actions` }, [])
  if (s.routesError) return html`<div class="page"><${ErrorBox} title="Could not load actions" message=${s.routesError} /></div>`
  if (!s.routes) return html`<div class="page"><div class="center"><${Spinner} /></div></div>`
  const empty = !tree.groups.length && !tree.actions.length
  return html`<div class="page">
    ${s.me.user.hasPassword === false && html`<div class="alert alert-info set-password-note" role="note" data-testid="set-password-note"><${Icon} name="info" />
      <div>You logged in with a one-time link. <a class="link" href="/settings/account">Set a password</a> to log in again later.</div></div>`}
    <div class="page-head">
      <div><h1 class="page-title">Actions</h1><p class="page-desc">${s.env === 'production' ? 'Production' : 'Development'} actions you can run.</p></div>
      ${!empty && html`<label class="filter filter-lg"><${Icon} name="search" size=${14} /><input type="search" placeholder="Search actions" aria-label="Search all actions" value=${q} onInput=${e => setQ(e.currentTarget.value)} /></label>`}
    </div>
    ${empty ? html`<${Empty} icon="plug" title="No actions yet">
        <p>Connect a host with an API key of the <strong>${s.env}</strong> environment and its actions show up here.</p>
        ${s.me.user.role !== 'member' && html`<p><a class="btn btn-primary" href="/settings/keys">Create an API key</a></p>`}
      </${Empty}>`
      : q ? html`<div class="cards">${results.length === 0 && html`<p class="muted">No actions match “${q}”.</p>`}${results.map(r => r.isPage ? html`<a class="card card-link action-card" href=${`/pages/${r.slug}`}><div class="card-title"><${Icon} name="folder" size=${15} class="card-icon card-icon-folder" />${r.name}</div><div class="card-desc">${r.description || r.slug}</div></a>` : html`<${ActionCard} a=${r} />`)}</div>`
      : html`<${Cards} group=${tree} />`}
  </div>`
}

function Breadcrumbs({ slug }) {
  const parts = slug.split('/')
  const routes = store.state.routes
  const name = s => { const p = routes && routes.pages.find(x => x.slug === s); return p ? p.name : s.split('/').pop() }
  return html`<nav class="crumbs" aria-label="Breadcrumb"><a href="/">Actions</a>${parts.slice(0, -1).map((_, i) => {
    const s = parts.slice(0, i + 1).join('/')
    return html`<span class="crumb-sep">/</span><a href=${`/pages/${s}`}>${name(s)}</a>`
  })}</nav>`
}

export function LoadingState({ state }) {
  if (!state) return null
  const hasQueue = state.itemsInQueue != null && state.itemsInQueue > 0
  const label = state.label || state.title
  return html`<div class="loading-state" role="status" aria-live="polite" data-testid="loading-state">
    ${!hasQueue && html`<${Dots} />`}
    <div class="loading-text">
      ${label ? html`<div class="loading-label">${label}</div>` : !hasQueue && html`<div class="loading-label muted">Working…</div>`}
      ${state.description && html`<div class="muted">${state.description}</div>`}
      ${hasQueue && html`<${ProgressBar} done=${state.itemsCompleted || 0} total=${state.itemsInQueue} label=${label} /><div class="muted small">Completed ${state.itemsCompleted || 0} of ${state.itemsInQueue}</div>`}
    </div>
  </div>`
}

/** PageLayout renders a page (REQUEST_PAGE → RENDER_PAGE) by key. */
function PageLayout({ page, params, env }) {
  const [pageKey, setPageKey] = useState(() => uuid())
  const [layout, setLayout] = useState(undefined) // undefined = waiting, null = no layout
  const [error, setError] = useState(null)
  const [loading, setLoading] = useState(null)
  const [hostGone, setHostGone] = useState(false)
  const key = useRef(pageKey)
  key.current = pageKey

  useEffect(() => {
    let alive = true
    const mine = d => d && (d.pageKey === key.current || d.transactionId === key.current)
    const offs = [
      socket.on('RENDER_PAGE', d => {
        if (!mine(d)) return
        setHostGone(false)
        setLoading(null)
        if (d.page == null) { setLayout(null); return }
        try {
          const l = JSON.parse(d.page)
          if (l.children) l.children = parseRender(l.children)
          setLayout(l)
        } catch (e) { setError(`The host sent a page this console cannot read: ${e.message}`) }
      }),
      socket.on('LOADING_STATE', d => { if (mine(d)) setLoading(d) }),
      socket.on('HOST_CLOSED_UNEXPECTEDLY', d => { if (mine(d)) setHostGone(true) }),
      socket.on('HOST_RECONNECTED', d => { if (mine(d)) setHostGone(false) }),
      socket.on('REDIRECT', d => {
        if (!mine(d)) return
        const url = safeURL(d.url)
        if (d.url && !url) { console.warn('Ignored a redirect to a script URL.'); return }
        if (url) { if (d.replace) location.replace(url); else location.assign(url) } else if (d.route || d.action) navigate(routeHref(d.route || d.action, d.params), { replace: !!d.replace, force: true })
      }),
    ]
    const request = async () => {
      setError(null)
      try {
        const r = await socket.call('REQUEST_PAGE', { pageKey: key.current, pageSlug: page.slug, actionMode: 'console', organizationEnvironmentId: env, params })
        if (!alive) return
        if (!r || r.type !== 'SUCCESS') setError((r && r.message) || 'The page could not be opened.')
      } catch (e) { if (alive) setError(e.message) }
    }
    request()
    // After a reconnect the server no longer knows this page: ask again.
    offs.push(socket.on('__reconnected', () => { const k = uuid(); key.current = k; setPageKey(k); request() }))
    return () => {
      alive = false
      offs.forEach(f => f())
      socket.call('LEAVE_PAGE', { pageKey: key.current }).catch(() => {})
    }
  }, [page.slug, env])

  const respond = (kind, values) => {
    const r = layout.children
    const resp = { ...r, id: r.id, transactionId: key.current, inputGroupKey: r.inputGroupKey, values, kind }
    delete resp.toRender
    socket.call('RESPOND_TO_IO_CALL', { transactionId: key.current, ioResponse: JSON.stringify(resp) }).catch(e => setError(e.message))
  }

  if (error) return html`<${ErrorBox} title="This page could not be loaded" message=${error} />`
  return html`<div class="page-layout">
    ${hostGone && html`<div class="alert alert-warning" role="status"><${Spinner} size="sm" /><div><strong>The host disconnected.</strong> Waiting for it to reconnect…</div></div>`}
    ${layout === undefined ? html`<div class="center"><${Spinner} label="Loading page" /></div>` : layout && html`
      <div class="page-head">
        <div>
          ${layout.title === null ? html`<span class="skeleton skeleton-title"></span>` : html`<h1 class="page-title">${layout.title != null ? layout.title : page.name}</h1>`}
          ${layout.description === null ? html`<span class="skeleton"></span>` : layout.description && html`<p class="page-desc">${layout.description}</p>`}
        </div>
        ${layout.menuItems && layout.menuItems.length > 0 && html`<div class="btn-row page-menu">${layout.menuItems.map(it => html`<${ButtonItem} item=${it} />`)}</div>`}
      </div>
      ${(layout.errors || []).map(e => html`<${ErrorBox} title=${e.error || 'Error'} message=${e.message} />`)}
      <${LoadingState} state=${loading} />
      ${layout.children && html`<${IOForm} key=${layout.children.inputGroupKey} render=${layout.children} mode="page" onRespond=${respond} />`}
    `}
  </div>`
}

export function GroupView({ slug, params }) {
  const s = useStore()
  const tree = useMemo(() => buildTree(s.routes), [s.routes])
  if (!s.routes) return html`<div class="page"><div class="center"><${Spinner} /></div></div>`
  const page = (s.routes.pages || []).find(p => p.slug === slug)
  const group = findGroup(tree, slug) || { slug, name: page ? page.name : slug, actions: [], groups: [] }
  useEffect(() => { document.title = `${group.name} · Interval` }, [group.name])
  if (!page && !group.actions.length && !group.groups.length) {
    return html`<div class="page"><${Breadcrumbs} slug=${slug} /><${Empty} icon="folder" title="Page not found">There is no page “${slug}” in ${s.env}.</${Empty}></div>`
  }
  const hasLayout = page && page.hasHandler
  return html`<div class="page">
    <${Breadcrumbs} slug=${slug} />
    ${hasLayout && !page.online && html`<div class="alert alert-warning"><${Icon} name="plug" /><div>No host is online for this page.</div></div>`}
    ${hasLayout && page.online ? html`<${PageLayout} key=${slug + s.env} page=${page} params=${params} env=${s.env} />`
      : html`<div class="page-head"><div><h1 class="page-title">${group.name}</h1>${page && page.description && html`<p class="page-desc">${page.description}</p>`}</div></div>`}
    ${(group.actions.length > 0 || group.groups.length > 0) && html`<section class="section">
      ${hasLayout && html`<h2 class="section-title">In ${group.name}</h2>`}
      <${Cards} group=${group} />
    </section>`}
  </div>`
}
