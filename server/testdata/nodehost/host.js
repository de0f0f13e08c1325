// The official @interval/sdk 2.0.0 as a host of the interval-go server.
// ENDPOINT and API_KEY come from the environment; SIGINT → safelyClose().
'use strict'
const { Interval, Page, Layout, io } = require('@interval/sdk')

const users = Array.from({ length: 30 }, (_, i) => ({
  id: i + 1,
  name: ['Ada', 'Grace', 'Linus', 'Margaret', 'Ken'][i % 5] + ' ' + (i + 1),
  email: `user${i + 1}@example.com`,
}))

const interval = new Interval({
  apiKey: process.env.API_KEY,
  endpoint: process.env.ENDPOINT,
  logLevel: 'quiet',
  routes: {
    node_greet: {
      name: 'Node greet',
      description: 'Asks a name, shows a table',
      handler: async (io, ctx) => {
        const name = await io.input
          .text('Your name', { minLength: 2 })
          .validate((v) => (v.length < 2 ? 'Please enter at least 2 characters.' : undefined))
        await io.display.table('Users', { data: users, defaultPageSize: 10 })
        return { name, user: ctx.user.email, count: users.length }
      },
    },
    node_dashboard: new Page({
      name: 'Node dashboard',
      handler: async () => new Layout({ title: 'Node dashboard', children: [io.display.markdown('Hello from **Node**')] }),
    }),
  },
})

interval.listen().then(() => console.log('LISTENING'), (err) => { console.error('listen failed', err); process.exit(1) })
process.on('SIGINT', () => {
  interval.safelyClose().then(() => { console.log('CLOSED'); process.exit(0) }, (err) => { console.error(err); process.exit(1) })
})
