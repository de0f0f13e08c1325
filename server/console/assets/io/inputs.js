// Input components of PROTOCOL.md §5.3. Each receives the component render
// (comp), its decoded props, the current wire value and setValue.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { html, classes } from '../lib/html.js'
import { api } from '../lib/api.js'
import { safeURL, sanitize, sanitizeToFragment } from '../lib/markup.js'
import Squire from 'squire'
import { Icon, Spinner } from '../lib/ui.js'

const CURRENCY_SYMBOLS = { USD: '$', CAD: '$', EUR: '€', GBP: '£', AUD: '$', CNY: '¥', JPY: '¥' }

export function pad(n, w = 2) { return String(n).padStart(w, '0') }
export function dateToInput(d) { return d && d.year ? `${pad(d.year, 4)}-${pad(d.month)}-${pad(d.day)}` : '' }
export function timeToInput(t) { return t && t.hour != null ? `${pad(t.hour)}:${pad(t.minute)}` : '' }
function parseDate(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || '')
  return m ? { year: +m[1], month: +m[2], day: +m[3] } : undefined
}
function parseTime(s) {
  const m = /^(\d{2}):(\d{2})/.exec(s || '')
  return m ? { hour: +m[1], minute: +m[2] } : undefined
}

/** constraintsText is the plain-English text of the "i" tooltip. */
export function constraintsText(method, p) {
  switch (method) {
    case 'INPUT_TEXT':
      if (p.minLength && p.maxLength) return `Between ${p.minLength} and ${p.maxLength} characters.`
      if (p.minLength) return `At least ${p.minLength} characters.`
      if (p.maxLength) return `At most ${p.maxLength} characters.`
      return ''
    case 'INPUT_NUMBER': {
      const dec = p.decimals != null ? p.decimals : p.currency ? 2 : 0
      let range = ''
      if (p.min != null && p.max != null) range = ` between ${p.min} and ${p.max}`
      else if (p.min != null) range = ` of at least ${p.min}`
      else if (p.max != null) range = ` of at most ${p.max}`
      return `Must be ${dec ? 'a number' : 'a whole number'}${range}${dec ? ` with up to ${dec} decimal${dec > 1 ? 's' : ''}` : ''}.`
    }
    case 'INPUT_URL': return p.allowedProtocols && p.allowedProtocols.length ? `Allowed protocols: ${p.allowedProtocols.join(', ')}.` : ''
    case 'INPUT_DATE': case 'INPUT_TIME': case 'INPUT_DATETIME': {
      const f = v => method === 'INPUT_TIME' ? timeToInput(v) : method === 'INPUT_DATE' ? dateToInput(v) : `${dateToInput(v)} ${timeToInput(v)}`
      if (p.min && p.max) return `Between ${f(p.min)} and ${f(p.max)}.`
      if (p.min) return `Earliest: ${f(p.min)}.`
      if (p.max) return `Latest: ${f(p.max)}.`
      return ''
    }
    case 'UPLOAD_FILE': return p.allowedExtensions && p.allowedExtensions.length ? `Allowed file types: ${p.allowedExtensions.join(', ')}.` : ''
    case 'SELECT_MULTIPLE': case 'SELECT_TABLE': {
      if (p.minSelections && p.maxSelections) return `Select between ${p.minSelections} and ${p.maxSelections}.`
      if (p.minSelections) return `Select at least ${p.minSelections}.`
      if (p.maxSelections) return `Select at most ${p.maxSelections}.`
      return ''
    }
    default: return ''
  }
}

