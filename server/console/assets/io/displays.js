// Display components of PROTOCOL.md §5.4.
import { render } from 'preact'
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import hljs from 'highlight.js'
import { html, classes } from '../lib/html.js'
import { fmtValue, isISODate, fmtDateTime } from '../lib/format.js'
import { routeHref } from '../lib/router.js'
import { copyText } from '../lib/clipboard.js'
import { safeURL, sanitize } from '../lib/markup.js'
import { downloadText } from '../lib/download.js'
import { Icon, ButtonItem, themeClass, Spinner } from '../lib/ui.js'

// Host HTML and markdown arrive sanitized by the server (display.html's
// props.html, display.markdown rendered into props.html): no browser ever
// parses a host's script or event handler, which Chromium reports as a CSP
// violation even in an inert document. The same policy runs again here as a
// second line (lib/markup.js sanitize), on HTML that it leaves as it is.

// brokenImage replaces an image of host markdown or HTML that does not load
// with a short note (its alt text), instead of the browser's broken icon.
function brokenImage(e) {
  const img = e.target
  if (!img || img.tagName !== 'IMG') return
  const note = document.createElement('span')
  note.className = 'img-missing'
  note.textContent = img.alt ? `[image: ${img.alt}]` : '[image could not be loaded]'
  img.replaceWith(note)
}

