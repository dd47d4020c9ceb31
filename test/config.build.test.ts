import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildPools, loadConfig, type SchedulerConfig } from '../src/config/index.js'
import { ConfigError, ManualClock } from '../src/index.js'
import * as indexeddb from '../src/indexeddb/index.js'
import * as pglite from '../src/pglite/index.js'
import { webhookReceiver } from './webhook-receiver.js'

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')

describe('buildPools', () => {
  it('refuses, in one ConfigError, every pool whose backend this build lacks, and builds nothing', async () => {
    const error = await buildPools(fixture('scheduler-config.yaml'), { executors: () => async () => 'x', environment: 'node' }).catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(ConfigError)
    const issues = (error as ConfigError).issues
    // In Node, `yaque` is PGlite on a data directory: only the server-tier pool is missing backends.
    expect(issues.map((i) => i.path)).toEqual([
      'pools.llm_inference.queue.type',
      'pools.llm_inference.mailbox.storage.type',
      'pools.llm_inference.mailbox.notifier',
    ])
    expect(issues[2]!.message).toMatch(
      /http notifier: pass its signing secret \(`whsec_` \+ base64\) as `webhookSecrets: \{ llm_inference: 'whsec_…' \}`/,
    )
    expect(issues[0]!.message).toMatch(/llm_inference.*'postgres_pgmq'.*pass its connections as `postgres: new pg.Pool\(...\)`/)
    expect(issues[1]!.message).toMatch(/llm_inference.*'postgres'.*pass its connections as `postgres: new pg.Pool\(...\)`/)
  })

  it("lists both pools of the seed's own example, each with its backend and what is missing", async () => {
    const error = await buildPools(fixture('scheduler-config.json'), { executors: () => async () => 'x', environment: 'node' }).catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(ConfigError)
    const message = (error as Error).message
    expect(message).toMatch(/pool 'llm_inference' needs queue backend 'postgres_pgmq'/)
    expect(message).toMatch(/pool 'llm_inference' needs storage backend 'postgres'/)
    expect(message).toMatch(/pool 'llm_inference' has an http notifier: pass its signing secret/)
    expect(message).not.toMatch(/tauri_local_llm/)
  })

  it('in a browser, `yaque` is the IndexedDB queue; only the server-tier pool is refused', async () => {
    const error = await buildPools(fixture('scheduler-config.json'), {
      executors: () => async () => 'x',
      environment: 'browser',
      modules: { indexeddb },
    }).catch((e: unknown) => e)
    expect((error as ConfigError).issues.map((i) => i.path)).not.toContain('pools.tauri_local_llm.queue.type')
    expect((error as ConfigError).issues.map((i) => i.path)).toContain('pools.llm_inference.queue.type')
  })

  it('in a browser, a backend module that was not passed is named, with the import to pass', async () => {
    const error = await buildPools(fixture('scheduler-config.json'), { executors: () => async () => 'x', environment: 'browser' }).catch(
      (e: unknown) => e,
    )
    const issue = (error as ConfigError).issues.find((i) => i.path === 'pools.tauri_local_llm.queue.type')
    expect(issue?.message).toMatch(/pass its module, `modules: \{ indexeddb: await import\('prometheus-parking-lot\/indexeddb'\) \}`/)
  })

  it('builds an http notifier with the secret passed in code and the auth header from the config: a result is POSTed, signed', async () => {
    const secret = `whsec_${Buffer.from('config test secret').toString('base64')}`
    const receiver = await webhookReceiver(secret, () => true)
    const config = `pools:\n  p:\n    max_units: 1\n    queue: { type: in_memory }\n    mailbox:\n      storage: { type: in_memory }\n      notifier: { type: http, base_url: "${receiver.url}", auth_header: "Bearer t" }\n`
    const pools = await buildPools<string, string>(config, {
      executors: () => async () => 'x',
      environment: 'node',
      webhookSecrets: { p: secret },
    })
    const task = await pools['p']!.submit('job', { mailbox: { tenant: 't' } })
    await task.result
    await expect
      .poll(() => receiver.received.map((r) => ({ auth: r.authorization, verified: r.verified })))
      .toEqual([{ auth: 'Bearer t', verified: true }])
    await pools['p']!.close()
    await receiver.close()
  })

  it('IndexedDB is refused in Node, with what to use instead', async () => {
    const error = await buildPools(
      'pools:\n  p:\n    max_units: 1\n    queue: { type: indexeddb }\n    mailbox: { storage: { type: in_memory } }\n',
      { executors: { p: () => 1 }, environment: 'node' },
    ).catch((e: unknown) => e)
    expect((error as ConfigError).issues[0]!.message).toMatch(/IndexedDB exists only in browsers.*pglite/)
  })

  it("builds the seed's yaque pool in Node as PGlite on a data directory, and runs a task", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ppl-yaque-'))
    try {
      const config = loadConfig(fixture('scheduler-config.json'))
      const tauri = config.pools['tauri_local_llm']!
      const yaque = { pools: { tauri_local_llm: { ...tauri, queue: { type: 'yaque' as const, path: dir, stream: 'tauri_llm' } } } }
      const pools = await buildPools<string, string>(yaque, { executors: { tauri_local_llm: async (p) => `ok:${p}` }, modules: { pglite } })
      const pool = pools['tauri_local_llm']!
      const task = await pool.submit('hello')
      await expect(task.result).resolves.toBe('ok:hello')
      await pool.close()
      expect(readdirSync(join(dir, 'tauri_llm')).length).toBeGreaterThan(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it('says Postgres cannot run in a browser', async () => {
    const error = await buildPools(fixture('scheduler-config.json'), { executors: () => async () => 'x', environment: 'browser' }).catch(
      (e: unknown) => e,
    )
    expect((error as ConfigError).issues[0]!.message).toMatch(/a browser cannot open a Postgres connection/)
  })

  it('with those pools removed, the rest builds and runs tasks', async () => {
    const config: SchedulerConfig = loadConfig(fixture('scheduler-config.yaml'))
    const { llm_inference: _a, tauri_local_llm: _b, ...rest } = config.pools
    const clock = new ManualClock()
    const pools = await buildPools<{ prompt: string }, string>(
      { pools: rest },
      { executors: { rag_preprocess: async (job) => `done:${job.prompt}` }, clock },
    )
    const pool = pools['rag_preprocess']!
    expect(pool.snapshot().capacity).toEqual({ vram: 24, cpu: 4 })
    const task = await pool.submit({ prompt: 'hi' }, { cost: { vram: 4 }, mailbox: { tenant: 't' } })
    await expect(task.result).resolves.toBe('done:hi')
    await pool.onIdle()
    expect((await pool.mailbox.fetch({ tenant: 't' })).messages[0]).toMatchObject({ status: 'completed', result: 'done:hi' })
  })

  it('maps the seed options onto the pool: max_units, max_queue_depth, default_timeout_secs', async () => {
    const clock = new ManualClock()
    const pools = await buildPools(
      'pools:\n  p:\n    max_units: 1\n    max_queue_depth: 1\n    default_timeout_secs: 2\n    queue: { type: in_memory }\n    mailbox: { storage: { type: in_memory } }\n',
      { executors: { p: () => new Promise(() => {}) }, clock },
    )
    const pool = pools['p']!
    await pool.submit('running')
    const parked = await pool.submit('parked')
    await expect(pool.submit('third')).rejects.toThrow(/maxQueueDepth/)
    await clock.advanceAsync(2_000)
    expect(parked.status).toBe('expired')
  })

  it('names a pool without an executor', async () => {
    const error = await buildPools(
      'pools:\n  p:\n    max_units: 1\n    queue: { type: in_memory }\n    mailbox: { storage: { type: in_memory } }\n',
      { executors: {} },
    ).catch((e: unknown) => e)
    expect((error as ConfigError).issues).toEqual([{ path: 'pools.p', message: "pool 'p' has no executor in `executors`" }])
  })

  describe('an object is validated as text is, with the same paths', () => {
    const memory = { queue: { type: 'in_memory' }, mailbox: { storage: { type: 'in_memory' } } }
    const refusal = async (config: unknown): Promise<ConfigError> => {
      const error = await buildPools(config as SchedulerConfig, {
        executors: () => async () => 'x',
        environment: 'node',
        modules: { pglite },
      }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ConfigError)
      return error as ConfigError
    }

    it.each([
      ['no pools', {}, 'pools'],
      ['a negative max_units', { pools: { p1: { ...memory, max_units: -5 } } }, 'pools.p1.max_units'],
      ['an empty capacity', { pools: { p1: { ...memory, capacity: {} } } }, 'pools.p1.capacity'],
      ['a capacity of 0', { pools: { p1: { ...memory, capacity: { vram: 0, cpu: 1 } } } }, 'pools.p1.capacity.vram'],
      ['max_units 0', { pools: { p1: { ...memory, max_units: 0 } } }, 'pools.p1.max_units'],
      ['pglite without data_dir', { pools: { p1: { ...memory, max_units: 1, queue: { type: 'pglite' } } } }, 'pools.p1.queue.data_dir'],
    ])('%s', async (_name, config, path) => {
      const error = await refusal(config)
      expect(error.issues.map((issue) => issue.path)).toContain(path)
      // The same document as YAML text is refused at the same path.
      const asText = await buildPools(JSON.stringify(config), { executors: () => async () => 'x', environment: 'node' }).catch(
        (e: unknown) => e,
      )
      expect((asText as ConfigError).issues.map((issue) => issue.path)).toContain(path)
    })

    it('a resource listed in elastic_resources may start at 0', async () => {
      const pools = await buildPools<string, string>(
        { pools: { p1: { ...memory, capacity: { gpu: 0 }, elastic_resources: ['gpu'] } } } as SchedulerConfig,
        { executors: () => async (p: string) => p, environment: 'node' },
      )
      const task = await pools['p1']!.submit('x', { cost: { gpu: 1 } })
      expect(task.status).toBe('parked')
      await pools['p1']!.close()
    })

    it('a yaque path whose parent folder is missing is a ConfigError naming it', async () => {
      const error = await refusal({
        pools: {
          ok: { ...memory, max_units: 1 },
          p1: {
            max_units: 1,
            queue: { type: 'yaque', path: '/nonexistent/parent', stream: 'q' },
            mailbox: { storage: { type: 'in_memory' } },
          },
        },
      })
      expect(error.issues).toEqual([{ path: 'pools.p1.queue.path', message: expect.stringMatching(/parent folder.*ENOENT/) }])
    })
  })
})
