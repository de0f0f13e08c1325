// The Interval console: shell, navigation and routing.
import { render } from 'preact'
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { html, classes } from './lib/html.js'
import { store, useStore, dismissToast } from './lib/store.js'
import { useLocation, navigate } from './lib/router.js'
import { socket, loadMe, setEnv, logout } from './lib/session.js'
import { Icon, Spinner, Badge, useMenuKeyboard, isMac } from './lib/ui.js'
import { buildTree, searchActions, actionName, groupIcon } from './lib/routes.js'
import { HomeView, GroupView } from './views/home.js'
import { RunView, TransactionView } from './views/run.js'
import { HistoryView } from './views/history.js'
import { QueueView } from './views/queue.js'
import { AuditView } from './views/audit.js'
import { NotificationsView, NotificationBell } from './views/notifications.js'
import { startUnreadPolling } from './lib/notifications.js'
import { SettingsView } from './views/settings.js'
import { LoginView } from './views/login.js'
import { CommandPalette, openPalette } from './views/palette.js'

function HostStatus({ routes, socketStatus }) {
  if (socketStatus === 'reconnecting' || socketStatus === 'unauthorized') {
    return html`<button type="button" class="status-chip status-warn" onClick=${() => socket.reconnectNow()} title="Reconnect now">
      <${Spinner} size="sm" /><span class="status-text">Reconnecting to server…</span></button>`
  }
  if (!routes) return html`<span class="status-chip"><${Spinner} size="sm" /><span class="status-text">Connecting…</span></span>`
  const online = (routes.hosts || []).filter(h => h.status === 'ONLINE')
  const other = (routes.hosts || []).filter(h => h.status !== 'ONLINE')
  const tone = online.length ? 'ok' : other.length ? 'warn' : 'off'
  const OTHER = { RECONNECTING: 'reconnecting', UNREACHABLE: 'unreachable', CHECKING: 'being checked' }
  const text = online.length ? `${online.length} host${online.length > 1 ? 's' : ''} online` : other.length ? `Host ${OTHER[other[0].status] || 'shutting down'}` : 'No hosts connected'
  const title = (routes.hosts || []).map(h => h.kind === 'http' ? `serverless ${h.url} · ${h.status}` : `${h.sdkName || 'host'} ${h.sdkVersion || ''} · ${h.status}`).join('\n') || 'Start a host with an API key of this environment.'
  return html`<span class=${`status-chip status-${tone}`} title=${title} data-testid="host-status"><span class="status-dot"></span><span class="status-text">${text}</span></span>`
}

function useMedia(q) {
  const [m, setM] = useState(() => matchMedia(q).matches)
  useEffect(() => {
    const mq = matchMedia(q)
    const f = () => setM(mq.matches)
    mq.addEventListener('change', f)
    return () => mq.removeEventListener('change', f)
  }, [q])
  return m
}

const ENV_SHORT = { development: 'Dev', production: 'Prod' }

function EnvSwitch({ env, envs }) {
  const narrow = useMedia('(max-width: 560px)')
  return html`<label class="env-switch"><span class="sr-only">Environment</span>
    <span class=${`env-dot env-${env}`}></span>
    <select aria-label="Environment" value=${env} onChange=${e => setEnv(e.currentTarget.value)}>
      ${envs.map(x => html`<option value=${x}>${narrow && ENV_SHORT[x] ? ENV_SHORT[x] : x.charAt(0).toUpperCase() + x.slice(1)}</option>`)}
    </select><${Icon} name="chevronDown" size=${14} /></label>`
}

