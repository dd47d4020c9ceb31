// The Pool contract in Chromium: a ResourcePool in the page, and a SharedPool whose host runs in
// this page behind a MessagePort (the same SharedPool code a SharedWorker host serves).
import { ResourcePool } from '../src/index.js'
import { SharedPoolHost, connectSharedPool } from '../src/worker.js'
import { describePoolConformance, jobRunner, type Job } from './conformance/pool.js'

describePoolConformance('ResourcePool (Chromium)', async () => {
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

describePoolConformance('SharedPool (host behind a MessagePort)', async () => {
  const runner = jobRunner()
  const host = new SharedPoolHost({ tenant: 'test' })
  host.addPool('p', { capacity: 2, maxQueueDepth: 2, executor: runner.execute })
  const channel = new MessageChannel()
  host.connect(channel.port1)
  const pool = await connectSharedPool<Job, string, string>('unused', 'p', { port: channel.port2 })
  return {
    pool,
    release: runner.release,
    dispose: async () => {
      runner.releaseAll()
      await pool.close()
      await host.close()
    },
  }
})
