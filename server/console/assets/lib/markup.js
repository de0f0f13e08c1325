// @ts-check
// What hosts send to the browser: their URLs and HTML, checked by the
// console's one policy (the server's, server/internal/markup, again).
import DOMPurify from 'dompurify'

/**
 * safeURL returns a host's URL when the console may open, load or go to
 * it, else null: not javascript:, vbscript:, or data: other than image/,
 * video/ or audio/, read the way the browser reads it. The server applies
 * the same rule first (server/internal/markup SafeURL); the CSP is the
 * wall behind both.
 */
export function safeURL(u) {
  if (typeof u !== 'string' || u === '') return null
  let url
  try { url = new URL(u, location.href) } catch { return null }
  const scheme = url.protocol.slice(0, -1).toLowerCase()
  if (scheme === 'javascript' || scheme === 'vbscript' || scheme === 'livescript') return null
  if (scheme === 'data' && !/^\s*(image|video|audio)\//i.test(decodeURIComponentSafe(url.pathname))) return null
  return u
}

function decodeURIComponentSafe(s) {
  try { return decodeURIComponent(s) } catch { return s }
}

// The inline styles host HTML may keep: the server's policy
// (server/internal/markup), none of which can move, size or lay anything
// over the console. Shorthands are listed with their longhands, as the
// browser reports them.
const STYLE_PROPS = new Set(['color', 'background-color', 'text-align', 'font-weight', 'font-style',
  'text-decoration', 'text-decoration-line', 'text-decoration-style', 'text-decoration-color', 'text-decoration-thickness',
  'vertical-align', 'white-space', 'white-space-collapse', 'text-wrap-mode'])
const CODE_CLASS = /^language-[\w+#.-]{1,40}$/

DOMPurify.addHook('afterSanitizeAttributes', node => {
  if (!node.hasAttribute) return
  if (node.hasAttribute('style')) {
    const st = node.style
    const keep = []
    for (let i = 0; st && i < st.length; i++) {
      const prop = st[i]
      const val = st.getPropertyValue(prop)
      if (STYLE_PROPS.has(prop) && !/url\(|image|expression|var\(|attr\(/i.test(val)) keep.push(`${prop}: ${val}`)
    }
    if (keep.length) node.setAttribute('style', keep.join('; '))
    else node.removeAttribute('style')
  }
  // The console's own classes would let host HTML take their look (a
  // modal's backdrop over everything); only code's language stays.
  if (node.hasAttribute('class') && !(node.tagName === 'CODE' && CODE_CLASS.test(node.getAttribute('class')))) node.removeAttribute('class')
  for (const a of ['href', 'src', 'xlink:href', 'action', 'formaction']) {
    if (node.hasAttribute(a) && !safeURL(node.getAttribute(a))) node.removeAttribute(a)
  }
})

/**
 * sanitize is the one policy for HTML from hosts and for what the rich
 * text editor holds: the server's (server/internal/markup) again, so HTML
 * it passed is left as it is. No script, handler, form control, <style>,
 * style that positions or sizes, console class, or script URL survives.
 */
const SANITIZE = { USE_PROFILES: { html: true }, FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'link', 'meta', 'base'], ADD_ATTR: ['target'] }

export function sanitize(h) {
  return DOMPurify.sanitize(h, SANITIZE)
}

/** sanitizeToFragment is sanitize returning a DocumentFragment of this document (the rich text editor's paste and setHTML). */
export function sanitizeToFragment(h) {
  const f = DOMPurify.sanitize(h, { ...SANITIZE, RETURN_DOM_FRAGMENT: true })
  return f ? document.importNode(f, true) : document.createDocumentFragment()
}
