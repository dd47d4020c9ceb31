import { ResourcePool } from '../src/index.js'
import { describePoolConformance, jobRunner, type Job } from './conformance/pool.js'

describePoolConformance('ResourcePool', async () => {
  const runner = jobRunner()
  const pool = new ResourcePool<Job, string, string>({ name: 'p', capacity: 2, maxQueueDepth: 2, executor: runner.execute })
  return {
    pool,
    release: runner.release,
    dispose: () => {
      runner.releaseAll()
      return pool.close()
    },
  }
})
