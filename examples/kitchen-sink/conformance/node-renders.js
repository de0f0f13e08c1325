// Prints the render instructions the official @interval/sdk 2.0.0 builds for
// one call of each IO method (and, for stateful ones, the re-render after a
// state update), as JSON keyed by case name. The golden tests of package
// interval (io_golden_node_test.go) compare our renders of the equivalent Go
// calls with these. Usage (after `npm ci`):
//
//	node node-renders.js > /tmp/node-renders.json
//
// It runs the SDK's own IOClient with a send function that records each
// render; nothing is sent anywhere.
'use strict'
const { IOClient } = require('@interval/sdk/dist/classes/IOClient')

const logger = { debug() {}, info() {}, warn() {}, error(...a) { console.error(...a) }, prod() {} }

async function capture(build, { states = [] } = {}) {
  const renders = []
  let notify
  const client = new IOClient({
    logger,
    displayResolvesImmediately: true,
    send: async (packed) => { renders.push(JSON.parse(JSON.stringify(packed))); if (notify) notify() },
  })
  const waitRender = (n) => new Promise((resolve) => {
    const check = () => { if (renders.length >= n) { notify = null; resolve() } }
    notify = check
    check()
  })
  const p = build(client.io, client)
  p.then(() => {}, () => {})
  await waitRender(1)
  for (const state of states) {
    const last = renders[renders.length - 1]
    const n = renders.length
    client.onResponse({ id: last.id, transactionId: 't', inputGroupKey: last.inputGroupKey, kind: 'SET_STATE', values: [state] })
    await waitRender(n + 1)
  }
  return renders.map(({ id, inputGroupKey, ...rest }) => rest)
}

const rows = [
  { id: 1, name: 'Ada Lovelace', email: 'ada@example.com', active: true },
  { id: 2, name: 'Alan Turing', email: 'alan@example.com', active: false },
  { id: 3, name: 'Grace Hopper', email: 'grace@example.com', active: true },
]

