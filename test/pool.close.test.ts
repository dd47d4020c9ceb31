// What `close()` closes: what the pool opened (its queue's ownership, the mailbox it made, the
// databases a builder opened for it), and nothing the caller passed in.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PGlite } from '@electric-sql/pglite'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { buildPools } from '../src/config/index.js'
import { Mailbox, MemoryMailboxStore, MemoryQueue, QueueLockedError, ResourcePool } from '../src/index.js'
import * as pglite from '../src/pglite/index.js'

const dir = mkdtempSync(join(tmpdir(), 'ppl-close-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('close() ownership', () => {
  it('closes the mailbox the pool made, and gives up the queue', async () => {
    const queue = new MemoryQueue()
    const pool = new ResourcePool({ capacity: 1, executor: () => 'x', queue })
    const closeStore = vi.spyOn(pool.mailbox.store, 'close')
    expect(queue.owner).toBeDefined()
    await pool.close()
    expect(closeStore).toHaveBeenCalledTimes(1)
    expect(queue.owner).toBeUndefined()
    // Closing twice closes nothing twice.
    await pool.close()
    expect(closeStore).toHaveBeenCalledTimes(1)
  })

  it('leaves a mailbox the caller passed in open (it may be shared)', async () => {
    const store = new MemoryMailboxStore()
    const closeStore = vi.spyOn(store, 'close')
    const mailbox = new Mailbox({ store })
    const a = new ResourcePool({ name: 'a', capacity: 1, executor: () => 'x', mailbox })
    const b = new ResourcePool({ name: 'b', capacity: 1, executor: () => 'y', mailbox })
    await (
      await a.submit(1, { mailbox: { tenant: 't' } })
    ).result
    await a.close()
    expect(closeStore).not.toHaveBeenCalled()
    await (
      await b.submit(2, { mailbox: { tenant: 't' } })
    ).result
    expect((await b.mailbox.fetch({ tenant: 't' })).messages).toHaveLength(2)
    await b.close()
    expect(closeStore).not.toHaveBeenCalled()
  })

  it('a pool whose queue another owner holds still closes what it made, and not the queue', async () => {
    const queue = new MemoryQueue()
    const owner = new ResourcePool({ capacity: 1, executor: () => 'x', queue })
    const refused = new ResourcePool({ capacity: 1, executor: () => 'x', queue })
    await expect(refused.ready).rejects.toBeInstanceOf(QueueLockedError)
    const closeStore = vi.spyOn(refused.mailbox.store, 'close')
    await refused.close()
    expect(closeStore).toHaveBeenCalledTimes(1)
    expect(queue.owner).toBeDefined() // still the first pool's
    await owner.close()
    expect(queue.owner).toBeUndefined()
  })

  it('closes the PGlite database a builder opened, when the last pool on it closes', async () => {
    const dataDir = join(dir, 'shared-db')
    const pool = (name: string) =>
      `  ${name}:\n    max_units: 1\n    queue: { type: pglite, data_dir: ${JSON.stringify(dataDir)} }\n    mailbox: { storage: { type: pglite, data_dir: ${JSON.stringify(dataDir)} } }\n`
    const pools = await buildPools<string, string>(`pools:\n${pool('a')}${pool('b')}`, {
      executors: () => async (text) => text,
      modules: { pglite },
    })
    const db = (pools['a']!.mailbox.store as pglite.PGliteMailboxStore).db as unknown as PGlite
    expect((pools['b']!.mailbox.store as pglite.PGliteMailboxStore).db).toBe(db)
    await (
      await pools['a']!.submit('hi')
    ).result
    await pools['a']!.close()
    expect(db.closed).toBe(false) // pool b still uses it
    await expect((await pools['b']!.submit('still open')).result).resolves.toBe('still open')
    await pools['b']!.close()
    expect(db.closed).toBe(true)
  }, 60_000)
})
