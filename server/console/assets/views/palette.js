// The command palette (Ctrl/⌘+K): find any action, page or console screen
// by name and go there with the keyboard.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { html, classes } from '../lib/html.js'
import { navigate } from '../lib/router.js'
import { store, useStore } from '../lib/store.js'
import { Icon, isMac } from '../lib/ui.js'
import { searchActions, actionName } from '../lib/routes.js'

const SCREENS = [
  { label: 'Dashboard', href: '/', icon: 'grid' },
  { label: 'History', href: '/history', icon: 'history' },
  { label: 'Queue', href: '/queue', icon: 'inbox' },
  { label: 'Notifications', href: '/notifications', icon: 'bell' },
  { label: 'Account settings', href: '/settings/account', icon: 'user' },
  { label: 'API keys', href: '/settings/keys', icon: 'key', roles: ['admin', 'developer'] },
  { label: 'Users and teams', href: '/settings/users', icon: 'users', roles: ['admin'] },
  { label: 'Audit log', href: '/audit', icon: 'clock', roles: ['admin'] },
]

const MAX = 12

/** entries lists what the palette offers for query q: actions and pages first, then screens. */
function entries(routes, role, q) {
  const s = q.trim().toLowerCase()
  const screens = SCREENS.filter(x => (!x.roles || x.roles.includes(role)) && (!s || x.label.toLowerCase().includes(s)))
    .map(x => ({ key: `screen:${x.href}`, label: x.label, hint: 'Go to', href: x.href, icon: x.icon }))
  const found = s ? searchActions(routes, s)
    : [...((routes && routes.actions) || []).filter(a => !a.unlisted), ...((routes && routes.pages) || []).filter(p => !p.unlisted).map(p => ({ ...p, isPage: true }))]
  const runs = found.map(r => r.isPage
    ? { key: `page:${r.slug}`, label: r.name || r.slug, hint: r.slug, href: `/pages/${r.slug}`, icon: 'folder' }
    : { key: `action:${r.slug}`, label: actionName(r), hint: r.online === false ? `${r.slug} · offline` : r.slug, href: `/actions/${r.slug}`, icon: 'bolt' })
  return [...runs, ...screens].slice(0, MAX)
}

// What had focus before the palette opened: it gets it back on Escape.
let back = null

/** openPalette opens the command palette (or closes it, when open). */
export function openPalette() {
  if (!store.state.palette) back = document.activeElement
  store.set({ palette: !store.state.palette })
}

// Ctrl/⌘+K anywhere, from the moment the console loads (a listener added
// by a component would miss a key pressed before its first render ends).
document.addEventListener('keydown', e => {
  if (e.key && e.key.toLowerCase() === 'k' && (e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && store.state.me) {
    e.preventDefault()
    openPalette()
  }
})

/** CommandPalette shows the palette while store.state.palette is set. */
export function CommandPalette() {
  const s = useStore()
  const open = !!s.palette
  const [q, setQ] = useState('')
  const [active, setActive] = useState(0)
  const input = useRef()
  const role = s.me && s.me.user && s.me.user.role
  const list = useMemo(() => (open ? entries(s.routes, role, q) : []), [open, s.routes, role, q])

  useEffect(() => {
    if (open) { setQ(''); setActive(0); if (input.current) input.current.focus() }
  }, [open])

  if (!open) return null
  const close = (refocus = true) => {
    store.set({ palette: false })
    if (refocus && back && back.isConnected) back.focus()
  }
  const go = it => { close(false); navigate(it.href) }
  const onKey = e => {
    if (e.key === 'ArrowDown') { e.preventDefault(); setActive(a => (list.length ? (a + 1) % list.length : 0)) }
    else if (e.key === 'ArrowUp') { e.preventDefault(); setActive(a => (list.length ? (a - 1 + list.length) % list.length : 0)) }
    else if (e.key === 'Enter') { e.preventDefault(); if (list[active]) go(list[active]) }
    else if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); close() }
    else if (e.key === 'Tab') e.preventDefault() // the palette keeps the keyboard until it closes
  }
  const current = list[Math.min(active, list.length - 1)]
  return html`<div class="palette-backdrop" onMouseDown=${e => { if (e.target === e.currentTarget) close() }}>
    <div class="palette" role="dialog" aria-modal="true" aria-label="Go to an action, page or screen" data-testid="palette">
      <div class="palette-search"><${Icon} name="search" size=${16} />
        <input ref=${input} type="text" role="combobox" aria-expanded="true" aria-controls="palette-list" aria-autocomplete="list"
          aria-activedescendant=${current ? `palette-${current.key}` : undefined} placeholder="Run an action or go to a page…" autocomplete="off" spellcheck="false"
          value=${q} onInput=${e => { setQ(e.currentTarget.value); setActive(0) }} onKeyDown=${onKey} />
        <span class="kbd-hint" aria-hidden="true">Esc</span></div>
      <ul id="palette-list" role="listbox" class="palette-list">
        ${list.length === 0 && html`<li class="palette-empty muted">Nothing matches “${q}”.</li>`}
        ${list.map((it, i) => html`<li key=${it.key} id=${`palette-${it.key}`} role="option" aria-selected=${i === active}
            class=${classes('palette-item', i === active && 'is-active')} onMouseEnter=${() => setActive(i)} onMouseDown=${e => { e.preventDefault(); go(it) }}>
          <${Icon} name=${it.icon} size=${15} /><span class="palette-label">${it.label}</span><span class="palette-hint">${it.hint}</span></li>`)}
      </ul>
      <div class="palette-foot muted small">↑↓ to choose · Enter to open · ${isMac ? '⌘' : 'Ctrl'}+K to close</div>
    </div>
  </div>`
}
