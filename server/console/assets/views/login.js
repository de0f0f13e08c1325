// Login (POST /api/auth/login).
import { useEffect, useState } from 'preact/hooks'
import { html } from '../lib/html.js'
import { api, throttled } from '../lib/api.js'
import { navigate } from '../lib/router.js'
import { Spinner } from '../lib/ui.js'

export function LoginView({ onLogin }) {
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState(null)
  // The server sends a login link it refused here (/login?link=invalid).
  const badLink = new URLSearchParams(location.search).get('link') === 'invalid'
  const [busy, setBusy] = useState(false)
  // Whose console this is: the organization's name, as in the console.
  const [org, setOrg] = useState('')
  useEffect(() => {
    document.title = 'Log in · Interval'
    api('GET', '/api/auth/organization').then(r => {
      if (r && r.name) { setOrg(r.name); document.title = `Log in · ${r.name}` }
    }).catch(() => {})
  }, [])
  const submit = async e => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      await api('POST', '/api/auth/login', { email: email.trim(), password })
      const back = new URLSearchParams(location.search).get('next')
      if (location.pathname === '/login') navigate(back && back.startsWith('/') && !back.startsWith('//') ? back : '/', { replace: true, force: true })
      await onLogin()
    } catch (x) {
      setError(x.status === 401 ? 'That email and password do not match an account.' : x.status === 429 ? throttled(x) : x.message)
      setBusy(false)
    }
  }
  return html`<main class="login">
    <form class="login-box" onSubmit=${submit} aria-labelledby="login-title">
      <div class="brand brand-lg"><span class="brand-mark" aria-hidden="true"></span><span class="brand-name" data-testid="login-org">${org || 'Interval'}</span></div>
      <h1 id="login-title" class="login-title">Welcome back</h1>
      <p class="muted">Log in to run your team's tools.</p>
      <label class="field-label" for="login-email">Email</label>
      <input id="login-email" class="input" type="email" autocomplete="username" required autoFocus value=${email} onInput=${e => setEmail(e.currentTarget.value)} />
      <label class="field-label" for="login-password">Password</label>
      <input id="login-password" class="input" type="password" autocomplete="current-password" required value=${password} onInput=${e => setPassword(e.currentTarget.value)} />
      ${badLink && !error && html`<div class="alert alert-warning" role="alert" data-testid="bad-link"><div>This login link is invalid, expired or already used: a link works once, for a limited time.
        Log in with your password, or ask an admin for a new link.</div></div>`}
      ${error && html`<div class="alert alert-danger" role="alert">${error}</div>`}
      <button type="submit" class="btn btn-primary btn-block" disabled=${busy}>${busy && html`<${Spinner} size="sm" />`}Log in</button>
      <p class="muted small login-foot">No account or password yet? Ask an admin for a one-time login link. The server prints one for the first admin when it starts, and <code>interval-server user link</code> prints a new one.</p>
    </form>
  </main>`
}
