// The official @interval/sdk 2.0.0 as a serverless (HTTP) host of the
// interval-go server: ExperimentalInterval's httpRequestHandler on a local
// HTTP server. ENDPOINT and API_KEY come from the environment; it prints
// "LISTENING <url>" once the HTTP server listens and exits on SIGINT.
'use strict'
const http = require('http')
const { Interval, Page, Layout, io } = require('@interval/sdk/dist/experimental')

const interval = new Interval({
  apiKey: process.env.API_KEY,
  endpoint: process.env.ENDPOINT,
  logLevel: 'quiet',
  // The SDK waits this long after a transaction completes before it closes
  // its connection and answers (3 s by default); short for a quick test.
  completeHttpRequestDelayMs: 100,
  routes: {
    node_fn_greet: {
      name: 'Node function greet',
      handler: async (io, ctx) => {
        const name = await io.input.text('Your name')
        return { name, user: ctx.user.email, org: ctx.organization.name, env: ctx.environment }
      },
    },
    node_fn_dashboard: new Page({
      name: 'Node function dashboard',
      handler: async () => new Layout({ title: 'Node function dashboard', children: [io.display.markdown('Hello from a **Node function**')] }),
    }),
  },
})

const server = http.createServer(interval.httpRequestHandler)
server.listen(0, '127.0.0.1', () => console.log('LISTENING http://127.0.0.1:' + server.address().port))
process.on('SIGINT', () => process.exit(0))
