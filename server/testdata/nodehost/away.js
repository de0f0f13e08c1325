// The official @interval/sdk 2.0.0 as a host whose run ends while it is
// away (server/hostended_test.go). ENDPOINT and API_KEY come from the
// environment; SIGINT → safelyClose(). Its action asks a name and prints
// how its wait for it ended: ANSWERED, or ENDED with the error.
'use strict'
const { Interval } = require('@interval/sdk')

const interval = new Interval({
  apiKey: process.env.API_KEY,
  endpoint: process.env.ENDPOINT,
  logLevel: 'quiet',
  retryIntervalMs: 100,
  routes: {
    wait: async (io) => {
      try {
        const name = await io.input.text('Name')
        console.log('ANSWERED', name)
        return name
      } catch (err) {
        console.log('ENDED', err && (err.kind || err.name), err && err.message)
        throw err
      }
    },
  },
})

interval.listen().then(() => console.log('LISTENING'), (err) => { console.error('listen failed', err); process.exit(1) })
process.on('SIGINT', () => {
  interval.safelyClose().then(() => { console.log('CLOSED'); process.exit(0) }, (err) => { console.error(err); process.exit(1) })
})
