// @ts-check
// Saving what the console made (code, a table's CSV, the history export)
// as a file.

/**
 * downloadBlob saves blob under name through a temporary link.
 * @param {string} name
 * @param {Blob} blob
 */
export function downloadBlob(name, blob) {
  const a = document.createElement('a')
  a.href = URL.createObjectURL(blob)
  a.download = name
  document.body.appendChild(a)
  a.click()
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove() }, 0)
}

/**
 * downloadText saves text under name.
 * @param {string} name
 * @param {string} text
 * @param {string} [type]
 */
export function downloadText(name, text, type = 'text/plain') {
  downloadBlob(name, new Blob([text], { type }))
}
