// The config builders' server tier against the run's throwaway Postgres 15: the `postgres` queue
// and storage types build on the connections passed to the builder.
import { readFileSync } from 'node:fs'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../src/index.js'
import { buildPools, type SchedulerConfig } from '../src/config/index.js'
import * as postgres from '../src/postgres/index.js'
import { freshDatabase } from './postgres/database.js'

let connections: pg.Pool
beforeAll(async () => {
  connections = new pg.Pool({ connectionString: await freshDatabase('config'), max: 6 })
})
afterAll(() => connections.end())

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

  it("builds every pool of the seed's example but the pgmq one, which it names", async () => {
    const error = await buildPools(fixture('scheduler-config.json'), {
      executors: () => async () => 'x',
      postgres: connections,
      modules: { postgres },
      webhookSecrets: { llm_inference: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
      environment: 'node',
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).issues.map((i) => i.path)).toEqual(['pools.llm_inference.queue.type'])
    expect((error as Error).message).toMatch(/'postgres_pgmq': the pgmq queue .* is not in this build yet/)
  })
})