/** clientError checks a value in the browser (before any round trip). */
export function clientError(comp, p, v) {
  const m = comp.methodName
  const vals = comp.isMultiple && Array.isArray(v) ? v : [v]
  for (const x of vals) {
    if (x === undefined || x === null || x === '') continue
    switch (m) {
      case 'INPUT_TEXT':
        if (p.minLength && x.length < p.minLength) return `Please enter at least ${p.minLength} characters.`
        if (p.maxLength && x.length > p.maxLength) return `Please enter no more than ${p.maxLength} characters.`
        break
      case 'INPUT_EMAIL':
        if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(x)) return 'Please enter a valid email address.'
        break
      case 'INPUT_NUMBER': case 'INPUT_SLIDER':
        if (typeof x !== 'number' || isNaN(x)) return 'Please enter a number.'
        if (p.min != null && x < p.min) return `Must be at least ${p.min}.`
        if (p.max != null && x > p.max) return `Must be at most ${p.max}.`
        if (m === 'INPUT_NUMBER') {
          const dec = p.decimals != null ? p.decimals : p.currency ? 2 : 0
          const s = String(x)
          const d = s.includes('.') ? s.split('.')[1].length : 0
          if (d > dec) return dec ? `Use at most ${dec} decimal${dec > 1 ? 's' : ''}.` : 'Please enter a whole number.'
        }
        break
      case 'INPUT_URL': {
        let u
        try { u = new URL(x) } catch { return 'Please enter a valid URL.' }
        const allowed = p.allowedProtocols || ['http', 'https']
        if (!allowed.includes(u.protocol.replace(':', ''))) return `The URL must start with ${allowed.map(a => a + '://').join(' or ')}.`
        break
      }
      case 'INPUT_DATE': case 'INPUT_DATETIME': {
        const key = o => o ? o.year * 1e8 + o.month * 1e6 + o.day * 1e4 + (o.hour || 0) * 100 + (o.minute || 0) : 0
        if (p.min && key(x) < key(p.min)) return 'This date is too early.'
        if (p.max && key(x) > key(p.max)) return 'This date is too late.'
        break
      }
      case 'SELECT_MULTIPLE': case 'SELECT_TABLE':
        if (p.minSelections && x.length < p.minSelections) return `Please select at least ${p.minSelections}.`
        if (p.maxSelections && x.length > p.maxSelections) return `Please select no more than ${p.maxSelections}.`
        break
    }
  }
  if ((m === 'SELECT_MULTIPLE' || m === 'SELECT_TABLE') && Array.isArray(v) && v.length === 0 && p.minSelections && !comp.isOptional) {
    return `Please select at least ${p.minSelections}.`
  }
  return null
}

/** initialValue is the wire value a component starts with. */
export function initialValue(comp, p) {
  const m = comp.methodName
  if (comp.isMultiple) {
    const d = comp.multipleProps && comp.multipleProps.defaultValue
    return Array.isArray(d) ? d : []
  }
  switch (m) {
    case 'INPUT_BOOLEAN': return !!p.defaultValue
    case 'SELECT_MULTIPLE': return Array.isArray(p.defaultValue) ? p.defaultValue : []
    case 'SELECT_TABLE': return (p.selectedKeys || []).map(k => ({ key: k }))
    case 'INPUT_SLIDER': return p.defaultValue != null ? p.defaultValue : undefined
    case 'INPUT_SPREADSHEET': return Array.isArray(p.defaultValue) ? p.defaultValue : []
    case 'SEARCH': return p.defaultValue != null ? p.defaultValue : undefined
    default: return p.defaultValue != null ? p.defaultValue : undefined
  }
}

/** requiredText is the message for a required component left empty. */
export function requiredText(comp, p) {
  const n = Math.max(1, p.minSelections || 0)
  if (comp.methodName === 'SELECT_TABLE') return n === 1 ? 'Select at least one row.' : `Select at least ${n} rows.`
  if (comp.methodName === 'SELECT_MULTIPLE') return n === 1 ? 'Select at least one option.' : `Select at least ${n} options.`
  if (comp.methodName === 'UPLOAD_FILE') return 'Choose a file.'
  return 'This field is required.'
}

export function isEmpty(comp, v) {
  if (v === undefined || v === null || v === '') return true
  if (Array.isArray(v) && (comp.isMultiple || comp.methodName === 'SELECT_MULTIPLE' || comp.methodName === 'SELECT_TABLE' || comp.methodName === 'INPUT_SPREADSHEET')) return v.length === 0
  return false
}

// ---- individual inputs ----

export function TextInput({ id, comp, p, value, setValue, disabled, autoFocus, invalid }) {
  const common = {
    id, disabled: disabled || p.disabled, placeholder: p.placeholder || '', autoFocus,
    'aria-invalid': invalid ? 'true' : undefined, 'aria-describedby': `${id}-help ${id}-err`,
    value: value == null ? '' : value, onInput: e => setValue(e.currentTarget.value === '' ? undefined : e.currentTarget.value),
  }
  if (comp.methodName === 'INPUT_TEXT' && p.multiline) {
    return html`<textarea class="input" rows=${p.lines || 3} maxLength=${p.maxLength} ...${common}></textarea>`
  }
  const type = comp.methodName === 'INPUT_EMAIL' ? 'email' : comp.methodName === 'INPUT_URL' ? 'url' : 'text'
  return html`<input class="input" type=${type} maxLength=${p.maxLength} autocomplete=${type === 'email' ? 'email' : 'off'} ...${common} />`
}

