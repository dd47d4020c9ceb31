import { BackendError } from '../core/errors.js'
import type { MailboxStore } from '../core/mailbox.js'
import type { KeyRecord, Lease, Settlement, TaskQueue, TaskRecord } from '../core/queue.js'
import type { MailboxKey, PayloadFormat, Priority, TerminalStatus } from '../core/types.js'
import { acquireOwnership } from '../queue/ownership.js'
import { insertMessage } from '../sql/mailbox-rows.js'
import { checkName, migrate, type SqlClient } from '../sql/migrations.js'
import { PGliteMailboxStore, wrap } from './mailbox.js'

export interface PGliteQueueOptions {
  /** The queue's name; several queues can share one database. @default 'default' */
  readonly name?: string
}

interface PutEntry<P> {
  readonly records: readonly TaskRecord<P>[]
  resolve(): void
  reject(error: unknown): void
}

interface JobRow {
  id: string
  seq: string | number
  payload: string
  cost: string
  priority: string
  tenant: string
  mailbox_tenant: string | null
  mailbox_user: string | null
  mailbox_session: string | null
  idem_key: string | null
  fingerprint: string | null
  handler: string | null
  submitted_at: number
  wait_deadline: number | null
  run_timeout_ms: number | null
  max_attempts: number
  attempt: number
  not_before: number | null
  lease_owner: string | null
  lease_expires_at: number | null
}

const COLUMNS = [
  'queue_name',
  'id',
  'seq',
  'payload',
  'cost',
  'priority',
  'tenant',
  'mailbox_tenant',
  'mailbox_user',
  'mailbox_session',
  'idem_key',
  'fingerprint',
  'handler',
  'submitted_at',
  'wait_deadline',
  'run_timeout_ms',
  'max_attempts',
  'attempt',
  'not_before',
  'lease_owner',
  'lease_expires_at',
] as const

// Rows per INSERT statement: enough to make group commit cheap, few enough to keep statements small.
const ROWS_PER_INSERT = 200

/**
 * A durable queue in PGlite (`pl_queue_jobs`), in Node (memory or a data directory) or in the
 * browser (`idb://`, OPFS). Submits that arrive together are written in one statement (group
 * commit), with the default durability: `submit` resolves only after its row is stored.
 */
export class PGliteQueue<P = unknown> implements TaskQueue<P> {
  readonly durable = true
  readonly payloadFormat: PayloadFormat = 'json'
  readonly db: SqlClient
  readonly name: string
  #release: (() => Promise<void>) | undefined
  #ready: Promise<void> | undefined
  #batch: PutEntry<P>[] | undefined
  #flushing: Promise<void> = Promise.resolve()

  constructor(db: SqlClient, options: PGliteQueueOptions = {}) {
    this.db = db
    this.name = checkName(options.name ?? 'default', 'name')
  }