function UserMenu({ me }) {
  const [open, setOpen] = useState(false)
  const btn = useRef()
  const menu = useRef()
  const onMenuKey = useMenuKeyboard(open, true, menu, btn, () => setOpen(false))
  const u = me.user
  const name = [u.firstName, u.lastName].filter(Boolean).join(' ') || u.email
  const initials = (name.match(/\b\w/g) || ['?']).slice(0, 2).join('').toUpperCase()
  useEffect(() => {
    if (!open) return
    const close = e => { if (!e.target.closest('.user-menu')) setOpen(false) }
    document.addEventListener('mousedown', close)
    return () => document.removeEventListener('mousedown', close)
  }, [open])
  return html`<div class="user-menu menu-wrap">
    <button type="button" class="avatar-btn" ref=${btn} aria-haspopup="menu" aria-expanded=${open} aria-label=${`Account: ${name}`} onClick=${() => setOpen(!open)}>
      <span class="avatar">${initials}</span><span class="user-inline">${name}</span><${Icon} name="chevronDown" size=${14} class="user-chevron" /></button>
    ${open && html`<div class="menu menu-right" role="menu" ref=${menu} onKeyDown=${onMenuKey}>
      <div class="menu-head"><div class="menu-name" data-testid="user-name">${name}</div><div class="muted small">${u.email} · ${u.role}</div></div>
      <a class="menu-item" role="menuitem" href="/settings/account" onClick=${() => setOpen(false)}><${Icon} name="user" /> Account</a>
      ${(u.role === 'admin' || u.role === 'developer') && html`<a class="menu-item" role="menuitem" href="/settings/keys" onClick=${() => setOpen(false)}><${Icon} name="key" /> API keys</a>`}
      ${u.role === 'admin' && html`<a class="menu-item" role="menuitem" href="/settings/users" onClick=${() => setOpen(false)}><${Icon} name="users" /> Users and teams</a>`}
      <button type="button" class="menu-item" role="menuitem" onClick=${() => {
        // Without a password, logging out locks the user out until someone
        // makes them a new login link.
        if (u.hasPassword === false && !window.confirm('You have not set a password: after logging out you will need a new one-time login link to get back in. Log out anyway? (Set a password in Account settings first to avoid this.)')) return
        logout()
      }}><${Icon} name="logout" /> Log out</button>
    </div>`}
  </div>`
}

function TreeGroup({ g, path, depth = 0 }) {
  const active = path === `/pages/${g.slug}`
  const inside = path.startsWith(`/pages/${g.slug}`) || path.startsWith(`/actions/${g.slug}/`)
  const [open, setOpen] = useState(inside || depth === 0)
  useEffect(() => { if (inside) setOpen(true) }, [inside])
  return html`<li class="tree-group">
    <div class="tree-row">
      ${g.groups.length || g.actions.length ? html`<button type="button" class="tree-toggle" aria-label=${open ? `Collapse ${g.name}` : `Expand ${g.name}`} aria-expanded=${open} onClick=${() => setOpen(!open)}><${Icon} name=${open ? 'chevronDown' : 'chevronRight'} size=${14} /></button>` : html`<span class="tree-spacer"></span>`}
      <a class=${classes('tree-link', active && 'active')} href=${`/pages/${g.slug}`} aria-current=${active ? 'page' : undefined}><${Icon} name=${groupIcon(g)} size=${15} class="tree-folder" />${g.name}</a>
    </div>
    ${open && html`<ul class="tree">${g.groups.map(c => html`<${TreeGroup} key=${c.slug} g=${c} path=${path} depth=${depth + 1} />`)}${g.actions.map(a => html`<${TreeAction} key=${a.slug} a=${a} path=${path} />`)}</ul>`}
  </li>`
}

function TreeAction({ a, path }) {
  const active = path === `/actions/${a.slug}`
  return html`<li><a class=${classes('tree-link', active && 'active', !a.online && 'offline')} href=${`/actions/${a.slug}`} aria-current=${active ? 'page' : undefined}
    title=${a.online ? '' : 'No host is online for this action'}>${actionName(a)}</a></li>`
}

