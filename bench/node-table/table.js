// Times the official @interval/sdk 2.0.0 display.table on 1,000,000 in-memory
// rows with the requests of interval/table_bench_test.go: each request is the
// SDK's own onStateChange (filter, sort, slice) plus the superjson + JSON
// encoding of the re-render's props, as the SDK does before sending.
//   node --max-old-space-size=8192 table.js
'use strict'
const displayTable = require('@interval/sdk/dist/components/displayTable').default
const superjson = require('superjson')

const N = 1_000_000
let seed = 1
const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
const base = Date.UTC(2020, 0, 1)
const t0 = Date.now()
const data = Array.from({ length: N }, (_, i) => ({
  id: i, name: 'user ' + rand(N), email: 'u' + i + '@example.com',
  score: rand(100000) / 100, createdAt: new Date(base + rand(1e6) * 60000),
}))
const logger = { warn() {}, error() {}, debug() {}, log() {} }
const comp = displayTable(logger)({ data, defaultPageSize: 20 })
console.log(`setup (serialize 1M rows as the SDK does on render): ${Date.now() - t0} ms`)

async function time(name, states) {
  const ms = []
  for (const st of states) {
    const s = process.hrtime.bigint()
    const props = await comp.onStateChange(st)
    const { json, meta } = superjson.serialize(props)
    JSON.stringify({ props: json, propsMeta: meta })
    ms.push(Number(process.hrtime.bigint() - s) / 1e6)
  }
  ms.sort((a, b) => a - b)
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length
  console.log(`${name.padEnd(12)} mean ${mean.toFixed(1)} ms  median ${ms[ms.length >> 1].toFixed(1)} ms  max ${ms[ms.length - 1].toFixed(1)} ms  (${ms.length} requests)`)
}

;(async () => {
  await time('page', Array.from({ length: 10 }, () => ({ offset: rand(N - 60), pageSize: 20 })))
  await time('sort', [
    { offset: 0, pageSize: 20, sortColumn: 'score', sortDirection: 'desc' },
    { offset: 40, pageSize: 20, sortColumn: 'name', sortDirection: 'asc' },
    { offset: 0, pageSize: 20, sortColumn: 'createdAt', sortDirection: 'asc' },
    { offset: 20, pageSize: 20, sortColumn: 'name', sortDirection: 'desc' },
  ])
  await time('search', Array.from({ length: 10 }, () => ({ offset: 0, pageSize: 20, queryTerm: 'user ' + rand(1000) })))
  await time('search+sort', Array.from({ length: 5 }, () => ({ offset: 0, pageSize: 20, queryTerm: 'user ' + rand(100), sortColumn: 'score', sortDirection: 'desc' })))
})()
