// Small shared UI pieces: icons, buttons, badges, menus, empty states.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'
import { html, classes } from './html.js'
import { routeHref } from './router.js'
import { safeURL } from './markup.js'

const PATHS = {
  search: 'M21 21l-4.3-4.3M10.5 18a7.5 7.5 0 1 1 0-15 7.5 7.5 0 0 1 0 15z',
  chevronDown: 'M6 9l6 6 6-6',
  chevronRight: 'M9 6l6 6-6 6',
  check: 'M5 12.5l4.5 4.5L19 7.5',
  x: 'M6 6l12 12M18 6L6 18',
  menu: 'M4 6h16M4 12h16M4 18h16',
  dots: 'M5 12h.01M12 12h.01M19 12h.01',
  folder: 'M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z',
  page: 'M6 3h8l5 5v12a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1V4a1 1 0 0 1 1-1zM14 3v5h5M9 13h6M9 17h6',
  bolt: 'M13 3L4 14h7l-1 7 9-11h-7z',
  refresh: 'M20 11a8 8 0 0 0-14.8-4M4 5v4h4M4 13a8 8 0 0 0 14.8 4M20 19v-4h-4',
  info: 'M12 16v-4M12 8h.01M12 21a9 9 0 1 1 0-18 9 9 0 0 1 0 18z',
  alert: 'M12 9v4M12 17h.01M10.3 3.9L1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z',
  upload: 'M12 16V4M7 9l5-5 5 5M4 16v3a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-3',
  copy: 'M9 9h10v10H9zM5 15V5h10',
  download: 'M12 4v12M7 11l5 5 5-5M4 20h16',
  clock: 'M12 7v5l3 3M12 21a9 9 0 1 1 0-18 9 9 0 0 1 0 18z',
  user: 'M20 21a8 8 0 0 0-16 0M12 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8z',
  key: 'M15 7a4 4 0 1 1-3.9 5H9v2H7v2H4v-3l5.1-5.1A4 4 0 0 1 15 7zM16 8h.01',
  users: 'M17 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM23 21v-2a4 4 0 0 0-3-3.9M16 3.1a4 4 0 0 1 0 7.8',
  history: 'M3 12a9 9 0 1 0 3-6.7L3 8M3 3v5h5M12 7v5l4 2',
  inbox: 'M22 12h-6l-2 3h-4l-2-3H2M5.5 5h13l3.5 7v6a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2v-6z',
  grid: 'M4 4h7v7H4zM13 4h7v7h-7zM4 13h7v7H4zM13 13h7v7h-7z',
  logout: 'M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9',
  sun: 'M12 3v2M12 19v2M5 5l1.5 1.5M17.5 17.5L19 19M3 12h2M19 12h2M5 19l1.5-1.5M17.5 6.5L19 5M12 16a4 4 0 1 0 0-8 4 4 0 0 0 0 8z',
  arrowLeft: 'M19 12H5M11 6l-6 6 6 6',
  plug: 'M9 2v6M15 2v6M6 8h12v4a6 6 0 0 1-12 0zM12 18v4',
  sortUp: 'M8 14l4-4 4 4',
  sortDown: 'M8 10l4 4 4-4',
  sortBoth: 'M8 9l4-4 4 4M8 15l4 4 4-4',
  play: 'M7 4v16l13-8z',
  link: 'M10 14a5 5 0 0 0 7 0l3-3a5 5 0 0 0-7-7l-1 1M14 10a5 5 0 0 0-7 0l-3 3a5 5 0 0 0 7 7l1-1',
  bell: 'M6 8a6 6 0 1 1 12 0c0 7 3 9 3 9H3s3-2 3-9M10.3 21a1.94 1.94 0 0 0 3.4 0',
  calendar: 'M8 3v3M16 3v3M4 8h16M5 5h14a1 1 0 0 1 1 1v13a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1z',
}

export function Icon({ name, size = 16, class: cls = '', title }) {
  const d = PATHS[name] || PATHS.info
  const dots = name === 'dots'
  return html`<svg class=${classes('icon', cls)} width=${size} height=${size} viewBox="0 0 24 24" fill="none"
    stroke="currentColor" stroke-width=${dots ? 3 : 2} stroke-linecap="round" stroke-linejoin="round"
    aria-hidden=${title ? undefined : 'true'} role=${title ? 'img' : undefined}>${title && html`<title>${title}</title>`}<path d=${d} /></svg>`
}