export function NumberInput({ id, p, value, setValue, disabled, autoFocus, invalid }) {
  const dec = p.decimals != null ? p.decimals : p.currency ? 2 : 0
  const [text, setText] = useState(value == null ? '' : String(value))
  const prefix = p.currency ? CURRENCY_SYMBOLS[p.currency] || p.currency : p.prepend
  return html`<div class=${classes('input-affix', 'input-narrow', invalid && 'is-invalid', (disabled || p.disabled) && 'is-disabled')}>
    ${prefix && html`<span class="affix">${prefix}</span>`}
    <input id=${id} class="input-bare" type="text" inputmode=${dec ? 'decimal' : 'numeric'} placeholder=${p.placeholder || ''}
      disabled=${disabled || p.disabled} autoFocus=${autoFocus} aria-invalid=${invalid ? 'true' : undefined} aria-describedby=${`${id}-help ${id}-err`}
      value=${text} onInput=${e => {
        const t = e.currentTarget.value
        setText(t)
        const n = t.trim() === '' ? undefined : Number(t.replace(/,/g, ''))
        setValue(n === undefined ? undefined : n)
      }} />
    ${p.currency && html`<span class="affix affix-end">${p.currency}</span>`}
  </div>`
}

export function SliderInput({ id, p, value, setValue, disabled }) {
  const v = value != null ? value : p.min
  return html`<div class="slider">
    <input id=${id} type="range" min=${p.min} max=${p.max} step=${p.step || 1} value=${v} disabled=${disabled || p.disabled}
      onInput=${e => setValue(Number(e.currentTarget.value))} aria-valuetext=${String(v)} />
    <output for=${id} class=${classes('slider-value', value == null && 'muted')}>${value != null ? value : '—'}</output>
    <span class="slider-range">${p.min} – ${p.max}</span>
  </div>`
}

export function BooleanInput({ id, comp, p, value, setValue, disabled, autoFocus }) {
  return html`<label class="check">
    <input id=${id} type="checkbox" checked=${!!value} disabled=${disabled || p.disabled} autoFocus=${autoFocus}
      aria-describedby=${`${id}-help`} onChange=${e => setValue(e.currentTarget.checked)} />
    <span class="check-label">${comp.label}${comp.isOptional && html` <span class="optional">(optional)</span>`}</span>
  </label>`
}

export function DateInput({ id, comp, p, value, setValue, disabled, autoFocus, invalid }) {
  const m = comp.methodName
  const common = { id, class: 'input input-date', disabled: disabled || p.disabled, autoFocus, 'aria-invalid': invalid ? 'true' : undefined, 'aria-describedby': `${id}-help ${id}-err` }
  if (m === 'INPUT_TIME') {
    return html`<input type="time" ...${common} value=${timeToInput(value)} onInput=${e => setValue(parseTime(e.currentTarget.value))} />`
  }
  if (m === 'INPUT_DATE') {
    return html`<input type="date" ...${common} min=${dateToInput(p.min)} max=${dateToInput(p.max)} value=${dateToInput(value)} onInput=${e => setValue(parseDate(e.currentTarget.value))} />`
  }
  const v = value ? `${dateToInput(value)}T${timeToInput(value) || '00:00'}` : ''
  return html`<input type="datetime-local" ...${common} min=${p.min ? `${dateToInput(p.min)}T${timeToInput(p.min) || '00:00'}` : undefined}
    max=${p.max ? `${dateToInput(p.max)}T${timeToInput(p.max) || '23:59'}` : undefined} value=${v}
    onInput=${e => { const [d, t] = e.currentTarget.value.split('T'); const dd = parseDate(d); const tt = parseTime(t); setValue(dd && tt ? { ...dd, ...tt } : undefined) }} />`
}

// The rich text editor's toolbar: [label, title, apply, active path test].
const RTE_TOOLS = [
  ['B', 'Bold (Ctrl+B)', ed => (ed.hasFormat('B') ? ed.removeBold() : ed.bold()), /(^|>)(B|STRONG)(>|$)/],
  ['I', 'Italic (Ctrl+I)', ed => (ed.hasFormat('I') ? ed.removeItalic() : ed.italic()), /(^|>)(I|EM)(>|$)/],
  ['U', 'Underline (Ctrl+U)', ed => (ed.hasFormat('U') ? ed.removeUnderline() : ed.underline()), /(^|>)U(>|$)/],
  ['S', 'Strikethrough', ed => (ed.hasFormat('S') ? ed.removeStrikethrough() : ed.strikethrough()), /(^|>)(S|DEL)(>|$)/],
  ['•≡', 'Bulleted list', ed => (ed.hasFormat('UL') ? ed.removeList() : ed.makeUnorderedList()), /(^|>)UL(>|$)/],
  ['1≡', 'Numbered list', ed => (ed.hasFormat('OL') ? ed.removeList() : ed.makeOrderedList()), /(^|>)OL(>|$)/],
  ['❝', 'Quote', ed => (ed.hasFormat('BLOCKQUOTE') ? ed.decreaseQuoteLevel() : ed.increaseQuoteLevel()), /(^|>)BLOCKQUOTE(>|$)/],
  ['</>', 'Code', ed => ed.toggleCode(), /(^|>)(CODE|PRE)(>|$)/],
]

