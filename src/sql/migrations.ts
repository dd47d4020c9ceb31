/*
 * The SQL schema, shared by PGlite and (later) Postgres: the seed's `pl_queue_jobs` and
 * `pl_mailbox_messages`, fixed (status stored as text and read back as written, completion time,
 * the real task id, lease columns, a unique live idempotency key per queue). Migrations are
 * numbered and applied in order; each runs whole (never split on `;`, which would break a
 * function body) in a transaction with its version row.
 */
import { InvalidOptionError } from '../core/errors.js'
import { claimFunction } from './claim-function.js'

export interface SqlRows<T> {
  readonly rows: T[]
}

export interface SqlTransaction {
  query<T>(sql: string, params?: unknown[]): Promise<SqlRows<T>>
  /** Runs a script of one or more statements (no parameters). */
  exec(sql: string): Promise<unknown>
}

/** What the SQL backends need of a client: PGlite has it; a `pg` pool gets an adapter. */
export interface SqlClient extends SqlTransaction {
  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T>
}

/** @internal The schema's migrations, in order; each is one script. */
export const MIGRATIONS: readonly string[] = [
  // 1 (release 0.1): jobs, ended idempotency keys, mailbox messages.
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
  // 2 (release 0.2): the database's identity (its owner locks are named after it), the ended
  // task's fields beside its key, and an index to prune keys by time.
  `
  create table if not exists pl_database_identity (
    singleton boolean primary key default true check (singleton),
    id text not null
  );
  insert into pl_database_identity (id) values (gen_random_uuid()::text) on conflict do nothing;
  alter table pl_queue_keys add column if not exists task_info text;
  create index if not exists pl_queue_keys_retain on pl_queue_keys (queue_name, retain_until);
  `,
  // 3 (release 0.3): the model a task runs on.
  `
  alter table pl_queue_jobs add column if not exists model text;
  `,
  // 4 (release 0.4): a queue many schedulers share (Postgres) takes its order from the
  // database, and claims by priority, then age.
  `
  create sequence if not exists pl_queue_seq;
  create index if not exists pl_queue_jobs_claim on pl_queue_jobs
    (queue_name, (case priority when 'critical' then 3 when 'high' then 2 when 'normal' then 1 else 0 end) desc, seq);
  `,
  // 5 (release 0.4): a shared queue tells a task's submitter how it ended, wherever it ran, and
  // lets the submitter ask the process running it to stop.
  `
  alter table pl_queue_jobs add column if not exists submitter text;
  alter table pl_queue_jobs add column if not exists cancel_requested boolean not null default false;
  alter table pl_queue_jobs add column if not exists blocked_since double precision;
  -- Room on each page, so a claim's and a renewal's updates stay on the page (HOT: no index
  -- writes; none of the columns they change is indexed).
  alter table pl_queue_jobs set (fillfactor = 70);
  -- The claim (shared-jobs.ts): one statement, one pass over the best waiting rows.
  create or replace function pl_claim_fitting(
    q text, resources text[], free float8[], whole float8[], claimer text, lease_ms float8,
    lim integer, scan integer, backfill boolean, reserve_after_ms float8, prefetch integer
  ) returns setof pl_queue_jobs language plpgsql as $$
  declare
    now_ms float8 := extract(epoch from clock_timestamp()) * 1000;
    room float8[] := free;
    taken text[] := '{}';
    passed text[] := '{}';
    extra integer := 0;
    r record;
    costs jsonb;
    need float8[];
    usable boolean;
    fits boolean;
    fits_here boolean;
    i integer;
  begin
    for r in
      select id, cost, blocked_since from pl_queue_jobs
      where queue_name = q
        and (lease_owner is null or lease_expires_at < now_ms)
        and (not_before is null or not_before <= now_ms)
        and attempt < max_attempts
        and not cancel_requested
      order by (case priority when 'critical' then 3 when 'high' then 2 when 'normal' then 1 else 0 end) desc, seq
      limit scan
      for update skip locked
    loop
      exit when cardinality(taken) >= lim;
      -- A cost that is not an object of numbers (a row written by hand), or that needs a
      -- resource the claimer does not have, never fits here: passed over, never stopped at.
      -- (Text that is not JSON at all fails the claim, as a column of the wrong type would: the
      -- library writes JSON; an exception block here would cost a subtransaction per row.)
      costs := r.cost::jsonb;
      -- Simple expressions only on the common path (plpgsql evaluates them without a query).
      usable := jsonb_typeof(costs) = 'object';
      if usable then
        need := array_fill(0::float8, array[cardinality(resources)]);
        for i in 1 .. cardinality(resources) loop
          if costs ? resources[i] then
            if jsonb_typeof(costs -> resources[i]) <> 'number' then usable := false; exit; end if;
            need[i] := (costs ->> resources[i])::float8;
          end if;
        end loop;
        -- Keys beyond the claimer's resources: fine if zero, else it never fits here.
        if usable and costs - resources <> '{}'::jsonb then
          usable := not exists (
            select 1 from jsonb_each(costs - resources) as e
            -- CASE: SQL does not promise to evaluate OR from the left, and the cast needs a number.
            where case when jsonb_typeof(e.value) <> 'number' then true else e.value::text::float8 <> 0 end);
        end if;
      end if;
      continue when not usable;
      fits := true;
      fits_here := true;
      for i in 1 .. cardinality(resources) loop
        if need[i] > room[i] then fits := false; end if;
        if whole is not null and need[i] > whole[i] then fits_here := false; end if;
      end loop;
      if fits then
        for i in 1 .. cardinality(resources) loop room[i] := room[i] - need[i]; end loop;
        taken := taken || r.id;
      elsif fits_here and extra < prefetch then
        -- Prefetch: it fits the claimer's capacity, so it waits in its lot, in order.
        extra := extra + 1;
        taken := taken || r.id;
      else
        passed := passed || r.id;
        -- Head-of-line stops here (unless this claimer can never run it); so does a reservation.
        -- A claimer that can never run it passes over it, reserved or not.
        exit when fits_here and (not backfill
          or (reserve_after_ms is not null and r.blocked_since is not null and r.blocked_since <= now_ms - reserve_after_ms));
      end if;
    end loop;
    update pl_queue_jobs set blocked_since = now_ms
    where queue_name = q and id = any(passed) and blocked_since is null;
    return query
      update pl_queue_jobs as j
      set attempt = j.attempt + 1, lease_owner = claimer, lease_expires_at = now_ms + lease_ms, not_before = null, blocked_since = null
      where j.queue_name = q and j.id = any(taken)
      returning j.*;
  end;
  $$;
  create table if not exists pl_queue_outcomes (
    queue_name text not null,
    task_id text not null,
    submitter text not null,
    status text not null,
    outcome text not null,
    ended_at double precision not null,
    primary key (queue_name, task_id)
  );
  create index if not exists pl_queue_outcomes_submitter on pl_queue_outcomes (queue_name, submitter);
  `,
  // 6 (release 0.4): a first claim cursor and row-by-row ack, superseded within the release by 7,
  // which restates all of it (create or replace, if not exists); a database that ran 6 gets 7 too.
  `select 1`,
  // 7 (release 0.4): claims and acks write each row where they found it (the claim's cursor; a
  // row id of its own for acks, renewals and releases), so those never walk the whole queue.
  // Right after a bulk submit, while rows churn faster than autovacuum runs, or after the queue
  // was analyzed empty, the statistics say nothing of its size: every equality then looks as
  // selective as any other, and a lookup by (queue_name, id) was planned on the claim index
  // (queue_name leads it too), or as a sequential scan: a walk over every row, once per row acked.
  `
  -- Only one index leads with rid, so a lookup by rid has one plan, whatever the statistics say.
  drop function if exists pl_ack_runs(text, text[], integer[], text);
  alter table pl_queue_jobs add column if not exists rid bigserial;
  create unique index if not exists pl_queue_jobs_rid on pl_queue_jobs (rid);
${claimFunction('plain')}
  create or replace function pl_ack_runs(rids bigint[], ids text[], attempts integer[], owner text)
  returns table (id text, submitter text) language plpgsql
  set enable_seqscan = off -- as in pl_claim_fitting: the rid index is always the way
  as $$
  declare
    i integer;
  begin
    for i in 1 .. coalesce(cardinality(rids), 0) loop
      return query
        delete from pl_queue_jobs as j
        where j.rid = rids[i] and j.id = ids[i] and j.attempt = attempts[i] and j.lease_owner = owner
        returning j.id, j.submitter;
    end loop;
  end;
  $$;
  `,
  // 8 (release 0.4): the pool's aging and fair share order the claim across machines: a row
  // keeps its insert time in database time, and a table keeps each tenant's usage.
  `
  alter table pl_queue_jobs add column if not exists enqueued_at double precision;
  -- A default, not a rewrite: rows of before keep null (their submitted_at stands in).
  alter table pl_queue_jobs alter column enqueued_at set default (extract(epoch from clock_timestamp()) * 1000);
  create table if not exists pl_tenant_usage (
    queue_name text not null,
    tenant text not null,
    usage double precision not null,
    -- Database time of its last charge or submit: a tenant touched lately is active.
    touched_at double precision not null,
    primary key (queue_name, tenant)
  );
  drop function if exists pl_claim_fitting(text, text[], float8[], float8[], text, float8, integer, integer, boolean, float8, integer);
${claimFunction('policy')}
  `,
]

