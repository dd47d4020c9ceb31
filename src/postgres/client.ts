/*
 * A `pg` pool as the `SqlClient` the shared SQL modules take. Types only are imported from `pg`:
 * the caller passes its own pool (its connection settings, its size), and we never open one.
 */
import type { Pool, PoolClient } from 'pg'
import { refuse } from '../core/validate.js'
import { MIGRATIONS, migrate, type SqlClient, type SqlRows, type SqlTransaction } from '../sql/migrations.js'

/** What we use of a `pg.Pool`; a `pg.Pool` has it. */
export type PgPool = Pick<Pool, 'query' | 'connect'>

function onConnection(client: PoolClient): SqlTransaction {
  return {
    query: async <T>(sql: string, params?: unknown[]): Promise<SqlRows<T>> => {
      const result = await client.query(sql, params)
      return { rows: result.rows as T[] }
    },
    exec: (sql: string) => client.query(sql),
  }
}

/**
 * Runs `fn` in a transaction on `client`. A rollback that fails too is handed to `broken` (the
 * connection must not be reused); the transaction's own error is what throws.
 */
async function transactionOn<T>(client: PoolClient, fn: (tx: SqlTransaction) => Promise<T>, broken: (error: Error) => void): Promise<T> {
  await client.query('begin')
  try {
    const value = await fn(onConnection(client))
    await client.query('commit')
    return value
  } catch (error) {
    await client.query('rollback').catch((rollbackError: unknown) => broken(rollbackError as Error))
    throw error
  }
}

/**
 * Takes a connection from the pool with an `error` listener while it is out: pg emits `error` on
 * a checked-out connection that dies between queries (a terminated backend, a restart), and an
 * `error` nobody listens to ends the process. `release` gives it back, discarded if it broke.
 */
async function checkOut(pool: PgPool): Promise<{ client: PoolClient; broke(error: Error): void; release(): void }> {
  const client = await pool.connect()
  let broken: Error | undefined
  const broke = (error: Error): void => void (broken ??= error)
  client.on('error', broke)
  return {
    client,
    broke,
    release: () => {
      client.off('error', broke)
      client.release(broken)
    },
  }
}

/** Runs `fn` in a transaction on one connection of the pool; a connection that failed mid-way is discarded, not reused. */
export async function inTransaction<T>(pool: PgPool, fn: (tx: SqlTransaction) => Promise<T>): Promise<T> {
  const { client, broke, release } = await checkOut(pool)
  try {
    return await transactionOn(client, fn, broke)
  } finally {
    release()
  }
}

export function pgClient(pool: PgPool): SqlClient {
  if (typeof pool?.query !== 'function' || typeof pool.connect !== 'function') refuse('pool', 'a pg.Pool', pool)
  return {
    query: async <T>(sql: string, params?: unknown[]): Promise<SqlRows<T>> => {
      const result = await pool.query(sql, params)
      return { rows: result.rows as T[] }
    },
    exec: (sql: string) => pool.query(sql),
    transaction: (fn) => inTransaction(pool, fn),
  }
}

/**
 * Brings the schema up to date under a session advisory lock: processes that start together on
 * one database take turns (two `create table if not exists` at once can still collide in Postgres).
 */
export async function migratePostgres(pool: PgPool): Promise<void> {
  const { client, broke, release } = await checkOut(pool)
  let failed = false
  try {
    await client.query("select pg_advisory_lock(hashtext('prometheus-parking-lot:migrations'))")
    const single: SqlClient = { ...onConnection(client), transaction: (fn) => transactionOn(client, fn, broke) }
    await migrate(single, MIGRATIONS)
  } catch (error) {
    failed = true
    broke(error as Error)
    throw error
  } finally {
    // Unlocked explicitly, or by closing the connection (a broken one, or one that fails to unlock).
    try {
      if (!failed) await client.query("select pg_advisory_unlock(hashtext('prometheus-parking-lot:migrations'))")
    } catch (error) {
      broke(error as Error)
    } finally {
      release()
    }
  }
}