/** setBlock turns the selected blocks into tag (P, H2, H3). */
function setBlock(ed, tag) {
  ed.modifyBlocks(frag => {
    for (const b of [...frag.childNodes]) {
      if (b.nodeType !== 1 || !/^(P|DIV|H[1-6])$/.test(b.nodeName)) continue
      const n = document.createElement(tag)
      n.append(...b.childNodes)
      b.replaceWith(n)
    }
    return frag
  })
}

/**
 * RichTextInput edits HTML with Squire (vendored): lists, quotes, code,
 * headings, links, undo and redo (Ctrl+Z, Ctrl+Shift+Z), the usual
 * shortcuts. What it holds is sanitized by the console's one policy on the
 * way in (the host's default, a paste) and on the way out.
 */
export function RichTextInput({ id, p, value, setValue, disabled, autoFocus, invalid }) {
  const ref = useRef()
  const ed = useRef(null)
  const [state, setState] = useState({ path: '', canUndo: false, canRedo: false })
  const [empty, setEmpty] = useState(!value)
  const off = disabled || p.disabled
  useEffect(() => {
    const editor = new Squire(ref.current, { blockTag: 'P', sanitizeToDOMFragment: h => sanitizeToFragment(h), didError: () => {} })
    ed.current = editor
    editor.setHTML(sanitize(value || ''))
    const root = editor.getRoot()
    setEmpty(root.textContent.trim() === '' && !root.querySelector('img, hr'))
    const sync = () => {
      const h = sanitize(editor.getHTML())
      const root = editor.getRoot()
      const empty = root.textContent.trim() === '' && !root.querySelector('img, hr')
      setEmpty(empty)
      setValue(empty ? undefined : h)
    }
    editor.addEventListener('input', sync)
    editor.addEventListener('pathChange', e => setState(s => ({ ...s, path: e.detail.path })))
    editor.addEventListener('undoStateChange', e => setState(s => ({ ...s, canUndo: e.detail.canUndo, canRedo: e.detail.canRedo })))
    if (autoFocus) editor.focus()
    return () => { editor.destroy(); ed.current = null }
  }, [])
  useEffect(() => { if (ref.current) ref.current.setAttribute('contenteditable', off ? 'false' : 'true') }, [off])
  const act = f => e => { e.preventDefault(); if (ed.current && !off) { f(ed.current); ed.current.focus() } }
  const link = ed => {
    const u = window.prompt('Link address (https://…)')
    if (u && safeURL(u)) ed.makeLink(u, { target: '_blank', rel: 'noopener noreferrer' })
  }
  const block = (/(^|>)(H2|H3)(>|$)/.exec(state.path) || [])[2] || ''
  return html`<div class=${classes('rte', invalid && 'is-invalid', off && 'is-disabled')}>
    <div class="rte-toolbar" role="toolbar" aria-label="Formatting">
      <select class="rte-block" aria-label="Block style" disabled=${off} value=${block}
        onChange=${e => { const t = e.currentTarget.value || 'P'; if (ed.current) { setBlock(ed.current, t); ed.current.focus() } }}>
        <option value="">Paragraph</option><option value="H2">Heading 2</option><option value="H3">Heading 3</option>
      </select>
      ${RTE_TOOLS.map(([t, l, f, on]) => html`<button type="button" class=${classes('rte-btn', on.test(state.path) && 'is-on')} title=${l} aria-label=${l.replace(/ \(.*\)$/, '')}
        aria-pressed=${on.test(state.path) ? 'true' : 'false'} disabled=${off} onMouseDown=${act(f)}>${t}</button>`)}
      <button type="button" class="rte-btn" title="Link" aria-label="Link" disabled=${off} onMouseDown=${act(link)}><${Icon} name="link" size=${14} /></button>
      <button type="button" class="rte-btn" title="Clear formatting" aria-label="Clear formatting" disabled=${off} onMouseDown=${act(e => e.removeAllFormatting())}><${Icon} name="x" size=${14} /></button>
      <span class="rte-sep"></span>
      <button type="button" class="rte-btn" title="Undo (Ctrl+Z)" aria-label="Undo" disabled=${off || !state.canUndo} onMouseDown=${act(e => e.undo())}>↶</button>
      <button type="button" class="rte-btn" title="Redo (Ctrl+Shift+Z)" aria-label="Redo" disabled=${off || !state.canRedo} onMouseDown=${act(e => e.redo())}>↷</button>
    </div>
    <div class="rte-area">
      ${empty && p.placeholder && html`<div class="rte-placeholder" aria-hidden="true">${p.placeholder}</div>`}
      <div id=${id} ref=${ref} class="rte-body prose" role="textbox" aria-multiline="true" aria-placeholder=${p.placeholder || undefined}
        aria-describedby=${`${id}-help ${id}-err`}></div>
    </div>
  </div>`
}

