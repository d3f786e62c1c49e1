// node `pg` 8 checks against a running ssidb (run by tools/client-smoke).
//
// Environment: SSIDB_HOST (default 127.0.0.1), SSIDB_PORT (required), SMOKE_ALLOW_MISSING_SQL=1 to
// report checks that need the SQL engine (SELECT; not landed yet) as warnings.
//
// Each check prints PASS, WARN or FAIL; the exit status is 1 when any check failed.
'use strict'

const net = require('net')
const { Client } = require('pg')

const host = process.env.SSIDB_HOST || '127.0.0.1'
const port = Number(process.env.SSIDB_PORT)
const allowMissingSql = process.env.SMOKE_ALLOW_MISSING_SQL === '1'
let failures = 0
let warnings = 0

function expect(cond, what) {
  if (!cond) throw new Error(what)
}

async function connect() {
  const client = new Client({ host, port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 10000 })
  // pg has no public transaction-status API; the status byte of each ReadyForQuery is recorded.
  client.lastStatus = null
  client.readyCount = 0
  client.connection.on('readyForQuery', (msg) => {
    client.lastStatus = msg.status
    client.readyCount++
  })
  client.on('error', () => {})
  await client.connect()
  return client
}

// pg rejects a query at its ErrorResponse, before the ReadyForQuery that follows: wait for it.
async function readyAfter(client, count) {
  for (let i = 0; i < 500 && client.readyCount <= count; i++) {
    await new Promise((r) => setTimeout(r, 10))
  }
  expect(client.readyCount > count, 'no ReadyForQuery after the error')
}

async function expectError(client, sql, code) {
  const before = client.readyCount
  try {
    await client.query(sql)
  } catch (e) {
    expect(e.code === code, `${sql}: SQLSTATE ${e.code}, expected ${code} (${e.message})`)
    await readyAfter(client, before)
    return e
  }
  throw new Error(`${sql} succeeded, expected ${code}`)
}

// Sends CancelRequest(pid, secret) on a new connection, as libpq does.
function cancelRequest(pid, secret) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host, () => {
      const b = Buffer.alloc(16)
      b.writeInt32BE(16, 0)
      b.writeInt32BE(80877102, 4)
      b.writeInt32BE(pid, 8)
      b.writeInt32BE(secret, 12)
      s.end(b)
    })
    s.on('close', resolve)
    s.on('error', reject)
    s.resume()
  })
}

async function check(name, fn, needsSql = false) {
  try {
    await fn()
    console.log(`PASS node pg: ${name}`)
  } catch (e) {
    const reason = `${e.code || e.name} ${e.message}`
    if (needsSql && allowMissingSql) {
      warnings++
      console.log(`WARN node pg: ${name}: needs the SQL engine: ${reason}`)
    } else {
      failures++
      const hint = needsSql ? ' (needs the SQL engine; --allow-missing-sql turns this into a warning)' : ''
      console.log(`FAIL node pg: ${name}: ${reason}${hint}`)
    }
  }
}

// A statement that blocks in another session: pg_sleep once the engine has it, else DDL waiting
// for the database lock that `holder` takes in an open block.
async function blockedStatement(holder) {
  try {
    await holder.query('SELECT pg_sleep(0)')
    return 'SELECT pg_sleep(30)'
  } catch (e) {
    if (holder.lastStatus !== 'I') await holder.query('ROLLBACK')
  }
  try {
    await holder.query('BEGIN; CREATE TABLE smoke_js_held (a int)')
  } catch (e) {}
  expect(holder.lastStatus !== 'I', "the holder's block should stay open")
  return 'CREATE TABLE smoke_js_wait (a int)'
}

