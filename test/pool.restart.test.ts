// Idempotency keys across restarts: a key whose task ended before the process stopped runs
// nothing again in the next process; its handle reports how the task ended.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { afterAll, describe, expect, it } from 'vitest'
import { IdempotencyConflictError, Mailbox, ManualClock, ResourcePool } from '../src/index.js'
import { PGliteMailboxStore, PGliteQueue } from '../src/pglite/index.js'

const dir = mkdtempSync(join(tmpdir(), 'ppl-restart-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Report {
  readonly id: string
  readonly status: string
  readonly runs: number
  readonly outcome: { ok: boolean; value?: string; code?: string; message?: string }
}

function runChild(dataDir: string, payload: string, mailbox: boolean): Report {
  const child = new URL('./restart/keyed-child.ts', import.meta.url).pathname
  const out = execFileSync(process.execPath, ['--import', 'tsx', child, dataDir, payload, mailbox ? 'mailbox' : ''], { encoding: 'utf8' })
  return JSON.parse(out.trim().split('\n').at(-1)!) as Report
}

describe('idempotency keys across restarts (PGlite on a data directory, two processes)', () => {
  it('a key whose task completed runs nothing in the next process; the result comes from its mailbox message', () => {
    const dataDir = join(dir, 'mailbox')
    const first = runChild(dataDir, 'hello', true)
    expect(first).toMatchObject({ status: 'completed', runs: 1, outcome: { ok: true, value: 'done: hello' } })
    const second = runChild(dataDir, 'hello', true)
    expect(second).toEqual({ id: first.id, status: 'completed', runs: 0, outcome: { ok: true, value: 'done: hello' } })
  }, 60_000)

  it('without a mailbox key the task does not run again either; its result rejects with ResultNotKeptError', () => {
    const dataDir = join(dir, 'no-mailbox')
    expect(runChild(dataDir, 'hello', false)).toMatchObject({ status: 'completed', runs: 1 })
    const second = runChild(dataDir, 'hello', false)
    expect(second).toMatchObject({ status: 'completed', runs: 0, outcome: { ok: false, code: 'RESULT_NOT_KEPT' } })
    expect(second.outcome.message).toMatch(/ended as completed before this pool started; its result was not kept \(it had no mailbox key\)/)
  }, 60_000)
})

describe('idempotency keys across a restart, in one process', () => {
  const open = async (
    dataDir: string,
    runs: string[],
    keyRetentionMs = 60_000,
    clock = new ManualClock(1_000_000),
  ): Promise<{ pool: ResourcePool<string, string>; db: PGlite }> => {
    const db = await PGlite.create(dataDir)
    const pool = new ResourcePool<string, string>({
      name: 'k',
      capacity: 1,
      keyRetentionMs,
      clock,
      executor: async (text) => {
        runs.push(text)
        if (text === 'boom') throw new Error('it broke')
        return text.toUpperCase()
      },
      queue: new PGliteQueue<string>(db, { name: 'k' }),
      mailbox: new Mailbox({ store: new PGliteMailboxStore<string>(db, { name: 'k' }) }),
    })
    await pool.ready
    return { pool, db }
  }

  it('refuses the key with another payload, and reports a failure as it ended (its error class from the message)', async () => {
    const dataDir = join(dir, 'conflict')
    const runs: string[] = []
    let { pool, db } = await open(dataDir, runs)
    const failed = await pool.submit('boom', { key: 'f', mailbox: { tenant: 't' } })
    await failed.result.catch(() => {})
    await pool.submit('ok', { key: 'c' })
    await pool.onIdle()
    await pool.close()
    await db.close()
    ;({ pool, db } = await open(dataDir, runs))
    await expect(pool.submit('other', { key: 'c' })).rejects.toBeInstanceOf(IdempotencyConflictError)
    const again = await pool.submit('boom', { key: 'f', mailbox: { tenant: 't' } })
    expect(again.status).toBe('failed')
    expect(again.id).toBe(failed.id)
    const error = await again.result.catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'TaskFailedError', code: 'TASK_FAILED', message: expect.stringContaining('it broke') })
    expect(runs).toEqual(['boom', 'ok'])
    await pool.close()
    await db.close()
  }, 60_000)

  it('a key past its retention is forgotten: the same key runs a new task, and old key rows are pruned', async () => {
    const dataDir = join(dir, 'retention')
    const runs: string[] = []
    const clock = new ManualClock(1_000_000)
    let { pool, db } = await open(dataDir, runs, 1_000, clock)
    await (
      await pool.submit('a', { key: 'old' })
    ).result
    await clock.advanceAsync(1_000)
    await (
      await pool.submit('b', { key: 'newer' })
    ).result // its settle prunes `old`
    await pool.onIdle()
    const { rows } = await db.query<{ idem_key: string }>('select idem_key from pl_queue_keys where queue_name = $1', ['k'])
    expect(rows.map((r) => r.idem_key)).toEqual(['newer'])
    await pool.close()
    await db.close()
    ;({ pool, db } = await open(dataDir, runs, 1_000, clock))
    const fresh = await pool.submit('a', { key: 'old' })
    await expect(fresh.result).resolves.toBe('A')
    expect(runs).toEqual(['a', 'b', 'a'])
    await pool.close()
    await db.close()
  }, 60_000)
})
