// The config builders' server tier against the run's throwaway Postgres 15: the `postgres` queue
// and storage types build on the connections passed to the builder.
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { buildPools, type SchedulerConfig } from '../src/config/index.js'
import * as postgres from '../src/postgres/index.js'
import * as pgmq from '../src/pgmq/index.js'
import * as pglite from '../src/pglite/index.js'
import { freshDatabase } from './postgres/database.js'

let connections: pg.Pool
beforeAll(async () => {
  connections = new pg.Pool({ connectionString: await freshDatabase('config'), max: 6 })
})
afterAll(() => connections.end())

if (inject('pgmqMissing') !== '') console.warn(`Skipping the seed config's pgmq pool: ${inject('pgmqMissing')}`)

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')

describe('buildPools with Postgres', () => {
  it('builds a pool on the postgres queue and storage types: tasks run, their messages land in the Postgres mailbox', async () => {
    const config: SchedulerConfig = {
      pools: {
        gpu_jobs: {
          capacity: { gpu: 4 },
          queue: { type: 'postgres', table: 'gpu_jobs' },
          mailbox: { storage: { type: 'postgres', table: 'gpu_mailbox' } },
        },
      },
    }
    const pools = await buildPools<string, string>(config, {
      executors: { gpu_jobs: async (payload: string) => payload.toUpperCase() },
      postgres: connections,
      modules: { postgres },
      environment: 'node',
    })
    const pool = pools['gpu_jobs']!
    const handle = await pool.submit('hello', { cost: { gpu: 2 }, mailbox: { tenant: 't', user: 'u' } })
    expect(await handle.result).toBe('HELLO')
    await pool.onIdle()
    const { rows } = await connections.query<{ result: string }>('select result from pl_mailbox_messages where mailbox_name = $1', [
      'gpu_mailbox',
    ])
    expect(rows.map((row) => JSON.parse(row.result) as string)).toEqual(['HELLO'])
    await pool.close()
  })

  it.skipIf(inject('pgmqMissing') !== '')("builds every pool of the seed's example, the pgmq one too; each runs a task", async () => {
    // The seed's config as it is, but for the yaque folder: a temp dir, not ./data in the checkout.
    const seed = JSON.parse(fixture('scheduler-config.json')) as { pools: Record<string, { queue: Record<string, unknown> }> }
    seed.pools['tauri_local_llm']!.queue['path'] = mkdtempSync(join(tmpdir(), 'ppl-seed-'))
    const pools = await buildPools<string, string>(seed as SchedulerConfig, {
      executors: (name) => async (payload: string) => `${name}: ${payload}`,
      postgres: connections,
      modules: { postgres, pgmq, pglite },
      webhookSecrets: { llm_inference: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
      environment: 'node',
    })
    try {
      const names = Object.keys(pools).sort()
      expect(names).toEqual(['llm_inference', 'tauri_local_llm'])
      for (const name of names) {
        // No mailbox key: the seed's webhook goes to example.com, which this machine cannot reach.
        const handle = await pools[name]!.submit('hi')
        expect(await handle.result).toBe(`${name}: hi`)
      }
      const { rows } = await connections.query<{ n: number }>(
        `select count(*)::int as n from pgmq.meta where queue_name like 'llm_inference_%'`,
      )
      expect(rows[0]!.n).toBeGreaterThanOrEqual(4)
    } finally {
      for (const pool of Object.values(pools)) await pool.close()
    }
  })
})