async function main() {
  await check('connection', async () => {
    const c = await connect()
    expect(c.processID > 0, 'backend pid')
    const r = await c.query({ text: 'SHOW server_version', rowMode: 'array' })
    expect(/^15\./.test(r.rows[0][0]), `server_version ${r.rows[0][0]}`)
    await c.end()
  })

  await check('transaction status: BEGIN, error, ROLLBACK TO SAVEPOINT, COMMIT of a failed block', async () => {
    const c = await connect()
    expect(c.lastStatus === 'I', `start: ${c.lastStatus}`)
    await c.query('BEGIN')
    expect(c.lastStatus === 'T', `after BEGIN: ${c.lastStatus}`)
    await c.query('SAVEPOINT s1')
    await expectError(c, 'SHOW no_such_setting', '42704')
    expect(c.lastStatus === 'E', `after an error: ${c.lastStatus}`)
    await expectError(c, 'SHOW datestyle', '25P02')
    await c.query('ROLLBACK TO SAVEPOINT s1')
    expect(c.lastStatus === 'T', `after ROLLBACK TO SAVEPOINT: ${c.lastStatus}`)
    await expectError(c, 'SHOW no_such_setting', '42704')
    const r = await c.query('COMMIT')
    expect(r.command === 'ROLLBACK', `COMMIT of a failed block answered ${r.command}`)
    expect(c.lastStatus === 'I', `after COMMIT of a failed block: ${c.lastStatus}`)
    await c.end()
  })

  await check('SET / SHOW, simple and extended protocol (named statement)', async () => {
    const c = await connect()
    await c.query("SET application_name = 'smoke-js'")
    const r = await c.query({ text: 'SHOW application_name', rowMode: 'array' })
    expect(r.rows[0][0] === 'smoke-js', `SHOW application_name gave ${r.rows[0][0]}`)
    for (let i = 0; i < 3; i++) {
      const p = await c.query({ name: 'smoke_show', text: 'SHOW datestyle', rowMode: 'array' })
      expect(p.rows[0][0] === 'ISO, MDY', `prepared SHOW datestyle gave ${p.rows[0][0]}`)
    }
    await c.end()
  })

  await check('error SQLSTATEs', async () => {
    const c = await connect()
    await expectError(c, 'SHOW nope', '42704')
    await expectError(c, 'SET nope = 1', '42704')
    await expectError(c, 'RELEASE SAVEPOINT s', '25P01')
    await c.query('SHOW datestyle')
    await c.end()
  })

  await check('cancel a running statement (57014), session stays usable', async () => {
    const holder = await connect()
    const c = await connect()
    const sql = await blockedStatement(holder)
    const started = Date.now()
    const before = c.readyCount
    const pending = c.query(sql).then(
      () => null,
      (e) => e
    )
    await new Promise((r) => setTimeout(r, 500))
    await cancelRequest(c.processID, c.secretKey)
    const err = await pending
    expect(err !== null, `${sql} was not cancelled`)
    expect(err.code === '57014', `SQLSTATE ${err.code} (${err.message})`)
    expect(Date.now() - started < 10000, 'cancel took too long')
    await readyAfter(c, before)
    expect(c.lastStatus === 'I', `status after cancel: ${c.lastStatus}`)
    await c.query('SHOW datestyle')
    if (holder.lastStatus !== 'I') await holder.query('ROLLBACK')
    await holder.end()
    await c.end()
  })

  await check('statement_timeout cancels a waiting statement (57014)', async () => {
    const holder = await connect()
    const c = await connect()
    const sql = await blockedStatement(holder)
    await c.query("SET statement_timeout = '300ms'")
    await expectError(c, sql, '57014')
    await c.query('RESET statement_timeout')
    if (holder.lastStatus !== 'I') await holder.query('ROLLBACK')
    await holder.end()
    await c.end()
  })

  await check(
    'parameterized queries with typed values back',
    async () => {
      const c = await connect()
      let r = await c.query('SELECT $1::int + 1 AS n', [41])
      expect(r.rows[0].n === 42, `int: ${JSON.stringify(r.rows[0])}`)
      r = await c.query("SELECT $1::text || 'x' AS s", ['a'])
      expect(r.rows[0].s === 'ax', `text: ${JSON.stringify(r.rows[0])}`)
      r = await c.query('SELECT $1::int8 * 2 AS a, $2::float8 AS b, $3::bool AS c, $4::int IS NULL AS d', [21, 0.5, true, null])
      const row = r.rows[0]
      expect(row.a === '42' && row.b === 0.5 && row.c === true && row.d === true, `mixed: ${JSON.stringify(row)}`)
      expect(r.fields.map((f) => f.dataTypeID).join(',') === '20,701,16,16', `type OIDs ${r.fields.map((f) => f.dataTypeID)}`)
      // Untyped parameters: the server infers them (node pg sends no parameter types).
      r = await c.query('SELECT 1 + $1 AS n', ['2'])
      expect(r.rows[0].n === 3, `inferred: ${JSON.stringify(r.rows[0])}`)
      for (let i = 0; i < 3; i++) {
        r = await c.query({ name: 'smoke_add', text: 'SELECT $1::int + 1 AS n', values: [i] })
        expect(r.rows[0].n === i + 1, 'named statement')
      }
      await c.end()
    },
    true
  )

  console.log(`node pg ${require('pg/package.json').version}: ${failures} failed, ${warnings} warning(s)`)
  process.exit(failures ? 1 : 0)
}

if (!port) {
  console.error('smoke.js: set SSIDB_PORT')
  process.exit(2)
}
main().catch((e) => {
  console.log(`FAIL node pg: unexpected: ${e.stack || e}`)
  process.exit(1)
})
