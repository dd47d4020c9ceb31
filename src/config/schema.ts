import { z } from 'zod'

/**
 * The config file's shape: the seed's `scheduler-config.json` (snake_case), extended with a
 * capacity vector and the parking-lot policy. Unknown fields are refused, so a typo is an error
 * that names it rather than a silently ignored setting.
 */

// Table and queue names go into SQL: letters, digits and underscores only, never interpolated raw.
const sqlIdentifier = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]{0,62}$/,
    'must be a SQL identifier: letters, digits and _, starting with a letter or _, at most 63 characters',
  )

const units = z.number().finite().nonnegative()

// A PGlite without a data directory lives in memory: not durable, so it is asked for as `in_memory`.
const dataDir = z.string('give `data_dir`: a folder in Node, `idb://name` in a browser (for no persistence, use `in_memory`)').min(1)

const queueSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('in_memory') }),
  z.strictObject({ type: z.literal('indexeddb'), database: z.string().min(1).optional() }),
  z.strictObject({ type: z.literal('pglite'), data_dir: dataDir }),
  // The seed's embedded file queue; maps to the environment's embedded durable queue.
  z.strictObject({ type: z.literal('yaque'), path: z.string().min(1), stream: z.string().min(1) }),
  z.strictObject({ type: z.literal('postgres'), table: sqlIdentifier }),
  z.strictObject({ type: z.literal('postgres_custom'), table: sqlIdentifier }),
  z.strictObject({ type: z.literal('postgres_pgmq'), queue_name: sqlIdentifier }),
])

const storageSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('in_memory') }),
  z.strictObject({ type: z.literal('indexeddb'), database: z.string().min(1).optional() }),
  z.strictObject({ type: z.literal('pglite'), data_dir: dataDir }),
  z.strictObject({ type: z.literal('postgres'), table: sqlIdentifier }),
])

const notifierSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('http'), base_url: z.url(), auth_header: z.string().optional() }),
  z.strictObject({ type: z.literal('broadcast'), channel: z.string().min(1).optional() }),
])

const policySchema = z.strictObject({
  on_full: z.enum(['reject', 'drop-lowest']).optional(),
  backfill: z.boolean().optional(),
  head_reserve_after_ms: units.optional(),
  aging_ms: z.number().finite().positive().optional(),
  fair_share: z.boolean().optional(),
})

const poolSchema = z
  .strictObject({
    /** The seed's single-resource capacity: `{ slots: max_units }`. */
    max_units: z.number().int().positive().optional(),
    /** A capacity vector, e.g. `{ vram: 20, cpu: 4 }`. */
    capacity: z
      .union([units, z.record(z.string().min(1), units).refine((vector) => Object.keys(vector).length > 0, 'name at least one resource')])
      .optional(),
    /** Resources whose capacity is set at run time: they may start at 0. */
    elastic_resources: z.array(z.string().min(1)).optional(),
    max_queue_depth: z.number().int().nonnegative().optional(),
    /** Wait limit in seconds (the seed's name). */
    default_timeout_secs: units.optional(),
    default_run_timeout_secs: z.number().finite().positive().optional(),
    max_attempts: z.number().int().min(1).optional(),
    retry_base_delay_ms: units.optional(),
    retry_max_delay_ms: units.optional(),
    key_retention_ms: units.optional(),
    /** The seed's hint; informational. */
    resource_kind: z.enum(['cpu', 'gpu', 'mixed', 'Cpu', 'Gpu', 'Mixed']).optional(),
    policy: policySchema.optional(),
    queue: queueSchema,
    mailbox: z.strictObject({ storage: storageSchema, notifier: notifierSchema.optional() }),
  })
  .refine((pool) => (pool.max_units === undefined) !== (pool.capacity === undefined), {
    message: 'give exactly one of `max_units` or `capacity`',
    path: ['max_units'],
  })
  .superRefine((pool, context) => {
    // A resource at 0 could never run a task, unless its capacity is set at run time.
    const capacity = typeof pool.capacity === 'number' ? { slots: pool.capacity } : (pool.capacity ?? {})
    for (const [name, amount] of Object.entries(capacity)) {
      if (amount > 0 || pool.elastic_resources?.includes(name) === true) continue
      const path = typeof pool.capacity === 'number' ? ['capacity'] : ['capacity', name]
      context.addIssue({
        code: 'custom',
        path,
        message: `is 0: no task that needs \`${name}\` could ever start (list it in \`elastic_resources\` if its capacity is set at run time)`,
      })
    }
  })

export const schedulerConfigSchema = z.strictObject({
  pools: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'pool names use letters, digits, _, . and -'), poolSchema),
})

export type SchedulerConfig = z.infer<typeof schedulerConfigSchema>
export type PoolConfig = z.infer<typeof poolSchema>
export type QueueConfig = z.infer<typeof queueSchema>
export type MailboxStorageConfig = z.infer<typeof storageSchema>
export type MailboxNotifierConfig = z.infer<typeof notifierSchema>