function fmtSize(n) {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`
  return `${(n / 1024 / 1024).toFixed(1)} MB`
}

/**
 * FileInput uploads to the server's storage (POST /api/console/uploads),
 * or, when the host generates upload URLs (props.fileUrls present), asks for
 * them with SET_STATE and PUTs the files there.
 */
export function FileInput({ id, comp, p, value, setValue, disabled, onState, invalid }) {
  const [busy, setBusy] = useState(false)
  const [err, setErr] = useState(null)
  const [drag, setDrag] = useState(false)
  const waiting = useRef(null)
  const multiple = !!comp.isMultiple
  const files = multiple ? (value || []) : value ? [value] : []

  // Presigned URLs arrive in a re-render after our SET_STATE.
  useEffect(() => {
    if (waiting.current && Array.isArray(p.fileUrls) && p.fileUrls.length) {
      const w = waiting.current
      waiting.current = null
      w(p.fileUrls)
    }
  }, [p])

  const accept = (p.allowedExtensions || []).join(',')
  const upload = async list => {
    setErr(null)
    list = [...list]
    if (!list.length) return
    if (!multiple) list = list.slice(0, 1)
    if (p.allowedExtensions && p.allowedExtensions.length) {
      const bad = list.find(f => !p.allowedExtensions.some(ext => f.name.toLowerCase().endsWith(ext.toLowerCase())))
      if (bad) { setErr(`${bad.name} is not an allowed file type (${p.allowedExtensions.join(', ')}).`); return }
    }
    setBusy(true)
    try {
      let out
      if ('fileUrls' in p && onState) {
        const urls = await new Promise((resolve, reject) => {
          waiting.current = resolve
          onState({ files: list.map(f => ({ name: f.name, type: f.type })) })
          setTimeout(() => { if (waiting.current === resolve) { waiting.current = null; reject(new Error('The host did not provide upload URLs.')) } }, 30000)
        })
        out = await Promise.all(list.map(async (f, i) => {
          const r = await fetch(urls[i].uploadUrl, { method: 'PUT', body: f, headers: { 'Content-Type': f.type || 'application/octet-stream' } })
          if (!r.ok) throw new Error(`Upload of ${f.name} failed (${r.status}).`)
          return { name: f.name, type: f.type, size: f.size, lastModified: f.lastModified, url: urls[i].downloadUrl }
        }))
      } else {
        out = await Promise.all(list.map(async f => {
          const fd = new FormData()
          fd.append('file', f, f.name)
          const r = await api('POST', '/api/console/uploads', fd)
          return { name: r.name || f.name, type: r.type || f.type, size: r.size != null ? r.size : f.size, lastModified: r.lastModified || f.lastModified, url: r.url }
        }))
      }
      setValue(multiple ? [...files, ...out] : out[0])
    } catch (e) {
      setErr(e.message)
    } finally {
      setBusy(false)
    }
  }
  const off = disabled || p.disabled
  const remove = i => setValue(multiple ? files.filter((_, j) => j !== i) : undefined)
  return html`<div>
    ${files.length > 0 && html`<ul class="file-list">${files.map((f, i) => html`<li class="file-item">
      <${Icon} name="copy" /><div class="file-meta"><a class="link" href=${safeURL(f.url)} target="_blank" rel="noopener noreferrer">${f.name}</a><span class="muted">${fmtSize(f.size || 0)}</span></div>
      <button type="button" class="btn btn-ghost btn-icon btn-sm" aria-label=${`Remove ${f.name}`} disabled=${off} onClick=${() => remove(i)}><${Icon} name="x" /></button></li>`)}</ul>`}
    ${(multiple || files.length === 0) && html`<label class=${classes('dropzone', drag && 'is-drag', (invalid || err) && 'is-invalid', off && 'is-disabled')}
      onDragOver=${e => { e.preventDefault(); setDrag(true) }} onDragLeave=${() => setDrag(false)}
      onDrop=${e => { e.preventDefault(); setDrag(false); if (!off) upload(e.dataTransfer.files) }}>
      <input id=${id} type="file" class="sr-only" accept=${accept || undefined} multiple=${multiple} disabled=${off || busy}
        aria-invalid=${invalid || err ? 'true' : undefined} aria-describedby=${`${id}-help ${id}-err ${id}-upload-err`} onChange=${e => { upload(e.currentTarget.files); e.currentTarget.value = '' }} />
      ${busy ? html`<${Spinner} /><span>Uploading…</span>` : html`<${Icon} name="upload" size=${22} /><span><span class="link">Select a file</span> or drag and drop</span>`}
      ${accept && html`<span class="muted small">${p.allowedExtensions.join(', ')}</span>`}
    </label>`}
    ${err && html`<div class="field-error" id=${`${id}-upload-err`} role="alert" data-testid="upload-error">${err}</div>`}
  </div>`
}

function optText(v) { return v instanceof Date ? v.toISOString() : String(v) }
function sameOption(a, b) { return a && b && typeof a.value === typeof b.value && optText(a.value) === optText(b.value) }

function OptionBody({ o }) {
  const img = safeURL(o.image && o.image.url) || safeURL(o.imageUrl)
  return html`${img && html`<img class="opt-img" src=${img} alt=${(o.image && o.image.alt) || ''} />`}<span class="opt-text"><span class="opt-label">${optText(o.label)}</span>${o.description && html`<span class="opt-desc">${o.description}</span>`}</span>`
}

/** SelectSingle is a combobox with rich options and optional search. */
export function SelectSingle({ id, p, value, setValue, disabled, autoFocus, invalid, optional }) {
  const [open, setOpen] = useState(false)
  const [q, setQ] = useState('')
  const [active, setActive] = useState(0)
  const ref = useRef()
  const options = p.options || []
  const searchable = p.searchable || options.length > 8
  const shown = useMemo(() => {
    const s = q.trim().toLowerCase()
    return s ? options.filter(o => `${optText(o.label)} ${o.description || ''}`.toLowerCase().includes(s)) : options
  }, [q, options])
  useEffect(() => {
    if (!open) return
    const close = e => { if (ref.current && !ref.current.contains(e.target)) setOpen(false) }
    document.addEventListener('mousedown', close)
    return () => document.removeEventListener('mousedown', close)
  }, [open])
  // An open searchable select takes the keys in its search box; choosing or
  // Escape gives them back to its button, once closed (focused during the
  // key's own events, the button would take the Enter and open again).
  const search = useRef()
  const refocus = useRef(false)
  useEffect(() => {
    if (open && search.current) search.current.focus()
    if (!open && refocus.current && ref.current) ref.current.querySelector('.select-trigger').focus()
    refocus.current = false
  }, [open])
  const trigger = () => { refocus.current = true }
  const choose = o => { setValue(o); setOpen(false); setQ(''); trigger() }
  const toggle = () => { setOpen(!open); setActive(Math.max(0, options.findIndex(o => sameOption(o, value)))) }
  const onKey = e => {
    // The keyboard opens the select on its own keydown: the button's
    // click from a key (detail 0) is ignored, so the Enter that chose an
    // option cannot reach the button as a click and open it again.
    if ((e.key === 'Enter' || e.key === ' ') && !open && e.target.classList.contains('select-trigger') && !(e.ctrlKey || e.metaKey)) { e.preventDefault(); toggle() }
    else if (e.key === 'ArrowDown') { e.preventDefault(); if (!open) setOpen(true); setActive(a => Math.min(a + 1, shown.length - 1)) }
    else if (e.key === 'ArrowUp') { e.preventDefault(); setActive(a => Math.max(a - 1, 0)) }
    else if (e.key === 'Enter' && open && !(e.ctrlKey || e.metaKey)) { e.preventDefault(); if (shown[active]) choose(shown[active]) }
    else if (e.key === 'Escape' && open) { e.stopPropagation(); setOpen(false); setQ(''); trigger() }
    else if (e.key === 'Tab' && open) setOpen(false)
  }
  const off = disabled || p.disabled
  return html`<div class="select" ref=${ref} onKeyDown=${onKey}>
    <button type="button" id=${id} class=${classes('input', 'select-trigger', invalid && 'is-invalid')} disabled=${off} autoFocus=${autoFocus}
      aria-haspopup="listbox" aria-expanded=${open} aria-describedby=${`${id}-help ${id}-err`} onClick=${e => { if (e.detail !== 0) toggle() }}>
      ${value ? html`<span class="select-value"><${OptionBody} o=${value} /></span>` : html`<span class="placeholder">Select…</span>`}
      <${Icon} name="chevronDown" class="select-chevron" />
    </button>
    ${value && optional && !off && html`<button type="button" class="select-clear btn-icon btn btn-ghost btn-sm" aria-label="Clear selection" onClick=${() => setValue(undefined)}><${Icon} name="x" size=${14} /></button>`}
    ${open && html`<div class="select-pop">
      ${searchable && html`<input class="input input-sm select-search" ref=${search} placeholder="Search…" aria-label="Search options" value=${q} onInput=${e => { setQ(e.currentTarget.value); setActive(0) }} />`}
      <ul role="listbox" class="select-list">
        ${shown.length === 0 && html`<li class="select-empty">No options</li>`}
        ${shown.map((o, i) => html`<li role="option" aria-selected=${sameOption(o, value)} class=${classes('select-opt', sameOption(o, value) && 'is-selected', i === active && 'is-active')}
          onMouseEnter=${() => setActive(i)} onMouseDown=${e => { e.preventDefault(); choose(o) }}><${OptionBody} o=${o} />${sameOption(o, value) && html`<${Icon} name="check" class="opt-check" />`}</li>`)}
      </ul>
    </div>`}
  </div>`
}

export function SelectMultiple({ id, p, value, setValue, disabled }) {
  const v = value || []
  const has = o => v.some(x => sameOption(x, o))
  const off = disabled || p.disabled
  return html`<fieldset class="checklist" id=${id} aria-describedby=${`${id}-help ${id}-err`}>
    ${(p.options || []).map((o, i) => html`<label class="check" key=${i}>
      <input type="checkbox" checked=${has(o)} disabled=${off || (!has(o) && p.maxSelections && v.length >= p.maxSelections)}
        onChange=${e => setValue(e.currentTarget.checked ? [...v, { label: o.label, value: o.value }] : v.filter(x => !sameOption(x, o)))} />
      <span class="check-label"><${OptionBody} o=${o} /></span></label>`)}
  </fieldset>`
}

/** Search sends {queryTerm} with SET_STATE and shows the host's results. */
export function SearchInput({ id, comp, p, value, setValue, disabled, autoFocus, invalid, onState }) {
  const [q, setQ] = useState('')
  const [open, setOpen] = useState(false)
  const [pending, setPending] = useState(false)
  const [active, setActive] = useState(0)
  // value → result, to show the labels of chosen results once a search
  // has replaced the results they came from: the defaults among the first
  // results, then each result chosen.
  const [chosen, setChosen] = useState(() => {
    const first = comp.isMultiple ? (Array.isArray(value) ? value : []) : value != null ? [value] : []
    return Object.fromEntries((p.results || []).filter(r => first.includes(r.value)).map(r => [r.value, r]))
  })
  const timer = useRef()
  const ref = useRef()
  const results = p.results || []
  useEffect(() => { setPending(false); setActive(0) }, [p])
  useEffect(() => {
    const close = e => { if (ref.current && !ref.current.contains(e.target)) setOpen(false) }
    document.addEventListener('mousedown', close)
    return () => { document.removeEventListener('mousedown', close); clearTimeout(timer.current) }
  }, [])
  const multiple = !!comp.isMultiple
  const vals = multiple ? (value || []) : value != null ? [value] : []
  const find = v => chosen[v] || results.find(r => r.value === v) || { value: v, label: v }
  const choose = r => {
    setChosen(c => ({ ...c, [r.value]: r }))
    setValue(multiple ? (vals.includes(r.value) ? vals : [...vals, r.value]) : r.value)
    setOpen(false)
  }
  const onInput = e => {
    const t = e.currentTarget.value
    setQ(t)
    setOpen(true)
    clearTimeout(timer.current)
    timer.current = setTimeout(() => { setPending(true); onState({ queryTerm: t }) }, 250)
  }
  const onKey = e => {
    if (e.key === 'ArrowDown') { e.preventDefault(); setOpen(true); setActive(a => Math.min(a + 1, results.length - 1)) }
    else if (e.key === 'ArrowUp') { e.preventDefault(); setActive(a => Math.max(a - 1, 0)) }
    else if (e.key === 'Enter' && open && !(e.ctrlKey || e.metaKey)) { e.preventDefault(); if (results[active]) choose(results[active]) }
    else if (e.key === 'Escape') setOpen(false)
  }
  const off = disabled || p.disabled
  return html`<div class="search" ref=${ref}>
    ${vals.length > 0 && html`<ul class="chosen">${vals.map(v => { const r = find(v); return html`<li class="chosen-item"><${OptionBody} o=${r} />
      <button type="button" class="btn btn-ghost btn-icon btn-sm" aria-label=${`Remove ${optText(r.label)}`} disabled=${off} onClick=${() => setValue(multiple ? vals.filter(x => x !== v) : undefined)}><${Icon} name="x" size=${14} /></button></li>` })}</ul>`}
    ${(multiple || vals.length === 0) && html`<div class=${classes('input-affix', invalid && 'is-invalid')}>
      <span class="affix"><${Icon} name="search" size=${14} /></span>
      <input id=${id} class="input-bare" type="search" role="combobox" aria-expanded=${open} aria-autocomplete="list" autocomplete="off"
        placeholder=${p.placeholder || 'Search…'} value=${q} disabled=${off} autoFocus=${autoFocus}
        aria-describedby=${`${id}-help ${id}-err`} onInput=${onInput} onFocus=${() => setOpen(true)} onKeyDown=${onKey} />
      ${pending && html`<span class="affix affix-end"><${Spinner} size="sm" /></span>`}
    </div>`}
    ${open && (q || results.length > 0) && html`<div class="select-pop"><ul role="listbox" class="select-list">
      ${results.length === 0 && html`<li class="select-empty">${pending ? 'Searching…' : 'No results'}</li>`}
      ${results.map((r, i) => html`<li role="option" aria-selected=${vals.includes(r.value)} class=${classes('select-opt', i === active && 'is-active')}
        onMouseEnter=${() => setActive(i)} onMouseDown=${e => { e.preventDefault(); choose(r) }}><${OptionBody} o=${r} /></li>`)}
    </ul></div>`}
  </div>`
}

const SHEET_TYPES = { string: 'text', number: 'number', boolean: 'checkbox' }

/** Spreadsheet edits an array of records with typed columns. */
export function SpreadsheetInput({ id, p, value, setValue, disabled, invalid }) {
  const cols = Object.entries(p.columns || {})
  const rows = value || []
  const blank = () => Object.fromEntries(cols.map(([k, t]) => [k, t.endsWith('?') ? null : t.startsWith('boolean') ? false : t.startsWith('number') ? null : '']))
  const update = (i, k, v) => setValue(rows.map((r, j) => (j === i ? { ...r, [k]: v } : r)))
  const onPaste = e => {
    const t = e.clipboardData && e.clipboardData.getData('text')
    if (!t || !t.includes('\t') && !t.includes('\n')) return
    e.preventDefault()
    const lines = t.trim().split(/\r?\n/).map(l => l.split('\t'))
    const parsed = lines.map(cells => Object.fromEntries(cols.map(([k, ty], i) => {
      const c = (cells[i] || '').trim()
      if (ty.startsWith('number')) return [k, c === '' ? null : Number(c)]
      if (ty.startsWith('boolean')) return [k, /^(true|yes|1|x)$/i.test(c)]
      return [k, c === '' && ty.endsWith('?') ? null : c]
    })))
    setValue([...rows, ...parsed])
  }
  return html`<div class="sheet" id=${id} onPaste=${onPaste}>
    <div class="table-scroll"><table class="table table-sheet">
      <thead><tr><th class="col-idx">#</th>${cols.map(([k, t]) => html`<th>${k}${t.endsWith('?') && html` <span class="optional">(optional)</span>`}</th>`)}<th class="col-menu"></th></tr></thead>
      <tbody>
        ${rows.length === 0 && html`<tr><td class="table-empty" colspan=${cols.length + 2}>No rows yet. Add one, or paste cells from a spreadsheet.</td></tr>`}
        ${rows.map((r, i) => html`<tr key=${i}><td class="col-idx muted">${i + 1}</td>${cols.map(([k, t]) => {
          const base = t.replace('?', '')
          if (base === 'boolean') return html`<td data-col=${k}><input type="checkbox" aria-label=${`${k} row ${i + 1}`} checked=${!!r[k]} disabled=${disabled} onChange=${e => update(i, k, e.currentTarget.checked)} /></td>`
          // After a refusal only the required cells left empty are marked,
          // not the whole sheet.
          const missing = invalid && !t.endsWith('?') && (r[k] == null || r[k] === '')
          return html`<td data-col=${t.endsWith('?') ? `${k} (optional)` : k}><input class=${classes('input', 'input-cell', missing && 'is-missing')} type=${SHEET_TYPES[base]} aria-label=${`${k} row ${i + 1}`} aria-invalid=${missing ? 'true' : undefined} disabled=${disabled} value=${r[k] == null ? '' : r[k]}
            onInput=${e => { const s = e.currentTarget.value; update(i, k, base === 'number' ? (s === '' ? null : Number(s)) : (s === '' && t.endsWith('?') ? null : s)) }} /></td>`
        })}<td class="col-menu"><button type="button" class="btn btn-ghost btn-icon btn-sm" aria-label=${`Delete row ${i + 1}`} disabled=${disabled} onClick=${() => setValue(rows.filter((_, j) => j !== i))}><${Icon} name="x" /></button></td></tr>`)}
      </tbody>
    </table></div>
    <button type="button" class="btn btn-secondary btn-sm sheet-add" disabled=${disabled} onClick=${() => setValue([...rows, blank()])}>Add row</button>
  </div>`
}
