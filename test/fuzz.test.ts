// Property-based edges (fast-check): pool options, submit options, costs, payloads, results and
// config documents, plausible and not. Every input is either accepted and ends in exactly one
// terminal status with one mailbox message, or refused with a library error that has a `code`;
// never a raw TypeError, a DOMException or a hang. FUZZ_RUNS sets the cases per property; a
// failure prints its seed and path (fast-check), so `fc.assert(..., { seed, path })` replays it.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config/index.js'
import { validateConfig } from '../src/config/load.js'
import {
  Mailbox,
  ManualClock,
  MemoryMailboxStore,
  ParkingLotError,
  ResourcePool,
  checkJson,
  type MailboxMessage,
  type TerminalStatus,
} from '../src/index.js'

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 150)

/** Counted across the file, for the note: how many inputs were tried. */
const tried = { pools: 0, submits: 0, configs: 0 }

/** A library refusal: one of our classes, with a stable code. Anything else fails the property. */
function expectRefusal(error: unknown, input: unknown): void {
  if (error instanceof ParkingLotError && typeof error.code === 'string' && error.code !== '') return
  throw new Error(`Not a library refusal for ${safe(input)}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`)
}

function safe(value: unknown): string {
  try {
    return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : typeof v === 'function' ? '<fn>' : v))
  } catch {
    return String(value)
  }
}

/** A memory mailbox that keeps only what JSON keeps, as the SQL stores do. */
class JsonMailboxStore<R> extends MemoryMailboxStore<R> {
  readonly checkValue = checkJson
}

