// @ts-check
// superjson (PROTOCOL.md §4.5): the meta half of host values decoded.

function splitPath(p) {
  const out = []
  let cur = ''
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '\\' && p[i + 1] === '.') { cur += '.'; i++ } else if (p[i] === '.') { out.push(cur); cur = '' } else cur += p[i]
  }
  out.push(cur)
  return out
}

function transform(v, ann) {
  if (Array.isArray(ann)) {
    if (ann[0] === 'custom') return v
    return v
  }
  switch (ann) {
    case 'Date': { const d = new Date(v); return isNaN(d.getTime()) ? v : d }
    case 'bigint': return String(v)
    case 'undefined': return undefined
    case 'number': return Number(v)
    case 'set': return Array.isArray(v) ? v : v
    case 'map': return Array.isArray(v) ? Object.fromEntries(v) : v
    default: return v
  }
}

function applyNode(v, node) {
  if (!Array.isArray(node)) return v
  const [ann, children] = node
  if (children && v && typeof v === 'object') {
    for (const [k, child] of Object.entries(children)) setPath(v, splitPath(k), child)
  }
  return transform(v, ann)
}

function setPath(root, parts, node) {
  let o = root
  for (let i = 0; i < parts.length - 1; i++) {
    if (o == null) return
    o = o[parts[i]]
  }
  if (o == null || typeof o !== 'object') return
  const k = parts[parts.length - 1]
  o[k] = applyNode(o[k], node)
}

/** deserialize returns json with the superjson meta applied (a deep copy). */
export function deserialize(json, meta) {
  if (!meta || !meta.values) return json
  const v = json === undefined ? undefined : JSON.parse(JSON.stringify(json))
  const tree = meta.values
  if (Array.isArray(tree)) return applyNode(v, tree)
  if (v && typeof v === 'object') {
    for (const [k, node] of Object.entries(tree)) setPath(v, splitPath(k), node)
  }
  return v
}