export function Spinner({ size = 'md', label }) {
  return html`<span class=${classes('spinner', `spinner-${size}`)} role="status" aria-label=${label || 'Loading'}></span>`
}

export function Dots() {
  return html`<span class="dots" aria-hidden="true"><span></span><span></span><span></span></span>`
}

export function Badge({ tone = 'neutral', children, dot }) {
  return html`<span class=${classes('badge', `badge-${tone}`)}>${dot && html`<span class="badge-dot"></span>`}${children}</span>`
}

export function themeClass(theme) {
  switch (theme) {
    case 'danger': return 'btn-danger'
    case 'secondary': return 'btn-secondary'
    case 'default': return 'btn-secondary'
    default: return 'btn-primary'
  }
}

/** ButtonItem renders a ButtonItem (page/heading menus, links) as a button link. */
export function ButtonItem({ item, small }) {
  const cls = classes('btn', themeClass(item.theme || 'secondary'), small && 'btn-sm')
  if (item.disabled) return html`<button type="button" class=${cls} disabled>${item.label}</button>`
  const url = safeURL(item.url)
  if (url) return html`<a class=${cls} href=${url} target="_blank" rel="noopener noreferrer">${item.label}</a>`
  const slug = item.route || item.action
  if (slug) return html`<a class=${cls} href=${routeHref(slug, item.params)}>${item.label}</a>`
  return html`<button type="button" class=${cls} disabled>${item.label}</button>`
}

const MENU_ITEM = '[role=menuitem]:not([aria-disabled=true])'

/**
 * useMenuKeyboard gives an open menu to the keyboard: its first item takes
 * focus once the menu is placed (ready), the arrow keys, Home and End move
 * between items, Escape closes it and gives focus back to its button (btn),
 * Tab leaves and closes. It returns the menu element's onKeyDown.
 */
export function useMenuKeyboard(open, ready, menu, btn, close) {
  useEffect(() => {
    if (!open || !ready || !menu.current) return
    const first = menu.current.querySelector(MENU_ITEM)
    if (first) first.focus({ preventScroll: true })
  }, [open, ready])
  useEffect(() => {
    if (!open) return
    const esc = e => { if (e.key === 'Escape') { close(); if (btn.current) btn.current.focus() } }
    document.addEventListener('keydown', esc)
    return () => document.removeEventListener('keydown', esc)
  }, [open])
  return e => {
    if (!menu.current) return
    const all = [...menu.current.querySelectorAll(MENU_ITEM)]
    const i = all.indexOf(document.activeElement)
    let next = null
    if (e.key === 'ArrowDown') next = all[(i + 1) % all.length]
    else if (e.key === 'ArrowUp') next = all[(i - 1 + all.length) % all.length]
    else if (e.key === 'Home') next = all[0]
    else if (e.key === 'End') next = all[all.length - 1]
    else if (e.key === 'Tab') close()
    if (next) { e.preventDefault(); next.focus({ preventScroll: true }) }
  }
}

/**
 * Popover menu opened by a "…" button; items are MenuItems. The menu is
 * fixed to the viewport, next to its button: inside a table it would be cut
 * off by the table's scroll box, and hidden under the pinned menu cells of
 * the rows below. It opens upwards when there is no room below, and closes
 * on scroll, resize, Escape or a click elsewhere.
 */