const cases = {
  input_text_multiline: (io) => io.input.text('Notes', { multiline: true, lines: 4, defaultValue: 'Dear customer,', disabled: true }),
  input_email: (io) => io.input.email('Email', { placeholder: 'name@example.com', defaultValue: 'ops@example.com', helpText: 'Work address' }),
  input_number_prepend: (io) => io.input.number('Weight', { prepend: 'kg', placeholder: 'Weight', defaultValue: 70, decimals: 1 }),
  input_slider: (io) => io.input.slider('Level', { min: 0, max: 10, step: 0.5, defaultValue: 5, helpText: 'How loud', disabled: true }),
  input_url: (io) => io.input.url('Site', { placeholder: 'https://…', helpText: 'Your site', defaultValue: 'https://example.com' }),
  input_url_protocols: (io) => io.input.url('Hook', { allowedProtocols: ['https'] }),
  input_boolean_disabled: (io) => io.input.boolean('Agree', { defaultValue: true, disabled: true }),
  input_rich_text: (io) => io.input.richText('Body', { defaultValue: '<p>hi</p>', placeholder: 'Write', helpText: 'HTML' }),
  input_date_max: (io) => io.input.date('Day', { defaultValue: { year: 2024, month: 3, day: 9 }, max: { year: 2024, month: 12, day: 31 } }),
  input_time: (io) => io.input.time('At', { min: { hour: 9, minute: 0 }, max: { hour: 17, minute: 30 }, defaultValue: { hour: 10, minute: 15 }, helpText: 'Local' }),
  input_datetime_bounds: (io) => io.input.datetime('When', { min: { year: 2024, month: 1, day: 1, hour: 0, minute: 0 }, max: { year: 2024, month: 12, day: 31, hour: 23, minute: 59 } }).optional(),
  upload_file: (io) => io.input.file('Data', { allowedExtensions: ['.csv'], helpText: 'A CSV export' }),
  upload_file_multiple: (io) => io.input.file('Docs').multiple(),
  input_spreadsheet: (io) => io.experimental.spreadsheet('Items', {
    columns: { name: 'string', qty: 'number?', price: 'number', gift: 'boolean' },
    defaultValue: [{ name: 'pen', qty: null, price: 1.5, gift: false }],
    helpText: 'One line per item',
  }),
  search: (io) => io.search('User', {
    initialResults: [{ id: 3, name: 'Grace' }],
    placeholder: 'Name',
    helpText: 'Type a name',
    onSearch: async (q) => rows.filter((r) => r.name.startsWith(q)).map((r) => ({ id: r.id, name: r.name.split(' ')[0] })),
    renderResult: (u) => ({ label: u.name, description: '#' + u.id }),
  }),
  search_multiple_default: (io) => io.search('Tags', {
    onSearch: async (q) => [q + '1', q + '2'],
    renderResult: (s) => s,
  }).multiple({ defaultValue: ['go'] }),
  select_single_rich: (io) => io.select.single('Plan', {
    options: [
      { label: 'Free', value: 'free', description: 'Up to 3 seats', image: { url: 'https://x/free.png', alt: 'Free', size: 'thumbnail' } },
      { label: 'Pro', value: 'pro' },
    ],
    searchable: true,
    disabled: true,
    helpText: 'Billing plan',
  }),
  select_table: (io) => io.select.table('Accounts', {
    data: rows,
    columns: ['id', 'name', { label: 'Mail', accessorKey: 'email' }],
    minSelections: 1,
    maxSelections: 2,
    defaultPageSize: 10,
    helpText: 'Pick accounts',
    initiallySelected: (r) => r.active,
    rowMenuItems: (r) => [{ label: 'Open', route: 'accounts/open', params: { id: r.id } }],
  }),
  confirm_identity: (io) => io.confirmIdentity("Confirm it's you", { gracePeriodMs: 60000 }),
  display_code: (io) => io.display.code('Query', { code: 'SELECT 1', language: 'sql' }),
  display_heading: (io) => io.display.heading('Title', {
    level: 3,
    description: 'Sub',
    menuItems: [
      { label: 'Go', route: 'a', params: { id: 1 } },
      { label: 'Docs', url: 'https://x/docs', theme: 'primary' },
      { label: 'Soon', disabled: true },
    ],
  }),
  display_html: (io) => io.display.html('Note', { html: '<b>bold</b>' }),
  display_image: (io) => io.display.image('Logo', { url: 'https://x/logo.png', alt: 'Logo', size: 'small' }),
  display_link_url: (io) => io.display.link('Docs', { url: 'https://x/docs', theme: 'secondary' }),
  display_link_route: (io) => io.display.link('Refund', { route: 'billing/refund', params: { id: 7 } }),
  display_link_href: (io) => io.display.link('Old', { href: 'https://x/old', theme: 'danger' }),
  display_object: (io) => io.display.object('Order', { data: { id: 1, at: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), big: 12345678901234567n, lines: [{ sku: 'A', qty: 2 }] } }),
  display_video: (io) => io.display.video('Demo', { url: 'https://x/v.mp4', size: 'large', loop: true, muted: true }),
  display_video_width_height: (io) => io.display.video('Clip', { url: 'https://x/c.mp4', width: 'small', height: 'medium' }),
  display_image_width_height: (io) => io.display.image('Banner', { url: 'https://x/b.png', width: 'large', height: 'thumbnail' }),
  display_grid: (io) => io.display.grid('People', {
    data: rows,
    renderItem: (r) => ({
      label: r.name,
      description: r.email,
      image: { url: 'https://x/' + r.id + '.png', alt: r.name, fit: 'cover', aspectRatio: 1.5 },
      menu: [{ label: 'Open', route: 'people/open', params: { id: r.id } }],
      route: 'people/view',
      params: { id: r.id },
    }),
    idealColumnWidth: 240,
    defaultPageSize: 12,
    helpText: 'Everyone',
  }),
  display_table_cells: (io) => io.display.table('Cells', {
    data: rows,
    columns: [
      { label: 'Name', accessorKey: 'name', renderCell: (r) => ({ label: r.name, value: r.id, href: 'https://x/p/' + r.id }) },
      { label: 'Open', renderCell: (r) => ({ label: 'Open', route: 'people/open', params: { id: r.id } }) },
      { label: 'Avatar', renderCell: (r) => ({ label: r.name, image: { url: 'https://x/' + r.id + '.png', alt: 'avatar', size: 'thumbnail' } }) },
      { label: 'Active', accessorKey: 'active', renderCell: (r) => ({ label: r.active ? 'yes' : 'no', value: r.active, highlightColor: r.active ? 'green' : 'red' }) },
      { label: 'Mail', renderCell: (r) => ({ label: r.email, url: 'mailto:' + r.email }) },
    ],
    orientation: 'vertical',
    isSortable: false,
    isFilterable: false,
    defaultPageSize: 2,
    helpText: 'Rich cells',
  }),
  display_grid_async: (io) => io.display.grid('Remote cards', {
    getData: async ({ offset, pageSize }) => ({ data: rows.slice(offset, offset + pageSize), totalRecords: 3 }),
    renderItem: (r) => ({ label: r.name, url: 'https://x/' + r.id }),
  }),
  display_metadata_images: (io) => io.display.metadata('Profile', {
    layout: 'list',
    data: [
      { label: 'Photo', value: 'Ada', image: { url: 'https://x/ada.png', alt: 'Ada', size: 'small' } },
      { label: 'Big', value: 12345678901234567n },
    ],
  }),
  display_metadata_lazy: (io) => io.display.metadata('Account', {
    data: [
      { label: 'Plan', value: 'pro' },
      { label: 'Balance', value: new Promise(() => {}), url: 'https://x/b' },
    ],
  }),
  with_choices_single: (io) => io.input.text('Reason').withChoices([{ label: 'Approve', value: 'approve', theme: 'primary' }, 'Reject']),
  with_choices_display: (io) => io.display.markdown('Ship it?').withChoices([{ label: 'Ship', value: 'ship', theme: 'danger' }, { label: 'Wait', value: 'wait', theme: 'secondary' }]),
  search_images: (io) => io.search('Person', {
    initialResults: rows,
    onSearch: async () => rows,
    renderResult: (r) => ({ label: r.name, description: r.email, image: { url: 'https://x/' + r.id + '.png', alt: r.name, size: 'thumbnail' } }),
  }),
  display_table_async: (io) => io.display.table('Remote', {
    getData: async ({ offset, pageSize }) => ({ data: rows.slice(offset, offset + pageSize), totalRecords: 3 }),
    columns: ['id', 'name'],
  }),
  display_progress_steps: (io, client) => client.createIOMethod('DISPLAY_PROGRESS_STEPS')('Import', { steps: { completed: 2, total: 5 }, currentStep: 'Rows', subTitle: 'a.csv' }),
  display_progress_indeterminate: (io, client) => client.createIOMethod('DISPLAY_PROGRESS_INDETERMINATE')('Waiting'),
  display_progress_through_list: (io, client) => client.createIOMethod('DISPLAY_PROGRESS_THROUGH_LIST')('Steps', {
    items: [{ label: 'Fetch', isComplete: true, resultDescription: 'ok' }, { label: 'Send', isComplete: false, resultDescription: null }],
  }),
}

const stateCases = {
  search: [{ queryTerm: 'A' }],
  select_table: [{ queryTerm: 'a', sortColumn: 'name', sortDirection: 'desc', offset: 0, pageSize: 10, isSelectAll: true }],
  display_grid: [{ queryTerm: 'gr', offset: 0, pageSize: 12 }],
  display_table_async: [{ offset: 1, pageSize: 2 }],
  display_grid_async: [{ queryTerm: 'x', offset: 1, pageSize: 2 }],
  display_table_cells: [{ offset: 0, pageSize: 2, sortColumn: 'active', sortDirection: 'asc' }],
}

;(async () => {
  const out = {}
  for (const [name, build] of Object.entries(cases)) {
    out[name] = await capture(build, { states: stateCases[name] || [] })
  }
  process.stdout.write(JSON.stringify(out, null, 1) + '\n')
  process.exit(0)
})().catch((e) => { console.error(e); process.exit(1) })
