// Data stored by release 0.1 on PGlite opens with today's code (migrated in place): see
// test/fixtures/stored/README.md for what the fixture holds.
import { MIGRATIONS } from '../src/sql/migrations.js'
import { readFileSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import { describe, expect, it } from 'vitest'
import { PGliteMailboxStore, PGliteQueue } from '../src/pglite/index.js'
import { checkFields, checkRecovered, type FixtureTasks } from './stored-fixtures.js'

interface Fixture {
  readonly clock_ms: number
  readonly tasks: FixtureTasks
  readonly schema: readonly string[]
  readonly tables: Record<string, Record<string, unknown>[]>
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/stored/pglite-v0.1.json', import.meta.url), 'utf8')) as Fixture

/** A database as release 0.1 left it: its schema, then every row as it was read back. */
async function restore(): Promise<PGlite> {
  const db = await PGlite.create()
  await db.exec('create table pl_schema_version (version integer primary key)')
  for (const script of fixture.schema) await db.exec(script)
  for (const [table, rows] of Object.entries(fixture.tables)) {
    for (const row of rows) {
      const columns = Object.keys(row)
      await db.query(
        `insert into ${table} (${columns.join(', ')}) values (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
        Object.values(row),
      )
    }
  }
  await db.exec("select setval(pg_get_serial_sequence('pl_mailbox_messages', 'seq'), (select max(seq) from pl_mailbox_messages))")
  return db
}

describe('stored data of release 0.1 (PGlite)', () => {
  it('is migrated and every task comes back with its fields', async () => {
    const db = await restore()
    await checkFields(new PGliteQueue(db, { name: 'jobs' }), fixture.tasks)
    const { rows } = await db.query<{ version: number }>('select max(version) as version from pl_schema_version')
    expect(rows[0]!.version).toBe(MIGRATIONS.length) // migrated to the latest
    await db.close()
  }, 60_000)

  it('recovers every task and message, knows the ended key, and runs what was left', async () => {
    const db = await restore()
    await checkRecovered(
      new PGliteQueue(db, { name: 'jobs' }),
      new PGliteMailboxStore(db, { name: 'jobs' }),
      fixture.tasks,
      fixture.clock_ms,
    )
    await db.close()
  }, 60_000)
})
