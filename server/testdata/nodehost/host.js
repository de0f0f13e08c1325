// The official @interval/sdk 2.0.0 as a host of the interval-go server.
// ENDPOINT and API_KEY come from the environment; SIGINT → safelyClose().
'use strict'
const { Interval, Page, Layout, io } = require('@interval/sdk')

const users = Array.from({ length: 30 }, (_, i) => ({
  id: i + 1,
  name: ['Ada', 'Grace', 'Linus', 'Margaret', 'Ken'][i % 5] + ' ' + (i + 1),
  email: `user${i + 1}@example.com`,
}))

// The orders of the console's operator flow (server/console/sdkflow_test.go
// builds the same rows for its Go host).
const orders = Array.from({ length: 50 }, (_, i) => ({
  id: 'ord-' + String(i + 1).padStart(3, '0'),
  customer: ['Ada', 'Grace', 'Linus', 'Margaret', 'Ken'][i % 5] + ' ' + (i + 1),
  amount: 100 + ((i * 37) % 900),
  status: ['Paid', 'Paid', 'Refunded', 'Failed', 'Paid'][i % 5],
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
    refund_orders: {
      name: 'Refund orders',
      description: 'Pick a failed order and refund it.',
      handler: async () => {
        const [customer, amount, plan, picked] = await io.group([
          io.input
            .text('Customer name')
            .validate((v) => (v.trim().length < 2 ? 'Please enter at least 2 characters.' : undefined)),
          io.input.number('Amount', { min: 1 }),
          io.select.single('Plan', {
            options: [
              { label: 'Basic', value: 'basic' },
              { label: 'Business', value: 'business' },
              { label: 'Enterprise', value: 'enterprise' },
            ],
          }),
          io.select.table('Orders', {
            data: orders,
            columns: [
              { label: 'ID', accessorKey: 'id' },
              { label: 'Customer', accessorKey: 'customer' },
              { label: 'Amount', accessorKey: 'amount' },
              { label: 'Status', accessorKey: 'status' },
            ],
            minSelections: 1,
            maxSelections: 1,
            defaultPageSize: 10,
          }),
        ])
        return { customer, amount, plan: plan.value, order: picked[0].id }
      },
    },
    orders_overview: new Page({
      name: 'Orders overview',
      handler: async () =>
        new Layout({
          title: 'Orders overview',
          description: 'All orders of the flow.',
          children: [io.display.markdown(`**${orders.length}** orders`)],
        }),
    }),
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
