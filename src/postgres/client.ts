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

/** Runs `fn` in a transaction on one connection of the pool; a connection that failed mid-way is discarded, not reused. */
export async function inTransaction<T>(pool: PgPool, fn: (tx: SqlTransaction) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  let broken: Error | undefined
  try {
    return await transactionOn(client, fn, (error) => (broken = error))
  } finally {
    client.release(broken)
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
  const client = await pool.connect()
  let broken: Error | undefined
  try {
    await client.query("select pg_advisory_lock(hashtext('prometheus-parking-lot:migrations'))")
    const single: SqlClient = { ...onConnection(client), transaction: (fn) => transactionOn(client, fn, (error) => (broken = error)) }
    await migrate(single, MIGRATIONS)
  } catch (error) {
    broken = error as Error
    throw error
  } finally {
    // Unlocked explicitly, or by closing the connection (a broken one, or one that fails to unlock).
    try {
      if (broken === undefined) await client.query("select pg_advisory_unlock(hashtext('prometheus-parking-lot:migrations'))")
    } catch (error) {
      broken = error as Error
    } finally {
      client.release(broken)
    }
  }
}
