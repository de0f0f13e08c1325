// IOForm renders one IO render object (PROTOCOL.md §4.1): every component of
// its toRender, validation messages, choice buttons and keyboard submit.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { html, classes } from '../lib/html.js'
import { deserialize } from '../lib/superjson.js'
import { api, throttled } from '../lib/api.js'
import { store } from '../lib/store.js'
import { Icon, Kbd, Modal, Spinner, themeClass, ErrorBox } from '../lib/ui.js'
import * as I from './inputs.js'
import * as D from './displays.js'
import { Table, Grid } from './table.js'

const DISPLAY_LABEL_IS_CONTENT = new Set(['DISPLAY_HEADING', 'DISPLAY_MARKDOWN', 'DISPLAY_LINK'])

export function isDisplay(m) { return m.startsWith('DISPLAY_') }

const FOCUSABLE = 'input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), button:not([disabled]), [contenteditable=true], a[href], [tabindex]:not([tabindex="-1"])'

/** focusable returns el when it takes focus, else its first descendant that does. */
function focusable(el) {
  if (!el) return null
  return el.matches(FOCUSABLE) ? el : el.querySelector(FOCUSABLE)
}

/**
 * busyElsewhere reports whether the operator works in another form or a
 * dialog (an earlier step still on screen, a modal): a new step must not
 * take their keys. Focus in the navigation (a link just clicked, the
 * sidebar's search after Enter) moves to the new step.
 */
function busyElsewhere(root) {
  const a = document.activeElement
  if (!a || a === document.body || root.contains(a)) return false
  return !!a.closest('.io-form, .modal')
}

/** parseRender decodes an ioCall string (or object) and its props. */
export function parseRender(src) {
  const r = typeof src === 'string' ? JSON.parse(src) : src
  if (!r || !Array.isArray(r.toRender)) throw new Error('Malformed render: no toRender')
  r.toRender = r.toRender.map(c => ({ ...c, p: deserialize(c.props || {}, c.propsMeta) || {} }))
  if (!r.choiceButtons && r.continueButton) {
    const label = r.continueButton.label || 'Continue'
    r.choiceButtons = [{ label, value: label, theme: r.continueButton.theme || 'primary' }]
  }
  return r
}

function InfoTip({ text }) {
  if (!text) return null
  // Not a tab stop: an operator tabbing through a form goes from field to
  // field; the constraints are in the field's accessible name (role img).
  return html`<span class="info" tabindex="-1" role="img" aria-label=${text}><${Icon} name="info" size=${14} /><span class="tip" role="tooltip">${text}</span></span>`
}

function Field({ id, comp, error, children, labelFor = true }) {
  const p = comp.p
  const tip = I.constraintsText(comp.methodName, p)
  const L = labelFor ? 'label' : 'div'
  return html`<div class=${classes('field', error && 'has-error')} data-method=${comp.methodName} data-label=${comp.label}>
    <${L} class="field-label" for=${labelFor ? id : undefined} id=${`${id}-label`}>${comp.label}${comp.isOptional && html` <span class="optional">(optional)</span>`}<${InfoTip} text=${tip} /></${L}>
    ${children}
    ${p.helpText && html`<div class="help" id=${`${id}-help`}>${p.helpText}</div>`}
    <div class="field-error" id=${`${id}-err`} role=${error ? 'alert' : undefined}>${error || ''}</div>
  </div>`
}

const INPUTS = {
  INPUT_TEXT: I.TextInput, INPUT_EMAIL: I.TextInput, INPUT_URL: I.TextInput, INPUT_NUMBER: I.NumberInput,
  INPUT_SLIDER: I.SliderInput, INPUT_RICH_TEXT: I.RichTextInput, INPUT_DATE: I.DateInput, INPUT_TIME: I.DateInput,
  INPUT_DATETIME: I.DateInput, SELECT_SINGLE: I.SelectSingle, SELECT_MULTIPLE: I.SelectMultiple,
  INPUT_SPREADSHEET: I.SpreadsheetInput,
}

