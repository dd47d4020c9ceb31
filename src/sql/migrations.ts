/**
 * The SQL schema, shared by PGlite and (later) Postgres: the seed's `pl_queue_jobs` and
 * `pl_mailbox_messages`, fixed (status stored as text and read back as written, completion time,
 * the real task id, lease columns, a unique live idempotency key per queue). Migrations are
 * numbered and applied in order, each in a transaction with its version row.
 */
import { InvalidOptionError } from '../core/errors.js'

export interface SqlRows<T> {
  readonly rows: T[]
}

/** What the SQL backends need of a client: PGlite has it; a `pg` pool gets an adapter. */
export interface SqlClient {
  query<T>(sql: string, params?: unknown[]): Promise<SqlRows<T>>
  exec(sql: string): Promise<unknown>
  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T>
}

export interface SqlTransaction {
  query<T>(sql: string, params?: unknown[]): Promise<SqlRows<T>>
}

export const MIGRATIONS: readonly string[] = [
  `
  create table if not exists pl_queue_jobs (
    queue_name text not null,
    id text not null,
    seq bigint not null,
    payload text not null,
    cost text not null,
    priority text not null,
    tenant text not null default '',
    mailbox_tenant text,
    mailbox_user text,
    mailbox_session text,
    idem_key text,
    fingerprint text,
    handler text,
    submitted_at double precision not null,
    wait_deadline double precision,
    run_timeout_ms double precision,
    max_attempts integer not null,
    attempt integer not null default 0,
    not_before double precision,
    lease_owner text,
    lease_expires_at double precision,
    primary key (queue_name, id)
  );
  create unique index if not exists pl_queue_jobs_seq on pl_queue_jobs (queue_name, seq);
  create unique index if not exists pl_queue_jobs_live_key on pl_queue_jobs (queue_name, idem_key) where idem_key is not null;
  create table if not exists pl_queue_keys (
    queue_name text not null,
    idem_key text not null,
    task_id text not null,
    fingerprint text,
    status text not null,
    retain_until double precision not null,
    primary key (queue_name, idem_key)
  );
  create table if not exists pl_mailbox_messages (
    seq bigserial primary key,
    mailbox_name text not null,
    id text not null unique,
    task_id text not null,
    tenant text not null,
    user_id text,
    session_id text,
    status text not null,
    result text,
    error_code text,
    error_message text,
    attempts integer not null,
    submitted_at double precision not null,
    completed_at double precision not null,
    unique (mailbox_name, task_id, status)
  );
  create index if not exists pl_mailbox_messages_key on pl_mailbox_messages (mailbox_name, tenant, user_id, session_id, seq);
  `,
]

/** Brings the schema up to date; safe to call from every store that opens the database. */
export async function migrate(client: SqlClient): Promise<void> {
  await client.exec('create table if not exists pl_schema_version (version integer primary key)')
  const { rows } = await client.query<{ version: number | null }>('select max(version) as version from pl_schema_version')
  const current = rows[0]?.version ?? 0
  for (let version = current + 1; version <= MIGRATIONS.length; version++) {
    const statements = MIGRATIONS[version - 1]!
    await client.transaction(async (tx) => {
      for (const statement of statements
        .split(';')
        .map((s) => s.trim())
        .filter((s) => s !== ''))
        await tx.query(statement)
      await tx.query('insert into pl_schema_version (version) values ($1) on conflict do nothing', [version])
    })
  }
}

/** Queue and mailbox names go into rows, never into SQL text; still, keep them tidy. */
export function checkName(name: string, what: string): string {
  if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(name)) {
    throw new InvalidOptionError(`Expected \`${what}\` to be 1-128 letters, digits or _ . : -, got ${JSON.stringify(name)}`, what)
  }
  return name
}