function Sidebar({ routes, path, onNavigate }) {
  const [q, setQ] = useState('')
  const tree = useMemo(() => buildTree(routes), [routes])
  const results = useMemo(() => searchActions(routes, q), [routes, q])
  const me = store.state.me
  const role = me && me.user.role
  const link = (href, icon, label, match) => html`<a class=${classes('side-link', (match ? path.startsWith(match) : path === href) && 'active')} href=${href}><${Icon} name=${icon} />${label}</a>`
  return html`<nav class="sidebar" aria-label="Actions" onClick=${e => { if (e.target.closest('a')) onNavigate() }}>
    <div class="drawer-head">
      <a class="brand" href="/"><span class="brand-mark" aria-hidden="true"></span><span class="brand-name">${(me && me.organization && me.organization.name) || 'Interval'}</span></a>
      <button type="button" class="btn btn-ghost btn-icon" aria-label="Close navigation" onClick=${onNavigate}><${Icon} name="x" size=${20} /></button>
    </div>
    <div class="side-links">
      ${link('/', 'grid', 'Dashboard')}
      ${link('/history', 'history', 'History', '/history')}
      ${link('/queue', 'inbox', 'Queue', '/queue')}
      ${link('/notifications', 'bell', 'Notifications', '/notifications')}
      ${role && role !== 'member' && link('/settings/keys', 'key', 'API keys', '/settings/keys')}
      ${role === 'admin' && link('/settings/users', 'users', 'Users and teams', '/settings/users')}
      ${role === 'admin' && link('/audit', 'clock', 'Audit log', '/audit')}
    </div>
    <label class="side-search"><${Icon} name="search" size=${14} /><input type="search" placeholder="Search actions" aria-label="Search actions" value=${q} onInput=${e => setQ(e.currentTarget.value)}
      onKeyDown=${e => { if (e.key === 'Enter' && results[0]) { navigate(results[0].isPage ? `/pages/${results[0].slug}` : `/actions/${results[0].slug}`); setQ(''); onNavigate() } }} />
      <button type="button" class="kbd-hint side-palette" title="Find any action, page or screen" aria-label="Open the command palette" onClick=${() => { onNavigate(); openPalette() }}>${isMac ? '⌘' : 'Ctrl'}+K</button></label>
    ${!routes ? html`<div class="side-loading"><${Spinner} size="sm" /></div>` : q ? html`<ul class="tree tree-results">
        ${results.length === 0 && html`<li class="muted small tree-empty">No actions match “${q}”</li>`}
        ${results.map(r => html`<li><a class="tree-link" href=${r.isPage ? `/pages/${r.slug}` : `/actions/${r.slug}`} onClick=${() => setQ('')}>
          ${r.isPage && html`<${Icon} name="folder" size=${15} class="tree-folder" />`}<span>${r.isPage ? r.name : actionName(r)}<span class="tree-slug">${r.slug}</span></span></a></li>`)}
      </ul>` : html`<ul class="tree tree-root">
        ${tree.groups.map(g => html`<${TreeGroup} key=${g.slug} g=${g} path=${path} />`)}
        ${tree.actions.map(a => html`<${TreeAction} key=${a.slug} a=${a} path=${path} />`)}
        ${tree.groups.length === 0 && tree.actions.length === 0 && html`<li class="muted small tree-empty">No actions yet</li>`}
      </ul>`}
  </nav>`
}

function Toasts({ toasts }) {
  return html`<div class="toasts" aria-live="polite">${toasts.map(t => html`<div class=${`toast toast-${t.kind}`} key=${t.id} role="status">
    <div>${t.title && html`<strong>${t.title}</strong>`}<div>${t.message}</div></div>
    <button type="button" class="btn btn-ghost btn-icon btn-sm" aria-label="Dismiss" onClick=${() => dismissToast(t.id)}><${Icon} name="x" /></button></div>`)}</div>`
}