/** MultipleInput repeats a scalar input for .multiple() components. */
function MultipleInput({ C, id, comp, value, setValue, ...rest }) {
  const vals = Array.isArray(value) ? value : []
  const [rows, setRows] = useState(() => Math.max(1, vals.length))
  const n = Math.max(rows, vals.length)
  return html`<div class="multi">
    ${Array.from({ length: n }, (_, i) => html`<div class="multi-row" key=${i}>
      <${C} ...${rest} id=${i === 0 ? id : `${id}-${i}`} comp=${comp} p=${comp.p} value=${vals[i]} autoFocus=${rest.autoFocus && i === 0}
        setValue=${v => { const next = [...vals]; while (next.length <= i) next.push(undefined); next[i] = v; setValue(next.filter(x => x !== undefined && x !== '')) }} />
      ${n > 1 && html`<button type="button" class="btn btn-ghost btn-icon btn-sm" aria-label="Remove" onClick=${() => { setValue(vals.filter((_, j) => j !== i)); setRows(Math.max(1, n - 1)) }}><${Icon} name="x" /></button>`}
    </div>`)}
    <button type="button" class="btn btn-secondary btn-sm" onClick=${() => setRows(n + 1)} disabled=${rest.disabled}>Add another</button>
  </div>`
}

function Component({ comp, i, gid, value, setValue, error, disabled, autoFocus, onState, frozen }) {
  const m = comp.methodName
  const p = comp.p
  const id = `f-${gid}-${i}`
  const st = s => onState(i, s)
  const common = { id, comp, p, value, setValue, disabled: disabled || frozen, autoFocus, invalid: !!error, onState: st }
  if (isDisplay(m)) {
    let body
    switch (m) {
      case 'DISPLAY_HEADING': body = html`<${D.Heading} comp=${comp} p=${p} />`; break
      case 'DISPLAY_MARKDOWN': body = html`<${D.Markdown} source=${comp.label} p=${p} />`; break
      case 'DISPLAY_LINK': body = html`<${D.Link} comp=${comp} p=${p} />`; break
      case 'DISPLAY_HTML': body = html`<${D.HTMLDisplay} p=${p} />`; break
      case 'DISPLAY_CODE': body = html`<${D.Code} comp=${comp} p=${p} />`; break
      case 'DISPLAY_IMAGE': body = html`<${D.Image} p=${p} />`; break
      case 'DISPLAY_VIDEO': body = html`<${D.Video} p=${p} />`; break
      case 'DISPLAY_METADATA': body = html`<${D.Metadata} comp=${comp} p=${p} />`; break
      case 'DISPLAY_OBJECT': body = html`<${D.ObjectView} data=${p.data} label=${comp.label} />`; break
      case 'DISPLAY_TABLE': body = html`<${Table} comp=${comp} props=${p} onState=${st} />`; break
      case 'DISPLAY_GRID': body = html`<${Grid} comp=${comp} props=${p} onState=${st} />`; break
      case 'DISPLAY_PROGRESS_STEPS': body = html`<${D.ProgressSteps} comp=${comp} p=${p} />`; break
      // Frozen: the host has moved on (or the run ended), so nothing spins.
      case 'DISPLAY_PROGRESS_INDETERMINATE': body = html`<${D.ProgressIndeterminate} stopped=${frozen} />`; break
      case 'DISPLAY_PROGRESS_THROUGH_LIST': body = html`<${D.ProgressList} p=${p} stopped=${frozen} />`; break
      default: body = html`<${ErrorBox} title="Unsupported component" message=${`This console cannot show ${m}.`} />`
    }
    return html`<section class="display" data-method=${m} data-label=${m === 'DISPLAY_MARKDOWN' ? undefined : comp.label} aria-label=${!DISPLAY_LABEL_IS_CONTENT.has(m) && comp.label || undefined}>
      ${comp.label && !DISPLAY_LABEL_IS_CONTENT.has(m) && html`<div class="display-label">${comp.label}</div>`}
      ${p.helpText && (m === 'DISPLAY_TABLE' || m === 'DISPLAY_GRID') && html`<div class="help help-top">${p.helpText}</div>`}
      ${body}
    </section>`
  }
  if (m === 'INPUT_BOOLEAN') {
    return html`<div class=${classes('field', error && 'has-error')} data-method=${m} data-label=${comp.label}>
      <${I.BooleanInput} ...${common} />
      ${p.helpText && html`<div class="help help-check" id=${`${id}-help`}>${p.helpText}</div>`}
      <div class="field-error" id=${`${id}-err`}>${error || ''}</div></div>`
  }
  if (m === 'SELECT_TABLE') {
    return html`<${Field} id=${id} comp=${comp} error=${error} labelFor=${false}>
      <${Table} comp=${comp} props=${p} onState=${st} selectable value=${value} setValue=${setValue} disabled=${disabled || frozen} /></${Field}>`
  }
  if (m === 'UPLOAD_FILE') return html`<${Field} id=${id} comp=${comp} error=${error}><${I.FileInput} ...${common} /></${Field}>`
  if (m === 'SEARCH') return html`<${Field} id=${id} comp=${comp} error=${error}><${I.SearchInput} ...${common} /></${Field}>`
  if (m === 'CREDENTIALS') return html`<${ErrorBox} title="Not supported" message="io.experimental.credentials is not supported by this server." />`
  const C = INPUTS[m]
  if (!C) return html`<${ErrorBox} title="Unsupported component" message=${`This console cannot show ${m}.`} />`
  const labelFor = !['SELECT_MULTIPLE', 'INPUT_SPREADSHEET', 'INPUT_RICH_TEXT'].includes(m)
  return html`<${Field} id=${id} comp=${comp} error=${error} labelFor=${labelFor}>
    ${comp.isMultiple ? html`<${MultipleInput} C=${C} ...${common} />` : html`<${C} ...${common} optional=${comp.isOptional} />`}
  </${Field}>`
}

