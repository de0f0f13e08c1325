// @ts-check
// Copying to the clipboard, with a toast.
import { toast } from './store.js'

export function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text).then(() => toast('Copied to clipboard', { timeout: 2000 }))
  }
  const ta = document.createElement('textarea')
  ta.value = text
  document.body.appendChild(ta)
  ta.select()
  document.execCommand('copy')
  ta.remove()
  toast('Copied to clipboard', { timeout: 2000 })
  return Promise.resolve()
}