// Plausible values next to wrong ones: each key gets a valid-looking value, a wrong type, or anything.
const number = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double(), fc.constantFrom(0, 1, 1.5, 1e9, Infinity, -Infinity, Number.NaN))
const junk = fc.oneof(fc.anything(), number, fc.string(), fc.constant(undefined), fc.constant(null))
const resource = fc.constantFrom('slots', 'vram', 'cpu', '', '__proto__', 'constructor')
const vector = fc.dictionary(resource, fc.oneof(number, junk), { maxKeys: 3 })
const capacity = fc.oneof(number, vector, junk)
const policy = fc.oneof(
  fc.record(
    {
      onFull: fc.oneof(fc.constantFrom('reject', 'drop-lowest', 'drop'), junk),
      backfill: fc.oneof(fc.boolean(), junk),
      headReserveAfterMs: fc.oneof(number, junk),
      agingMs: fc.oneof(number, junk),
      fairShare: fc.oneof(fc.boolean(), junk),
    },
    { requiredKeys: [] },
  ),
  junk,
)
const wildPoolOptions = fc.record(
  {
    name: fc.oneof(fc.string(), junk),
    capacity,
    elasticResources: fc.oneof(fc.array(resource, { maxLength: 2 }), junk),
    maxQueueDepth: fc.oneof(number, junk),
    defaultWaitTimeoutMs: fc.oneof(number, junk),
    defaultRunTimeoutMs: fc.oneof(number, junk),
    maxAttempts: fc.oneof(fc.integer({ min: 0, max: 3 }), junk),
    retryBaseDelayMs: fc.oneof(number, junk),
    retryMaxDelayMs: fc.oneof(number, junk),
    keyRetentionMs: fc.oneof(number, junk),
    leaseMs: fc.oneof(number, junk),
    policy,
    // A typo of a real option, now and then.
    maxQueDepth: fc.oneof(number, junk),
  },
  { requiredKeys: [] },
)
// Mostly pools that build (so their submits get fuzzed), some with one wild option.
const goodPoolOptions = fc.record(
  {
    capacity: fc.oneof(
      fc.integer({ min: 1, max: 4 }),
      fc.record({ vram: fc.integer({ min: 1, max: 8 }), cpu: fc.integer({ min: 1, max: 4 }) }),
    ),
    maxAttempts: fc.integer({ min: 1, max: 3 }),
    maxQueueDepth: fc.oneof(fc.constant(Infinity), fc.integer({ min: 1, max: 8 })),
    defaultRunTimeoutMs: fc.integer({ min: 1, max: 100_000 }),
    retryBaseDelayMs: fc.integer({ min: 0, max: 1_000 }),
    policy: fc.record(
      {
        onFull: fc.constantFrom('reject', 'drop-lowest'),
        backfill: fc.boolean(),
        agingMs: fc.integer({ min: 1, max: 10_000 }),
        fairShare: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ['capacity'] },
)
const poolOptions = fc.oneof(
  { weight: 3, arbitrary: goodPoolOptions },
  { weight: 1, arbitrary: fc.tuple(goodPoolOptions, wildPoolOptions).map(([good, wild]) => ({ ...good, ...wild })) },
  { weight: 1, arbitrary: wildPoolOptions },
)
const mailboxKey = fc.oneof(
  fc.record(
    { tenant: fc.oneof(fc.constantFrom('t', ''), junk), user: fc.oneof(fc.string(), junk), session: fc.string() },
    { requiredKeys: [] },
  ),
  junk,
)
const goodSubmitOptions = fc.record(
  {
    cost: fc.oneof(
      fc.integer({ min: 1, max: 2 }),
      fc.record({ vram: fc.integer({ min: 0, max: 4 }), cpu: fc.integer({ min: 1, max: 2 }) }),
    ),
    priority: fc.constantFrom('low', 'normal', 'high', 'critical'),
    waitTimeoutMs: fc.integer({ min: 1, max: 200_000 }),
    runTimeoutMs: fc.integer({ min: 1, max: 200_000 }),
    maxAttempts: fc.integer({ min: 1, max: 3 }),
    tenant: fc.constantFrom('a', 'b'),
    mailbox: fc.record({ tenant: fc.constantFrom('t', 'u'), user: fc.constantFrom('x', 'y') }, { requiredKeys: ['tenant'] }),
    key: fc.constantFrom('k1', 'k2', 'k3'),
  },
  { requiredKeys: [] },
)
const wildSubmitOptions = fc.oneof(
  fc.record(
    {
      cost: fc.oneof(vector, number, fc.array(number, { maxLength: 2 }), junk),
      priority: fc.oneof(fc.constantFrom('low', 'normal', 'high', 'critical', 'urgent'), junk),
      waitTimeoutMs: fc.oneof(number, junk),
      waitDeadline: fc.oneof(number, junk),
      runTimeoutMs: fc.oneof(number, junk),
      maxAttempts: fc.oneof(fc.integer({ min: 0, max: 3 }), junk),
      tenant: fc.oneof(fc.string(), junk),
      mailbox: mailboxKey,
      key: fc.oneof(fc.constantFrom('k1', 'k2'), junk),
      handler: fc.oneof(fc.string(), junk),
      prority: junk,
    },
    { requiredKeys: [] },
  ),
  junk,
)
const submitOptions = fc.oneof(
  { weight: 3, arbitrary: goodSubmitOptions },
  {
    weight: 1,
    arbitrary: fc
      .tuple(goodSubmitOptions, wildSubmitOptions)
      .map(([good, wild]) => ({ ...good, ...(typeof wild === 'object' && wild !== null ? wild : {}) })),
  },
  { weight: 1, arbitrary: wildSubmitOptions },
)
/** What the executor does with a task: return something (perhaps not storable as JSON), or throw. */
const behaviour = fc.oneof(
  fc.record({
    returns: fc.oneof(
      fc.jsonValue(),
      fc.anything(),
      fc.constant(10n),
      fc.constant(() => 1),
    ),
  }),
  fc.record({ throws: fc.oneof(fc.string(), fc.anything()) }),
)
const payload = fc.oneof(
  fc.jsonValue(),
  fc.anything(),
  fc.constant(Symbol('s')),
  fc.constant(() => 1),
)

interface Run {
  readonly pool: ResourcePool<unknown, unknown>
  readonly clock: ManualClock
  readonly store: JsonMailboxStore<unknown>
  readonly ends: Map<string, TerminalStatus[]>
}

function open(options: Record<string, unknown>, behaviours: Map<unknown, { returns?: unknown; throws?: unknown }>): Run | undefined {
  const clock = new ManualClock(1_000_000)
  const store = new JsonMailboxStore<unknown>()
  const ends = new Map<string, TerminalStatus[]>()
  let pool: ResourcePool<unknown, unknown>
  try {
    pool = new ResourcePool<unknown, unknown>({
      ...(options as object),
      clock,
      mailbox: new Mailbox({ store }),
      executor: (p: unknown) => {
        const what = behaviours.get(p) ?? { returns: 'ok' }
        if ('throws' in what) throw what.throws
        return what.returns
      },
    } as never)
  } catch (error) {
    expectRefusal(error, options)
    return undefined
  }
  for (const status of ['completed', 'failed', 'expired', 'dropped', 'cancelled'] as const) {
    pool.on(status, ({ task }) => ends.set(task.id, [...(ends.get(task.id) ?? []), status]))
  }
  // An `error` event is a write the store refused; the memory stores never refuse, so none is expected.
  pool.on('error', ({ error }) => {
    throw error
  })
  return { pool, clock, store, ends }
}

/** Runs the pool's clock forward until it is idle; a pool that never gets there is a hang. */
async function settle(run: Run): Promise<void> {
  for (let step = 0; step < 200; step++) {
    const { parkedTotal, running, stopping, retrying } = run.pool.snapshot()
    // Nothing parked, running or waiting out a backoff: the memory stores write at once, so idle.
    if (parkedTotal + running + stopping + retrying === 0) return run.pool.onIdle()
    await run.clock.advanceAsync(60_000)
  }
  throw new Error(`The pool did not get idle: ${safe(run.pool.snapshot())}`)
}

describe('fuzzed edges (fast-check)', () => {
  it(`pool options: built, or refused with a library error (${RUNS} cases)`, () => {
    fc.assert(
      fc.property(poolOptions, (options) => {
        tried.pools++
        const run = open(options, new Map())
        if (run !== undefined) void run.pool.close()
      }),
      { numRuns: RUNS },
    )
  })

  it(`submits of any payload, options and outcome: each accepted task ends once, with one mailbox message; the rest are refused (${RUNS} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        poolOptions,
        fc.array(fc.record({ payload, options: submitOptions, behaviour }), { minLength: 1, maxLength: 6 }),
        async (options, submits) => {
          tried.pools++
          const behaviours = new Map<unknown, { returns?: unknown; throws?: unknown }>()
          for (const { payload: p, behaviour: b } of submits) behaviours.set(p, b)
          const run = open(options, behaviours)
          if (run === undefined) return
          const accepted: { id: string; tenant: string | undefined; result: Promise<unknown> }[] = []
          for (const { payload: p, options: o } of submits) {
            tried.submits++
            try {
              const handle = await run.pool.submit(p, o as never)
              accepted.push({ id: handle.id, tenant: handle.mailbox?.tenant, result: handle.result.then(noop, noop) })
            } catch (error) {
              expectRefusal(error, o)
            }
          }
          await settle(run)
          await Promise.all(accepted.map((a) => a.result))
          for (const task of new Set(accepted.map((a) => a.id))) {
            expect(run.ends.get(task), `task ${task}`).toHaveLength(1)
          }
          await run.pool.close()
          // One message per task with a mailbox key, whatever its outcome (InvalidResultError included).
          for (const tenant of new Set(accepted.flatMap((a) => (a.tenant === undefined ? [] : [a.tenant])))) {
            const { messages } = await run.store.fetch({ tenant }, { limit: 1_000 })
            for (const a of accepted.filter((x) => x.tenant === tenant)) {
              expect(
                messages.filter((m: MailboxMessage) => m.taskId === a.id),
                `messages of ${a.id}`,
              ).toHaveLength(1)
            }
          }
        },
      ),
      { numRuns: RUNS },
    )
  }, 120_000)

  it(`config documents as text and as objects: loaded, or refused with a ConfigError (${RUNS} cases)`, () => {
    const pool = fc.record(
      {
        max_units: fc.oneof(number, junk),
        capacity,
        elastic_resources: fc.oneof(fc.array(resource, { maxLength: 2 }), junk),
        max_queue_depth: fc.oneof(number, junk),
        default_timeout_secs: fc.oneof(number, junk),
        policy: fc.oneof(fc.record({ on_full: fc.constantFrom('reject', 'drop'), fair_share: junk }, { requiredKeys: [] }), junk),
        queue: fc.oneof(
          fc.record(
            {
              type: fc.constantFrom('in_memory', 'indexeddb', 'pglite', 'yaque', 'postgres', 'nope'),
              data_dir: junk,
              path: junk,
              stream: junk,
            },
            { requiredKeys: ['type'] },
          ),
          junk,
        ),
        mailbox: fc.oneof(fc.record({ storage: fc.record({ type: fc.constantFrom('in_memory', 'pglite', 'nope') }) }), junk),
      },
      { requiredKeys: [] },
    )
    const document = fc.oneof(fc.record({ pools: fc.dictionary(fc.string(), pool, { maxKeys: 2 }) }), junk)
    fc.assert(
      fc.property(document, fc.boolean(), (config, asText) => {
        tried.configs++
        try {
          if (asText) loadConfig(safe(config) ?? 'null')
          else validateConfig(config) // what buildPools does with an object
        } catch (error) {
          expectRefusal(error, config)
          expect((error as ParkingLotError).code).toBe('CONFIG_ERROR')
        }
      }),
      { numRuns: RUNS },
    )
    console.log(`fuzzed inputs: ${tried.pools} pool options, ${tried.submits} submits, ${tried.configs} config documents`)
  })
})

const noop = (): void => {}