function ConfirmCard({ comp, onAnswer, disabled }) {
  return html`<div class="confirm" role="group" aria-labelledby="confirm-q">
    <div class="confirm-icon"><${Icon} name="info" size=${20} /></div>
    <div class="confirm-body">
      <div class="confirm-q" id="confirm-q">${comp.label}</div>
      ${comp.p.helpText && html`<div class="help">${comp.p.helpText}</div>`}
      <div class="btn-row">
        <button type="button" class="btn btn-primary" autoFocus disabled=${disabled} onClick=${() => onAnswer(true)}>Confirm</button>
        <button type="button" class="btn btn-secondary" disabled=${disabled} onClick=${() => onAnswer(false)}>Cancel</button>
      </div>
    </div>
  </div>`
}

function ConfirmIdentity({ comp, onAnswer, disabled }) {
  const me = store.state.me && store.state.me.user
  const [pw, setPw] = useState('')
  const [err, setErr] = useState(null)
  const [busy, setBusy] = useState(false)
  const verify = async e => {
    e.preventDefault()
    setBusy(true)
    setErr(null)
    try {
      await api('POST', '/api/auth/login', { email: me.email, password: pw })
      onAnswer(true)
    } catch (x) {
      setErr(x.status === 401 ? 'That password is not correct.' : x.status === 429 ? throttled(x) : x.message)
    } finally {
      setBusy(false)
    }
  }
  return html`<${Modal} title="Please confirm your identity to continue" onClose=${() => onAnswer(false)} labelledBy="ci-title">
    <form onSubmit=${verify} class="stack">
      <p>${comp.label}</p>
      ${me && me.hasPassword === false
        ? html`<p class="alert alert-info ci-no-password" role="note"><${Icon} name="info" /><span>You have not set a password yet: you logged in with a one-time link.
            Set one in your <a class="link" href="/settings/account" target="_blank" rel="noopener">account settings</a> (a new tab), then enter it here.</span></p>`
        : html`<p class="muted">Enter your password to continue.</p>`}
      <label class="field-label" for="ci-email">Email</label>
      <input id="ci-email" class="input" type="email" value=${me ? me.email : ''} disabled />
      <label class="field-label" for="ci-pw">Password</label>
      <input id="ci-pw" class="input" type="password" autocomplete="current-password" autoFocus value=${pw} onInput=${e => setPw(e.currentTarget.value)} />
      ${err && html`<div class="field-error" role="alert">${err}</div>`}
      <div class="btn-row">
        <button type="submit" class="btn btn-primary" disabled=${busy || disabled || !pw}>${busy ? html`<${Spinner} size="sm" />` : 'Verify'}</button>
        <button type="button" class="btn btn-secondary" onClick=${() => onAnswer(false)}>Cancel</button>
      </div>
    </form>
  </${Modal}>`
}