  async open(owner: string): Promise<readonly TaskRecord<P>[]> {
    await (this.#ready ??= migrate(this.db))
    const dataDir = (this.db as { dataDir?: string }).dataDir ?? 'memory'
    this.#release = await acquireOwnership(this.db, this.name, owner, `pglite:${dataDir}/${this.name}`)
    const { rows } = await wrap('reading the queue', () =>
      this.db.query<JobRow>('select * from pl_queue_jobs where queue_name = $1 order by seq', [this.name]),
    )
    return rows.map(toRecord<P>)
  }

  /**
   * Joins the batch being gathered this tick; the batch is written in one statement. If that
   * fails, each submit's records are written on their own, so one bad submit (a key already
   * stored) fails alone.
   */
  put(records: readonly TaskRecord<P>[]): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#batch === undefined) {
        const batch: PutEntry<P>[] = []
        this.#batch = batch
        this.#flushing = Promise.resolve().then(() => {
          this.#batch = undefined
          return this.#flush(batch)
        })
      }
      this.#batch.push({ records, resolve, reject })
    })
  }

  async #flush(batch: readonly PutEntry<P>[]): Promise<void> {
    await this.#ready
    const all = batch.flatMap((entry) => entry.records)
    try {
      await this.#write(all)
      for (const entry of batch) entry.resolve()
      return
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error)
        return
      }
    }
    for (const entry of batch) {
      try {
        await this.#write(entry.records)
        entry.resolve()
      } catch (error) {
        entry.reject(error)
      }
    }
  }

  async #write(records: readonly TaskRecord<P>[]): Promise<void> {
    await wrap('storing accepted tasks', async () => {
      if (records.length <= ROWS_PER_INSERT) {
        await this.#insert(this.db, records)
        return
      }
      await this.db.transaction(async (tx) => {
        for (let i = 0; i < records.length; i += ROWS_PER_INSERT) await this.#insert(tx, records.slice(i, i + ROWS_PER_INSERT))
      })
      await syncToDisk(this.db)
    })
  }

  async #insert(tx: { query: SqlClient['query'] }, records: readonly TaskRecord<P>[]): Promise<void> {
    const params: unknown[] = []
    const tuples = records.map((record) => {
      const values = rowValues(this.name, record)
      const placeholders = values.map((value) => {
        params.push(value)
        return `$${params.length}`
      })
      return `(${placeholders.join(', ')})`
    })
    await tx.query(`insert into pl_queue_jobs (${COLUMNS.join(', ')}) values ${tuples.join(', ')}`, params)
  }

  async claim(record: TaskRecord<P>, attempt: number, lease: Lease): Promise<void> {
    await this.#update('claiming a task', 'attempt = $3, lease_owner = $4, lease_expires_at = $5, not_before = null', record, [
      attempt,
      lease.owner,
      lease.expiresAt,
    ])
  }

  async renew(records: readonly TaskRecord<P>[], expiresAt: number): Promise<void> {
    await wrap('renewing leases', () =>
      this.db.query(
        'update pl_queue_jobs set lease_expires_at = $3 where queue_name = $1 and id = any($2::text[]) and lease_owner is not null',
        [this.name, records.map((r) => r.id), expiresAt],
      ),
    )
  }

  async release(record: TaskRecord<P>, notBefore: number | undefined): Promise<void> {
    await this.#update('releasing a task for retry', 'lease_owner = null, lease_expires_at = null, not_before = $3', record, [
      notBefore ?? null,
    ])
  }

  /** Deletes the row, remembers its key, and writes its mailbox message, in one transaction. */
  async settle(record: TaskRecord<P>, settlement: Settlement): Promise<void> {
    await wrap('settling a task', async () => {
      await this.db.transaction(async (tx) => {
        await tx.query('delete from pl_queue_jobs where queue_name = $1 and id = $2', [this.name, record.id])
        if (record.key !== undefined) {
          await tx.query(
            `insert into pl_queue_keys (queue_name, idem_key, task_id, fingerprint, status, retain_until)
             values ($1, $2, $3, $4, $5, $6)
             on conflict (queue_name, idem_key) do update
               set task_id = excluded.task_id, fingerprint = excluded.fingerprint, status = excluded.status, retain_until = excluded.retain_until`,
            [this.name, record.key, record.id, record.fingerprint ?? null, settlement.status, settlement.retainKeyUntil],
          )
          await tx.query('delete from pl_queue_keys where queue_name = $1 and retain_until <= $2', [this.name, settlement.endedAt])
        }
        if (settlement.message !== undefined) {
          const mailboxName = this.#sharedMailbox?.name ?? 'default'
          await insertMessage(tx, mailboxName, settlement.message)
        }
      })
      await syncToDisk(this.db)
    })
  }

  async findKey(key: string, now: number): Promise<KeyRecord | undefined> {
    return wrap('looking up an idempotency key', async () => {
      const live = await this.db.query<{ id: string; fingerprint: string | null }>(
        'select id, fingerprint from pl_queue_jobs where queue_name = $1 and idem_key = $2',
        [this.name, key],
      )
      const row = live.rows[0]
      if (row !== undefined)
        return { key, taskId: row.id, fingerprint: row.fingerprint ?? undefined, status: undefined, retainUntil: undefined }
      const ended = await this.db.query<{ task_id: string; fingerprint: string | null; status: string; retain_until: number }>(
        'select task_id, fingerprint, status, retain_until from pl_queue_keys where queue_name = $1 and idem_key = $2 and retain_until > $3',
        [this.name, key, now],
      )
      const end = ended.rows[0]
      if (end === undefined) return undefined
      return {
        key,
        taskId: end.task_id,
        fingerprint: end.fingerprint ?? undefined,
        status: end.status as TerminalStatus,
        retainUntil: end.retain_until,
      }
    })
  }

  #sharedMailbox: PGliteMailboxStore<unknown> | undefined

  /** True for a PGlite mailbox store on the same database: the ack and the message then commit together. */
  sharesTransactionWith(store: MailboxStore<unknown>): boolean {
    if (store instanceof PGliteMailboxStore && store.db === this.db) {
      this.#sharedMailbox = store
      return true
    }
    return false
  }

  async close(): Promise<void> {
    await this.#flushing
    const release = this.#release
    this.#release = undefined
    await release?.()
  }

  async #update(what: string, set: string, record: TaskRecord<P>, values: unknown[]): Promise<void> {
    const { rows } = await wrap(what, () =>
      this.db.query<{ id: string }>(`update pl_queue_jobs set ${set} where queue_name = $1 and id = $2 returning id`, [
        this.name,
        record.id,
        ...values,
      ]),
    )
    if (rows.length === 0) throw new BackendError(`Task ${record.id} is not in queue '${this.name}'`)
  }
}