function route(path, search, key) {
  const params = Object.fromEntries(new URLSearchParams(search))
  let m
  if (path === '/' || path === '') return html`<${HomeView} />`
  if ((m = /^\/actions\/(.+)$/.exec(path))) return html`<${RunView} key=${path + search + key} slug=${decodeURIComponent(m[1])} params=${params} />`
  if ((m = /^\/pages\/(.+)$/.exec(path))) return html`<${GroupView} key=${path + search} slug=${decodeURIComponent(m[1])} params=${params} />`
  if ((m = /^\/transactions\/([^/]+)$/.exec(path))) return html`<${TransactionView} key=${path} id=${decodeURIComponent(m[1])} />`
  if (path === '/history') return html`<${HistoryView} params=${params} />`
  if (path === '/queue') return html`<${QueueView} />`
  if (path === '/audit') return html`<${AuditView} />`
  if (path === '/notifications') return html`<${NotificationsView} />`
  if ((m = /^\/settings(?:\/(\w+))?$/.exec(path))) return html`<${SettingsView} tab=${m[1] || 'account'} />`
  return html`<div class="page"><h1 class="page-title">Not found</h1><p class="muted">There is nothing at ${path}.</p><a class="btn btn-secondary" href="/">Go to the dashboard</a></div>`
}

function App() {
  const s = useStore()
  const loc = useLocation()
  const [drawer, setDrawer] = useState(false)
  const url = new URL(loc.href, location.origin)
  const path = url.pathname

  useEffect(() => { setDrawer(false) }, [loc])
  useEffect(() => { if (s.me) startUnreadPolling() }, [!!s.me])

  if (s.me === undefined) {
    return html`<div class="boot"><div class="boot-inner"><${Spinner} />
      ${s.bootError && html`<p class="boot-error" role="status" data-testid="boot-error">${s.bootError} Trying again…</p>`}</div></div>`
  }
  if (s.me === null || path === '/login') {
    if (s.me && path === '/login') { navigate('/', { replace: true, force: true }); return null }
    return html`<${LoginView} onLogin=${loadMe} /><${Toasts} toasts=${s.toasts} />`
  }
  const envs = s.me.environments && s.me.environments.length ? s.me.environments : ['development', 'production']
  const org = s.me.organization || { name: 'Interval' }
  return html`<div class=${classes('app', `env-is-${s.env}`, s.env !== 'production' && 'has-env-strip', drawer && 'drawer-open')}>
    <a class="skip" href="#main">Skip to content</a>
    ${s.env !== 'production' && html`<div class="env-strip" role="note">${s.env.charAt(0).toUpperCase() + s.env.slice(1)} environment</div>`}
    <header class="topbar">
      <button type="button" class="btn btn-ghost btn-icon hamburger" aria-label="Open navigation" aria-expanded=${drawer} onClick=${() => setDrawer(!drawer)}><${Icon} name=${drawer ? 'x' : 'menu'} size=${20} /></button>
      <a class="brand" href="/"><span class="brand-mark" aria-hidden="true"></span><span class="brand-name" data-testid="org-name">${org.name}</span></a>
      <div class="topbar-spacer"></div>
      <${HostStatus} routes=${s.routes} socketStatus=${s.socketStatus} />
      <${EnvSwitch} env=${s.env} envs=${envs} />
      <${NotificationBell} unread=${s.unread} active=${path === '/notifications'} />
      <${UserMenu} me=${s.me} />
    </header>
    <div class="layout">
      <${Sidebar} routes=${s.routes} path=${path} onNavigate=${() => setDrawer(false)} />
      ${drawer && html`<div class="scrim" onClick=${() => setDrawer(false)}></div>`}
      <main class="main" id="main" tabindex="-1">${route(path, url.search, loc.key)}</main>
    </div>
    <${CommandPalette} />
    <${Toasts} toasts=${s.toasts} />
  </div>`
}

render(html`<${App} />`, document.getElementById('app'))
loadMe()
