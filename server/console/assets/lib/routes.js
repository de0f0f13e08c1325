// The action/page tree built from GET /api/console/routes.
import { humanize } from './format.js'

/**
 * buildTree returns the root group: {slug:'', name, page, actions, groups}.
 * Unlisted actions and pages are left out (they stay reachable by URL).
 */
export function buildTree(routes) {
  const root = { slug: '', name: 'Actions', page: null, actions: [], groups: [] }
  if (!routes) return root
  const bySlug = new Map([['', root]])
  const ensure = slug => {
    if (bySlug.has(slug)) return bySlug.get(slug)
    const i = slug.lastIndexOf('/')
    const parent = ensure(i < 0 ? '' : slug.slice(0, i))
    const g = { slug, name: humanize(slug), page: null, actions: [], groups: [] }
    bySlug.set(slug, g)
    parent.groups.push(g)
    return g
  }
  for (const p of routes.pages || []) {
    if (p.unlisted) continue
    const g = ensure(p.slug)
    g.page = p
    g.name = p.name || g.name
  }
  for (const a of routes.actions || []) {
    if (a.unlisted) continue
    const group = a.groupSlug || (a.slug.includes('/') ? a.slug.slice(0, a.slug.lastIndexOf('/')) : '')
    ensure(group).actions.push(a)
  }
  const sort = g => {
    g.actions.sort((a, b) => (a.name || a.slug).localeCompare(b.name || b.slug))
    g.groups.sort((a, b) => a.name.localeCompare(b.name))
    g.groups.forEach(sort)
  }
  sort(root)
  return root
}

export function findGroup(root, slug) {
  if (root.slug === slug) return root
  for (const g of root.groups) {
    const f = findGroup(g, slug)
    if (f) return f
  }
  return null
}

export function actionName(a) { return (a && (a.name || humanize(a.slug))) || '' }

export function findAction(routes, slug) {
  return routes && (routes.actions || []).find(a => a.slug === slug)
}

export function findPage(routes, slug) {
  return routes && (routes.pages || []).find(p => p.slug === slug)
}

/** searchActions matches name, slug and description, best first. */
export function searchActions(routes, q) {
  const s = q.trim().toLowerCase()
  if (!s || !routes) return []
  const scored = []
  for (const a of routes.actions || []) {
    if (a.unlisted) continue
    const name = actionName(a).toLowerCase()
    let score = 0
    if (name.startsWith(s)) score = 3
    else if (name.includes(s)) score = 2
    else if (a.slug.toLowerCase().includes(s)) score = 1.5
    else if ((a.description || '').toLowerCase().includes(s)) score = 1
    if (score) scored.push([score, a])
  }
  for (const p of routes.pages || []) {
    if (p.unlisted) continue
    const name = (p.name || '').toLowerCase()
    if (name.includes(s) || p.slug.toLowerCase().includes(s)) scored.push([name.startsWith(s) ? 2.5 : 1.2, { ...p, isPage: true }])
  }
  return scored.sort((x, y) => y[0] - x[0]).map(x => x[1])
}

/** groupIcon is the icon of a tree group: a folder when it holds actions or pages, a page otherwise. */
export function groupIcon(g) {
  return g.groups.length || g.actions.length ? 'folder' : 'page'
}
