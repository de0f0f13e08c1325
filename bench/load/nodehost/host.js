// The official @interval/sdk 2.0.0 as one host of bench/load (-sdk node):
// the same action as the program's Go hosts. ENDPOINT, API_KEY and SLUG
// come from the environment, LOGS (default 0) is how many log lines the
// action writes once answered. The Node SDK gives an action no
// transaction id, so the load program passes each run a "run" param and
// this host prints "START <run>" at each start: the program counts a run
// started twice as duplicated. It prints "LISTENING" once connected;
// SIGINT or SIGTERM → safelyClose(), then "CLOSED".
'use strict'
const { Interval } = require('@interval/sdk')

const logs = Number(process.env.LOGS || 0)

const interval = new Interval({
  apiKey: process.env.API_KEY,
  endpoint: process.env.ENDPOINT,
  logLevel: 'quiet',
  retryIntervalMs: 200,
  routes: {
    [process.env.SLUG]: async (io, ctx) => {
      process.stdout.write(`START ${ctx.params.run}\n`)
      const answer = await io.input.text('Answer')
      for (let i = 0; i < logs; i++) {
        await ctx.log('line', i)
      }
      return answer
    },
  },
})

interval.listen().then(
  () => console.log('LISTENING'),
  (err) => {
    console.error('listen failed:', err && err.message ? err.message : err)
    process.exit(1)
  },
)

let closing = false
const close = () => {
  if (closing) return
  closing = true
  interval.safelyClose().then(
    () => {
      console.log('CLOSED')
      process.exit(0)
    },
    (err) => {
      console.error('close failed:', err && err.message ? err.message : err)
      process.exit(1)
    },
  )
}
process.on('SIGINT', close)
process.on('SIGTERM', close)