export function RowMenu({ items, label = 'Actions' }) {
  const [open, setOpen] = useState(false)
  const [pos, setPos] = useState(null)
  const ref = useRef()
  const btn = useRef()
  const menu = useRef()
  useEffect(() => {
    if (!open) return
    const close = e => { if (!ref.current || !ref.current.contains(e.target)) setOpen(false) }
    // A scroll that moved the button closes the menu (it would float away
    // from it). Scrolls that only arrive now, from before the menu opened
    // (focusing the button scrolled it into view), leave it where it is.
    const at = btn.current && btn.current.getBoundingClientRect()
    const away = e => {
      if (menu.current && menu.current.contains(e.target)) return
      const now = btn.current && btn.current.getBoundingClientRect()
      if (!at || !now || Math.abs(now.top - at.top) > 1 || Math.abs(now.left - at.left) > 1) setOpen(false)
    }
    const resize = () => setOpen(false)
    document.addEventListener('mousedown', close)
    window.addEventListener('scroll', away, true)
    window.addEventListener('resize', resize)
    return () => {
      document.removeEventListener('mousedown', close)
      window.removeEventListener('scroll', away, true)
      window.removeEventListener('resize', resize)
    }
  }, [open])
  useLayoutEffect(() => {
    if (!open) { setPos(null); return }
    if (!btn.current || !menu.current) return
    const b = btn.current.getBoundingClientRect()
    const w = menu.current.offsetWidth
    const h = menu.current.offsetHeight
    const below = window.innerHeight - b.bottom - 8
    const top = below < h + 4 && b.top - 8 > below ? Math.max(8, b.top - h - 4) : b.bottom + 4
    const left = Math.min(Math.max(8, b.right - w), window.innerWidth - w - 8)
    setPos({ top, left })
  }, [open])
  const onMenuKey = useMenuKeyboard(open, !!pos, menu, btn, () => setOpen(false))
  if (!items || !items.length) return null
  const style = pos ? `top:${pos.top}px;left:${pos.left}px` : 'visibility:hidden;top:0;left:0'
  return html`<div class=${classes('menu-wrap', open && 'is-open')} ref=${ref}>
    <button type="button" class="btn btn-ghost btn-icon btn-sm" ref=${btn} aria-label=${label} aria-haspopup="menu" aria-expanded=${open} onClick=${() => setOpen(!open)}><${Icon} name="dots" /></button>
    ${open && html`<div class="menu menu-fixed" role="menu" ref=${menu} style=${style} onKeyDown=${onMenuKey}>
      ${items.map(it => {
        const cls = classes('menu-item', it.theme === 'danger' && 'menu-danger')
        const url = safeURL(it.url)
        if (it.disabled || !(url || it.route || it.action)) return html`<span class=${classes(cls, 'disabled')} role="menuitem" aria-disabled="true">${it.label}</span>`
        if (url) return html`<a class=${cls} role="menuitem" href=${url} target="_blank" rel="noopener noreferrer" onClick=${() => setOpen(false)}>${it.label}</a>`
        return html`<a class=${cls} role="menuitem" href=${routeHref(it.route || it.action, it.params)} onClick=${() => setOpen(false)}>${it.label}</a>`
      })}
    </div>`}
  </div>`
}

export function Empty({ icon = 'inbox', title, children }) {
  return html`<div class="empty"><div class="empty-icon"><${Icon} name=${icon} size=${22} /></div>
    <div class="empty-title">${title}</div>${children && html`<div class="empty-body">${children}</div>`}</div>`
}

export function ErrorBox({ title = 'Something went wrong', message, children }) {
  return html`<div class="alert alert-danger" role="alert"><${Icon} name="alert" /><div><strong>${title}</strong>${message && html`<div>${message}</div>`}${children}</div></div>`
}

export function Modal({ title, onClose, children, footer, labelledBy = 'modal-title' }) {
  useEffect(() => {
    const esc = e => { if (e.key === 'Escape' && onClose) onClose() }
    document.addEventListener('keydown', esc)
    return () => document.removeEventListener('keydown', esc)
  }, [onClose])
  return html`<div class="modal-backdrop" onMouseDown=${e => { if (e.target === e.currentTarget && onClose) onClose() }}>
    <div class="modal" role="dialog" aria-modal="true" aria-labelledby=${labelledBy}>
      <div class="modal-head"><h2 id=${labelledBy}>${title}</h2>${onClose && html`<button type="button" class="btn btn-ghost btn-icon btn-sm" aria-label="Close" onClick=${onClose}><${Icon} name="x" /></button>`}</div>
      <div class="modal-body">${children}</div>
      ${footer && html`<div class="modal-foot">${footer}</div>`}
    </div>
  </div>`
}

export const isMac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent)
export function Kbd() {
  return html`<span class="kbd-hint" aria-hidden="true">${isMac ? '⌘' : 'Ctrl'}+Enter</span>`
}
