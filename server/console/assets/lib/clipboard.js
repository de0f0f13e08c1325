// @ts-check
// Copying to the clipboard, with a toast.
import { toast } from './store.js'

/** clipboardWait bounds the wait for the Clipboard API, in milliseconds. */
const clipboardWait = 1000

/**
 * copyText copies text and says so in a toast. The Clipboard API may refuse
 * (the page not focused, a permission denied) or leave its promise pending
 * (a permission nobody is asked for): the copy then goes through the
 * selection, while the click's user activation still holds; the operator
 * is told when neither worked.
 */
export function copyText(text) {
  const done = ok => {
    if (ok) toast('Copied to clipboard', { timeout: 2000 })
    else toast('Select the text and copy it with Ctrl+C.', { kind: 'error', title: 'Your browser did not allow copying' })
  }
  if (navigator.clipboard && window.isSecureContext) {
    let timer
    const late = new Promise(resolve => { timer = setTimeout(() => resolve(false), clipboardWait) })
    return Promise.race([navigator.clipboard.writeText(text).then(() => true, () => false), late])
      .then(ok => { clearTimeout(timer); done(ok || copyBySelection(text)) })
  }
  done(copyBySelection(text))
  return Promise.resolve()
}

/** copyBySelection copies text through a selected, hidden text area. */
function copyBySelection(text) {
  const was = document.activeElement
  const ta = document.createElement('textarea')
  ta.value = text
  ta.setAttribute('readonly', '')
  ta.style.position = 'fixed'
  ta.style.opacity = '0'
  document.body.appendChild(ta)
  ta.select()
  let ok = false
  try { ok = document.execCommand('copy') } catch { ok = false }
  ta.remove()
  // The keyboard stays where it was (the button that copied).
  if (was instanceof HTMLElement) was.focus()
  return ok
}
