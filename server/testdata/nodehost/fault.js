// The official @interval/sdk 2.0.0 as a host of the fault-injection test
// (server/fault_test.go). ENDPOINT and API_KEY come from the environment;
// SIGINT → safelyClose(). Its action asks two answers and returns them with
// its param and how many times it started for that param (1 unless a run
// was executed twice).
'use strict'
const { Interval } = require('@interval/sdk')

const starts = new Map()

const interval = new Interval({
  apiKey: process.env.API_KEY,
  endpoint: process.env.ENDPOINT,
  logLevel: 'quiet',
  retryIntervalMs: 100,
  routes: {
    fault: async (io, ctx) => {
      const key = String(ctx.params.n)
      starts.set(key, (starts.get(key) || 0) + 1)
      const a = await io.input.text('A')
      const b = await io.input.text('B')
      return `${ctx.params.n}:${a}:${b}:${starts.get(key)}`
    },
  },
})

interval.listen().then(() => console.log('LISTENING'), (err) => { console.error('listen failed', err); process.exit(1) })
process.on('SIGINT', () => {
  interval.safelyClose().then(() => { console.log('CLOSED'); process.exit(0) }, (err) => { console.error(err); process.exit(1) })
})