/**
 * PGlite's `transaction()` commits without flushing its filesystem (electric-sql/pglite#1065),
 * while top-level statements flush; flush explicitly after a transaction we answer for.
 */
async function syncToDisk(db: SqlClient): Promise<void> {
  const sync = (db as { syncToFs?: () => Promise<void> }).syncToFs
  if (typeof sync === 'function') await sync.call(db)
}

function rowValues<P>(queueName: string, record: TaskRecord<P>): unknown[] {
  return [
    queueName,
    record.id,
    record.seq,
    JSON.stringify(record.payload),
    JSON.stringify(record.cost),
    record.priority,
    record.tenant,
    record.mailbox?.tenant ?? null,
    record.mailbox?.user ?? null,
    record.mailbox?.session ?? null,
    record.key ?? null,
    record.fingerprint ?? null,
    record.handler ?? null,
    record.submittedAt,
    record.waitDeadline ?? null,
    record.runTimeoutMs ?? null,
    record.maxAttempts,
    record.attempt,
    record.notBefore ?? null,
    record.lease?.owner ?? null,
    record.lease?.expiresAt ?? null,
  ]
}

function toRecord<P>(row: JobRow): TaskRecord<P> {
  const mailbox: MailboxKey | undefined =
    row.mailbox_tenant === null
      ? undefined
      : {
          tenant: row.mailbox_tenant,
          ...(row.mailbox_user === null ? {} : { user: row.mailbox_user }),
          ...(row.mailbox_session === null ? {} : { session: row.mailbox_session }),
        }
  return {
    id: row.id,
    seq: Number(row.seq),
    payload: JSON.parse(row.payload) as P,
    cost: JSON.parse(row.cost) as Record<string, number>,
    priority: row.priority as Priority,
    tenant: row.tenant,
    mailbox,
    key: row.idem_key ?? undefined,
    fingerprint: row.fingerprint ?? undefined,
    handler: row.handler ?? undefined,
    submittedAt: row.submitted_at,
    waitDeadline: row.wait_deadline ?? undefined,
    runTimeoutMs: row.run_timeout_ms ?? undefined,
    maxAttempts: row.max_attempts,
    attempt: row.attempt,
    notBefore: row.not_before ?? undefined,
    lease: row.lease_owner === null ? undefined : { owner: row.lease_owner, expiresAt: row.lease_expires_at ?? 0 },
  }
}
