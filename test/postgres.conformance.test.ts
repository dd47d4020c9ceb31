// The MailboxStore contract on a real Postgres 15 (the run's throwaway cluster, test/postgres/).
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BackendError, type MailboxStore } from '../src/index.js'
import { PostgresMailboxStore } from '../src/postgres/index.js'
import { describeMailboxStoreConformance, message } from './conformance/mailbox-store.js'
import { freshDatabase } from './postgres/database.js'
import { MIGRATIONS } from '../src/sql/migrations.js'

let pool: pg.Pool
let n = 0
beforeAll(async () => {
  pool = new pg.Pool({ connectionString: await freshDatabase('conformance'), max: 8 })
})
afterAll(() => pool.end())

const count = async (sql: string, name: string): Promise<number> => Number((await pool.query<{ n: number }>(sql, [name])).rows[0]!.n)

describeMailboxStoreConformance('Postgres 15', () => new PostgresMailboxStore<string>(pool, { name: `m${++n}` }), {
  messagesKept: (store: MailboxStore<string>) =>
    count('select count(*)::int as n from pl_mailbox_messages where mailbox_name = $1', (store as PostgresMailboxStore<string>).name),
})

describe('Postgres mailbox store', () => {
  it('migrates once when many stores start together on one database', async () => {
    // A database no store has migrated yet, and one pool per store: six processes starting together.
    const url = await freshDatabase('together')
    const pools = Array.from({ length: 6 }, () => new pg.Pool({ connectionString: url, max: 2 }))
    const stores = pools.map((p, i) => new PostgresMailboxStore<string>(p, { name: `together${i}` }))
    await Promise.all(stores.map((store, i) => store.put(message({ tenant: 't' }, i + 1))))
    const { rows } = await pools[0]!.query<{ version: number }>('select version from pl_schema_version order by version')
    expect(rows.map((row) => row.version)).toEqual(MIGRATIONS.map((_, i) => i + 1))
    await Promise.all(pools.map((p) => p.end()))
  })

  it('a database it cannot reach is a BackendError saying what was being done', async () => {
    const unreachable = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 2000 })
    const error = await new PostgresMailboxStore<string>(unreachable).put(message({ tenant: 't' }, 1)).catch((e: unknown) => e)
    await unreachable.end()
    expect(error).toBeInstanceOf(BackendError)
    expect((error as Error).message).toMatch(/^Storage failed while preparing the schema: .*ECONNREFUSED/)
  })

  it('refuses a value that is not a pg pool, naming it', () => {
    expect(() => new PostgresMailboxStore<string>({} as pg.Pool)).toThrow(/`pool`.*pg\.Pool/)
  })
})