/** Brings the schema up to date; safe to call from every store that opens the database. */
export async function migrate(client: SqlClient, migrations: readonly string[] = MIGRATIONS): Promise<void> {
  await client.exec('create table if not exists pl_schema_version (version integer primary key)')
  const { rows } = await client.query<{ version: number | null }>('select max(version) as version from pl_schema_version')
  const current = rows[0]?.version ?? 0
  for (let version = current + 1; version <= migrations.length; version++) {
    await client.transaction(async (tx) => {
      await tx.exec(migrations[version - 1]!)
      await tx.query('insert into pl_schema_version (version) values ($1) on conflict do nothing', [version])
    })
  }
}

/** The database's identity, made by migration 2: the same for every client of one database. */
export async function databaseIdentity(client: SqlTransaction): Promise<string> {
  const { rows } = await client.query<{ id: string }>('select id from pl_database_identity')
  const id = rows[0]?.id
  if (id === undefined) throw new Error('pl_database_identity is empty; the schema was not migrated')
  return id
}

/** Queue and mailbox names go into rows, never into SQL text; still, keep them tidy. */
export function checkName(name: string, what: string): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.:-]{1,128}$/.test(name)) {
    throw new InvalidOptionError(`Expected \`${what}\` to be 1-128 letters, digits or _ . : -, got ${JSON.stringify(name)}`, what)
  }
  return name
}
