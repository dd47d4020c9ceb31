// A fresh database on the run's cluster per test file, so files never see each other's rows.
import pg from 'pg'
import { inject } from 'vitest'

export function clusterUrl(): string {
  return inject('postgresUrl')
}

/** Creates a database with a unique name and answers its URL. */
export async function freshDatabase(label: string): Promise<string> {
  const name = `t_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${process.pid}_${Date.now().toString(36)}`
  const admin = new pg.Client({ connectionString: clusterUrl() })
  await admin.connect()
  try {
    await admin.query(`create database ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(clusterUrl())
  url.pathname = `/${name}`
  return url.toString()
}
