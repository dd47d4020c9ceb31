// Data stored by release 0.1 in IndexedDB opens with today's code (upgraded in place): see
// test/fixtures/stored/README.md for what the fixture holds.
import { openDB } from 'idb'
import { describe, expect, it } from 'vitest'
import { IndexedDBMailboxStore, IndexedDBQueue } from '../src/indexeddb/index.js'
import { checkFields, checkRecovered, type FixtureTasks } from './stored-fixtures.js'

interface StoreSchema {
  readonly keyPath: string | string[]
  readonly autoIncrement: boolean
  readonly indexes: readonly { name: string; keyPath: string | string[]; unique: boolean; multiEntry: boolean }[]
}

interface Fixture {
  readonly database_version: number
  readonly clock_ms: number
  readonly tasks: FixtureTasks
  readonly schema: Record<string, StoreSchema>
  readonly stores: Record<string, unknown[]>
}

/** The fixture's text form back into what IndexedDB held: `{ $bytes }` and `{ $date }` are binary and dates. */
function untag(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(untag)
  if (typeof value !== 'object' || value === null) return value
  const tagged = value as { $bytes?: number[]; $date?: number }
  if (tagged.$bytes !== undefined) return new Uint8Array(tagged.$bytes)
  if (tagged.$date !== undefined) return new Date(tagged.$date)
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, untag(v)]))
}

/** A database as release 0.1 left it: its stores and indexes, then every record. */
async function restore(): Promise<{ database: string; fixture: Fixture }> {
  const fixture = (await (await fetch('/test/fixtures/stored/indexeddb-v0.1.json')).json()) as Fixture
  const database = `fixture-${crypto.randomUUID()}`
  const db = await openDB(database, fixture.database_version, {
    upgrade(created) {
      for (const [name, store] of Object.entries(fixture.schema)) {
        const made = created.createObjectStore(name, { keyPath: store.keyPath, autoIncrement: store.autoIncrement })
        for (const index of store.indexes)
          made.createIndex(index.name, index.keyPath, { unique: index.unique, multiEntry: index.multiEntry })
      }
    },
  })
  for (const [name, records] of Object.entries(fixture.stores)) {
    const tx = db.transaction(name, 'readwrite')
    for (const record of records) await tx.store.put(untag(record))
    await tx.done
  }
  db.close()
  return { database, fixture }
}

describe('stored data of release 0.1 (IndexedDB, Chromium)', () => {
  it('is upgraded and every task comes back with its fields, binary payloads whole', async () => {
    const { database, fixture } = await restore()
    const queue = new IndexedDBQueue<{ n: number; bytes?: Uint8Array; at?: Date }>({ database, name: 'jobs' })
    const records = await queue.open('inspector')
    const running = records.find((r) => r.id === fixture.tasks.running)!
    expect(running.payload.bytes).toEqual(new Uint8Array([1, 2, 255]))
    expect(running.payload.at).toEqual(new Date(1_700_000_000_000))
    await queue.close()
    await checkFields(new IndexedDBQueue({ database, name: 'jobs' }), fixture.tasks)
  })

  it('recovers every task and message, knows the ended key, and runs what was left', async () => {
    const { database, fixture } = await restore()
    await checkRecovered(
      new IndexedDBQueue({ database, name: 'jobs' }),
      new IndexedDBMailboxStore({ database, name: 'jobs' }),
      fixture.tasks,
      fixture.clock_ms,
    )
  })
})
