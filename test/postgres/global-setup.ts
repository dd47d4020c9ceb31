// vitest globalSetup (node project): one throwaway cluster per run, unless PPL_POSTGRES_URL names one.
import type { TestProject } from 'vitest/node'
import pg from 'pg'
import { startCluster } from './cluster.js'

/** '' when the server at `url` can create the pgmq extension, else why not. */
async function pgmqOn(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query("select 1 from pg_available_extensions where name = 'pgmq'")
    return rows.length > 0 ? '' : `the server at PPL_POSTGRES_URL has no pgmq extension available`
  } finally {
    await client.end()
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string
    /** Why the cluster has no pgmq extension, or '' when it has. */
    pgmqMissing: string
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const given = process.env['PPL_POSTGRES_URL']
  if (given !== undefined) {
    project.provide('postgresUrl', given)
    project.provide('pgmqMissing', await pgmqOn(given))
    return () => undefined
  }
  const cluster = await startCluster()
  project.provide('postgresUrl', cluster.url)
  project.provide('pgmqMissing', cluster.pgmqMissing ?? '')
  return () => cluster.stop()
}
