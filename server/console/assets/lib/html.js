// @ts-check
// html is htm bound to Preact's h: the console's templates, no build step.
import { h } from 'preact'
import htm from 'htm'

/** html renders a tagged template as Preact elements. */
export const html = htm.bind(h)

/**
 * classes joins the truthy class names.
 * @param {...(string|false|null|undefined|0)} xs
 * @returns {string}
 */
export function classes(...xs) { return xs.filter(Boolean).join(' ') }
