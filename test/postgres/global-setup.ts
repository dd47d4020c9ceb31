// vitest globalSetup (node project): one throwaway cluster per run, unless PPL_POSTGRES_URL names one.
import type { TestProject } from 'vitest/node'
import { startCluster } from './cluster.js'

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const given = process.env['PPL_POSTGRES_URL']
  if (given !== undefined) {
    project.provide('postgresUrl', given)
    return () => undefined
  }
  const cluster = await startCluster()
  project.provide('postgresUrl', cluster.url)
  return () => cluster.stop()
}
