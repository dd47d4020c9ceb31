// vitest globalSetup (node project): one throwaway cluster per run, unless PPL_POSTGRES_URL names one.
import type { TestProject } from 'vitest/node'
import { startCluster } from './cluster.js'

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
    project.provide('pgmqMissing', '')
    return () => undefined
  }
  const cluster = await startCluster()
  project.provide('postgresUrl', cluster.url)
  project.provide('pgmqMissing', cluster.pgmqMissing ?? '')
  return () => cluster.stop()
}