/**
 * IOForm shows one render. mode: 'transaction' (inputs and buttons),
 * 'page' (page children: no buttons) or 'frozen' (an earlier call kept on
 * screen by the append UI). onRespond(kind, values, choice) sends the answer.
 */
export function IOForm({ render, onRespond, mode = 'transaction', disabled, submitting }) {
  const comps = render.toRender
  const gid = (render.inputGroupKey || 'g').slice(0, 8)
  const [values, setValues] = useState(() => comps.map(c => (isDisplay(c.methodName) ? null : I.initialValue(c, c.p))))
  const [errors, setErrors] = useState({})
  const [showContinue, setShowContinue] = useState(false)
  const [pressed, setPressed] = useState(null)
  const formRef = useRef()
  const frozen = mode === 'frozen'
  const onlyDisplays = comps.every(c => isDisplay(c.methodName))
  const exclusive = comps.length === 1 && ['CONFIRM', 'CONFIRM_IDENTITY'].includes(comps[0].methodName) ? comps[0] : null

  // Components added by a re-render (rare) get their initial values.
  useEffect(() => {
    if (values.length !== comps.length) {
      setValues(comps.map((c, i) => (i < values.length ? values[i] : isDisplay(c.methodName) ? null : I.initialValue(c, c.p))))
    }
  }, [render])

  // Display-only calls: with displayResolvesImmediately the host moves on at
  // once; show Continue only if it does not (older hosts wait for it).
  useEffect(() => {
    if (!onlyDisplays || mode !== 'transaction' || render.choiceButtons) return
    const t = setTimeout(() => setShowContinue(true), 600)
    return () => clearTimeout(t)
  }, [render.inputGroupKey])

  useEffect(() => { if (!submitting) setPressed(null) }, [submitting])

  const buttons = render.choiceButtons && render.choiceButtons.length
    ? render.choiceButtons.map(b => (typeof b === 'string' ? { label: b, value: b } : b))
    : [{ label: 'Continue', value: 'Continue', theme: 'primary' }]
  const primary = buttons.find(b => !b.theme || b.theme === 'primary') || buttons[0]
  const showButtons = mode === 'transaction' && !exclusive && (!onlyDisplays || render.choiceButtons || showContinue)

  const setValue = i => v => {
    setValues(vs => { const n = [...vs]; n[i] = v; return n })
    if (errors[i]) setErrors(e => { const n = { ...e }; delete n[i]; return n })
  }
  const onState = (i, s) => {
    const vs = comps.map(() => null)
    vs[i] = s
    onRespond('SET_STATE', vs)
  }
  const submit = (choice) => {
    if (disabled || submitting || frozen) return
    const errs = {}
    comps.forEach((c, i) => {
      if (isDisplay(c.methodName) || c.methodName === 'INPUT_BOOLEAN') return
      const v = values[i]
      if (I.isEmpty(c, v)) {
        if (!c.isOptional) errs[i] = I.requiredText(c, c.p)
        return
      }
      const e = I.clientError(c, c.p, v)
      if (e) errs[i] = e
    })
    setErrors(errs)
    if (Object.keys(errs).length) {
      const first = Math.min(...Object.keys(errs).map(Number))
      const el = formRef.current && formRef.current.querySelector(`#f-${gid}-${first}, [id^="f-${gid}-${first}"] input, #f-${gid}-${first}-label`)
      if (el) { el.focus && el.focus(); el.scrollIntoView && el.scrollIntoView({ block: 'center', behavior: 'smooth' }) }
      return
    }
    setPressed(choice.value)
    onRespond('RETURN', values.map((v, i) => (isDisplay(comps[i].methodName) || v === undefined ? null : v)), choice.value)
  }

  // Ctrl/⌘+Enter submits with the primary choice from anywhere on the page.
  // The listener reads the latest render through a ref: effects run after
  // paint, so a listener from an older render would submit stale values.
  const latest = useRef()
  latest.current = { submit, primary, showButtons }
  useEffect(() => {
    const onKey = e => {
      const l = latest.current
      if (l.showButtons && e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !document.querySelector('.modal')) {
        e.preventDefault()
        l.submit(l.primary)
      }
    }
    document.addEventListener('keydown', onKey)
    return () => document.removeEventListener('keydown', onKey)
  }, [])

  // Focus follows the run, for operators on the keyboard: the first input
  // of every new step (its primary button when it has none, the Confirm
  // button of a confirmation), and the first invalid field after a
  // validation error from the host. The HTML autofocus attribute works only
  // on a page's first load, not on the steps that follow.
  const firstInput = comps.findIndex(c => !isDisplay(c.methodName))
  const firstInvalid = comps.findIndex(c => c.validationErrorMessage)
  // A step is an input group: a host's re-render of the same group (a
  // state update: a table's page, a search's results) keeps the focus where
  // the operator has it, unless it brings validation errors.
  const invalidKey = `${render.validationErrorMessage || ''}|${comps.map(c => c.validationErrorMessage || '').join('|')}`
  const focusKey = `${render.inputGroupKey}|${invalidKey}`
  useEffect(() => {
    const root = formRef.current
    if (mode !== 'transaction' || !root || busyElsewhere(root)) return
    const errors = invalidKey.replace(/\|/g, '') !== ''
    if (!errors && root.contains(document.activeElement) && document.activeElement !== root) return
    let el = null
    if (exclusive) {
      el = root.querySelector('#ci-pw, .confirm .btn-primary') || document.querySelector('.modal #ci-pw')
    } else {
      const i = firstInvalid >= 0 ? firstInvalid : firstInput
      if (i >= 0) {
        const ctl = root.querySelector(`#f-${gid}-${i}`)
        el = focusable(ctl) || focusable(ctl && ctl.closest('[data-method]'))
      }
      if (!el && firstInvalid < 0) el = root.querySelector('.form-buttons button[type=submit]:not([disabled])')
    }
    if (el && document.activeElement !== el) {
      el.focus()
      if (firstInvalid >= 0 && el.scrollIntoView) el.scrollIntoView({ block: 'center' })
    }
  }, [focusKey, showButtons])

  if (exclusive) {
    const answer = ok => onRespond('RETURN', [ok])
    if (exclusive.methodName === 'CONFIRM_IDENTITY') {
      return html`<div class="io-form" ref=${formRef}><div class="muted">Waiting for you to confirm your identity…</div>${!frozen && html`<${ConfirmIdentity} comp=${exclusive} onAnswer=${answer} disabled=${disabled || submitting} />`}</div>`
    }
    return html`<div class="io-form" ref=${formRef}><${ConfirmCard} comp=${exclusive} onAnswer=${answer} disabled=${disabled || submitting || frozen} /></div>`
  }

  return html`<form class=${classes('io-form', frozen && 'is-frozen', mode === 'page' && 'is-page')} ref=${formRef} novalidate
      onSubmit=${e => { e.preventDefault(); submit(primary) }} aria-busy=${submitting ? 'true' : undefined}>
    ${comps.map((c, i) => html`<${Component} key=${`${i}-${c.methodName}`} comp=${c} i=${i} gid=${gid} value=${values[i]} setValue=${setValue(i)}
      error=${errors[i] || c.validationErrorMessage} disabled=${disabled || submitting} autoFocus=${mode === 'transaction' && i === firstInput}
      onState=${onState} frozen=${frozen} />`)}
    ${render.validationErrorMessage && !frozen && html`<div class="alert alert-warning form-error" role="alert"><${Icon} name="alert" /><div>${render.validationErrorMessage}</div></div>`}
    ${showButtons && html`<div class="btn-row form-buttons">
      ${buttons.map(b => html`<button type=${b === primary ? 'submit' : 'button'} class=${classes('btn', themeClass(b.theme))} disabled=${disabled || submitting}
        onClick=${b === primary ? undefined : () => submit(b)}>
        ${submitting && pressed === b.value ? html`<${Spinner} size="sm" />` : null}${b.label}${b === primary && html`<${Kbd} />`}</button>`)}
    </div>`}
  </form>`
}