// Markdown shows display.markdown as the server rendered it (p.html); a
// render without it (none comes from this server) shows the source as text.
export function Markdown({ source, p, class: cls }) {
  const h = useMemo(() => p && typeof p.html === 'string' ? sanitize(p.html) : null, [p && p.html])
  const ref = useRef()
  // Code blocks are highlighted and get the copy and download buttons of
  // display.code.
  useEffect(() => {
    const root = ref.current
    if (!root) return
    const tools = []
    root.querySelectorAll('pre > code').forEach((el, i) => {
      const pre = el.parentElement
      const lang = ((el.className.match(/\blanguage-([\w+#.-]+)/) || [])[1] || '').toLowerCase()
      const code = el.textContent
      const hl = highlight(code, lang)
      if (hl !== null) { el.innerHTML = hl; el.classList.add('hljs') }
      const box = document.createElement('div')
      box.className = 'md-code-tools'
      pre.classList.add('md-code')
      pre.insertBefore(box, el)
      render(html`<${CodeTools} code=${code} name=${`code-${i + 1}`} language=${lang} />`, box)
      tools.push(box)
    })
    return () => tools.forEach(box => render(null, box))
  }, [h])
  if (h === null) return html`<div class=${classes('prose', 'prose-source', cls)}>${source}</div>`
  return html`<div class=${classes('prose', cls)} ref=${ref} onErrorCapture=${brokenImage} dangerouslySetInnerHTML=${{ __html: h }}></div>`
}

export function Heading({ comp, p }) {
  const level = [2, 3, 4].includes(p.level) ? p.level : 2
  const T = `h${level}`
  return html`<div class=${`io-heading io-heading-${level}`}>
    <div class="io-heading-text">
      <${T} class="io-heading-title">${comp.label}</${T}>
      ${p.description && html`<p class="io-heading-desc">${p.description}</p>`}
    </div>
    ${p.menuItems && p.menuItems.length > 0 && html`<div class="btn-row">${p.menuItems.map(it => html`<${ButtonItem} item=${it} />`)}</div>`}
  </div>`
}

export function HTMLDisplay({ p }) {
  const h = useMemo(() => sanitize(p.html || ''), [p.html])
  return html`<div class="prose html-display" onErrorCapture=${brokenImage} dangerouslySetInnerHTML=${{ __html: h }}></div>`
}

const EXT = { javascript: 'js', typescript: 'ts', json: 'json', python: 'py', go: 'go', bash: 'sh', sh: 'sh', sql: 'sql', html: 'html', css: 'css', yaml: 'yaml', ruby: 'rb' }

// Highlighting stops here: a bigger block is shown as plain text at once.
const HIGHLIGHT_MAX = 200000

/**
 * highlight returns code as highlight.js HTML (every character of code
 * escaped, spans for its tokens), or null for a language it does not know,
 * plain text, or a block too big to highlight without a pause.
 */
export function highlight(code, language) {
  const lang = String(language || '').toLowerCase()
  if (!lang || lang === 'text' || lang === 'plaintext' || code.length > HIGHLIGHT_MAX || !hljs.getLanguage(lang)) return null
  try {
    return hljs.highlight(code, { language: lang, ignoreIllegals: true }).value
  } catch {
    return null
  }
}

function CodeTools({ code, name, language }) {
  const ext = EXT[language] || 'txt'
  return html`<span class="code-tools">
    <button type="button" class="btn btn-ghost btn-icon btn-sm" aria-label="Copy code" title="Copy" onClick=${() => copyText(code)}><${Icon} name="copy" /></button>
    <button type="button" class="btn btn-ghost btn-icon btn-sm" aria-label="Download code" title="Download" onClick=${() => downloadText(`${name.replace(/[^\w.-]+/g, '-').slice(0, 40)}.${ext}`, code)}><${Icon} name="download" /></button>
  </span>`
}

export function Code({ comp, p }) {
  const code = p.code || ''
  const hl = useMemo(() => highlight(code, p.language), [code, p.language])
  return html`<div class="code-block">
    <div class="code-head"><span class="code-lang">${p.language || 'text'}</span>
      <${CodeTools} code=${code} name=${comp.label || 'code'} language=${p.language} /></div>
    ${hl === null ? html`<pre class="code"><code>${code}</code></pre>`
      : html`<pre class="code"><code class=${`hljs language-${p.language}`} dangerouslySetInnerHTML=${{ __html: hl }}></code></pre>`}
  </div>`
}

export function Image({ p }) {
  const size = p.size || p.width || p.height || 'medium'
  const [failed, setFailed] = useState(null)
  const url = safeURL(p.url)
  if (!url) return html`<div class="muted">No image</div>`
  // A URL that does not load shows a plain note, not the browser's broken
  // image icon.
  if (failed === url) {
    return html`<div class="io-image-missing" role="img" aria-label=${p.alt || 'Image'}><${Icon} name="alert" size=${15} />
      <span>The image could not be loaded.${p.alt && html` <span class="muted">(${p.alt})</span>`}</span></div>`
  }
  return html`<figure class=${`io-image img-${size}`}><img src=${url} alt=${p.alt || ''} loading="lazy" onError=${() => setFailed(url)} /></figure>`
}

export function Video({ p }) {
  const size = p.size || p.width || p.height || 'large'
  const url = safeURL(p.url)
  const [failed, setFailed] = useState(null)
  if (!url) return html`<div class="muted">No video</div>`
  // A video that does not load says so instead of an empty 0:00 player.
  if (failed === url) {
    return html`<div class="io-image-missing io-video-missing" role="img" aria-label="Video"><${Icon} name="alert" size=${15} />
      <span>The video could not be loaded.</span></div>`
  }
  return html`<div class=${`io-video img-${size}`}><video src=${url} controls loop=${!!p.loop} muted=${!!p.muted} playsinline preload="metadata" onError=${() => setFailed(url)}></video></div>`
}

export function Link({ comp, p }) {
  const cls = classes('btn', themeClass(p.theme || 'primary'))
  const href = safeURL(p.href) || safeURL(p.url)
  if (href) return html`<div><a class=${cls} href=${href} target="_blank" rel="noopener noreferrer" download=${p.download}>${comp.label}</a></div>`
  const slug = p.route || p.action
  if (slug) return html`<div><a class=${cls} href=${routeHref(slug, p.params)}>${comp.label}</a></div>`
  return html`<div><span class=${cls} aria-disabled="true">${comp.label}</span></div>`
}

function MetaValue({ item }) {
  if (item.error) return html`<span class="meta-error" role="alert"><${Icon} name="alert" size=${14} /> ${item.error}</span>`
  if (!('value' in item) && !item.image) return html`<span class="skeleton" aria-label="Loading"></span>`
  const text = item.value == null ? '—' : fmtValue(item.value)
  const imgURL = item.image && safeURL(item.image.url)
  const img = imgURL && html`<img class=${`meta-img img-${item.image.size || 'thumbnail'}`} src=${imgURL} alt=${item.image.alt || ''} />`
  const body = html`${img}${item.value != null || !img ? html`<span>${text}</span>` : null}`
  if (safeURL(item.url)) return html`<a class="link" href=${safeURL(item.url)} target="_blank" rel="noopener noreferrer">${body}</a>`
  if (item.route || item.action) return html`<a class="link" href=${routeHref(item.route || item.action, item.params)}>${body}</a>`
  return body
}

export function Metadata({ comp, p }) {
  const layout = p.layout || 'grid'
  return html`<dl class=${`meta meta-${layout}`}>
    ${(p.data || []).map(item => html`<div class="meta-item"><dt>${item.label}</dt><dd><${MetaValue} item=${item} /></dd></div>`)}
  </dl>`
}

function ObjNode({ k, v, depth }) {
  const [open, setOpen] = useState(depth < 3)
  const isObj = v && typeof v === 'object' && !(v instanceof Date)
  if (!isObj) {
    let cls = 'obj-str'; let text
    if (v === null || v === undefined) { cls = 'obj-null'; text = String(v) }
    else if (v instanceof Date) { cls = 'obj-num'; text = fmtDateTime(v) }
    else if (typeof v === 'number' || typeof v === 'boolean') { cls = 'obj-num'; text = String(v) }
    else if (isISODate(v)) { cls = 'obj-num'; text = fmtDateTime(v) }
    else text = JSON.stringify(v)
    return html`<div class="obj-row">${k != null && html`<span class="obj-key">${k}:</span> `}<span class=${cls}>${text}</span></div>`
  }
  const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v)
  const summary = Array.isArray(v) ? `Array(${v.length})` : `{${entries.length} ${entries.length === 1 ? 'key' : 'keys'}}`
  return html`<div class="obj-node">
    <button type="button" class="obj-toggle" aria-expanded=${open} onClick=${() => setOpen(!open)}>
      <${Icon} name=${open ? 'chevronDown' : 'chevronRight'} size=${12} />${k != null && html`<span class="obj-key">${k}:</span>`} <span class="muted">${summary}</span></button>
    ${open && html`<div class="obj-children">${entries.map(([ck, cv]) => html`<${ObjNode} k=${ck} v=${cv} depth=${depth + 1} />`)}</div>`}
  </div>`
}

export function ObjectView({ data, label }) {
  const text = () => JSON.stringify(data, null, 2)
  return html`<div class="obj">
    <div class="obj-tools">
      <button type="button" class="btn btn-ghost btn-icon btn-sm" aria-label="Copy JSON" title="Copy JSON" onClick=${() => copyText(text())}><${Icon} name="copy" /></button>
      <button type="button" class="btn btn-ghost btn-icon btn-sm" aria-label="Download JSON" title="Download JSON" onClick=${() => downloadText(`${(label || 'data').replace(/[^\w.-]+/g, '-').slice(0, 40)}.json`, text(), 'application/json')}><${Icon} name="download" /></button>
    </div>
    <${ObjNode} v=${data} depth=${0} />
  </div>`
}

export function ProgressBar({ done, total, label }) {
  const pct = total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0
  return html`<div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax=${total} aria-valuenow=${done} aria-label=${label || 'Progress'}>
    <div class="progress-bar" style=${`width:${pct}%`}></div></div>`
}

export function ProgressSteps({ comp, p }) {
  const s = p.steps || { completed: 0, total: 0 }
  return html`<div class="progress-block">
    ${p.currentStep && html`<div class="progress-title">${p.currentStep}</div>`}
    <${ProgressBar} done=${s.completed} total=${s.total} label=${comp.label} />
    <div class="muted small">Completed ${s.completed} of ${s.total}${p.subTitle ? ` · ${p.subTitle}` : ''}</div>
  </div>`
}

/** ProgressIndeterminate spins while its call is the current one. */
export function ProgressIndeterminate({ stopped }) {
  if (stopped) return null
  return html`<div class="progress-block"><${Spinner} /></div>`
}

/** ProgressList marks unfinished items with a spinner, or a dash once stopped. */
export function ProgressList({ p, stopped }) {
  return html`<ul class="plist">${(p.items || []).map(it => html`<li class=${classes('plist-item', it.isComplete && 'done')}>
    <span class="plist-icon">${it.isComplete ? html`<${Icon} name="check" />` : stopped ? html`<span class="plist-pending" aria-label="Not done">–</span>` : html`<${Spinner} size="sm" />`}</span>
    <span class="plist-label">${it.label}</span>${it.resultDescription && html`<span class="muted small">${it.resultDescription}</span>`}</li>`)}</ul>`
}
