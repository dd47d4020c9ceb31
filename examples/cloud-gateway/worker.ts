/**
 * A worker process of the cloud gateway example: a pool of 2 "GPU" units on the shared Postgres
 * queue; each job costs 1 and streams its tokens (the words of the prompt) back to whoever
 * submitted it. Run by main.ts (twice), or: DATABASE_URL=... node --import tsx examples/cloud-gateway/worker.ts
 */
import pg from 'pg'
import { sharedPool } from './shared.js'

const url = process.env['DATABASE_URL']
if (url === undefined) throw new Error('Set DATABASE_URL to the Postgres the gateway uses')
const name = process.env['WORKER_NAME'] ?? `worker-${process.pid}`
const connections = new pg.Pool({ connectionString: url, max: 4 })

const pool = sharedPool(connections, name, { gpu: 2 }, async (job, ctx) => {
  const tokens = job.prompt.split(/\s+/).filter((word) => word !== '')
  for (const token of tokens) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, job.tokenMs)
      ctx.signal.addEventListener('abort', () => (clearTimeout(timer), reject(ctx.signal.reason as Error)), { once: true })
    })
    ctx.emit(token)
  }
  return `${name} says: ${tokens.join(' ')}`
})

await pool.ready
console.log(`${name} ready`)

const stop = async (): Promise<void> => {
  await pool.close()
  await connections.end()
  process.exit(0)
}
process.once('SIGTERM', () => void stop())
process.once('SIGINT', () => void stop())
