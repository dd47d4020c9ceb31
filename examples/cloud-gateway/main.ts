/**
 * The cloud gateway example: the gateway (gateway.ts) and two worker processes (worker.ts) on
 * one Postgres queue. Postgres: DATABASE_URL, else a throwaway cluster from Debian's
 * postgresql-15 started for the run. Run: npm run example:gateway, then try
 *
 *   curl -N -X POST localhost:8080/generate -d '{"prompt":"hello from the queue","tenant":"acme","user":"ann"}'
 *   curl 'localhost:8080/mailbox?tenant=acme&user=ann'
 *   curl localhost:8080/metrics
 */
import { spawn, type ChildProcess } from 'node:child_process'
import pg from 'pg'
import { startCluster, type Cluster } from '../../test/postgres/cluster.js'
import { startGateway } from './gateway.js'

let cluster: Cluster | undefined
let url = process.env['DATABASE_URL']
if (url === undefined) {
  cluster = await startCluster()
  url = cluster.url
  console.log(`started a throwaway Postgres at ${url} (DATABASE_URL to use yours)`)
}

const workers: ChildProcess[] = ['worker-1', 'worker-2'].map((name) =>
  spawn(process.execPath, ['--import', 'tsx', new URL('./worker.ts', import.meta.url).pathname], {
    env: { ...process.env, DATABASE_URL: url, WORKER_NAME: name },
    stdio: 'inherit',
  }),
)
const connections = new pg.Pool({ connectionString: url, max: 6 })
const gateway = await startGateway(connections, { port: Number(process.env['PORT'] ?? 8080) })
console.log(`gateway on ${gateway.url}: POST /generate, GET /mailbox, POST /mailbox/ack, GET /metrics (Ctrl-C stops)`)

const stop = (): void => {
  void (async () => {
    await gateway.close()
    await connections.end()
    for (const worker of workers) worker.kill('SIGTERM')
    await Promise.all(workers.map((worker) => new Promise((resolve) => worker.once('exit', resolve))))
    cluster?.stop()
    process.exit(0)
  })().catch((error: unknown) => {
    console.error('stopping the gateway failed:', error)
    process.exit(1)
  })
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
