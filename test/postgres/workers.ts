// Starts worker processes (worker-process.ts) on a shared queue and keeps what they print.
import { spawn, type ChildProcess } from 'node:child_process'
import pg from 'pg'

export interface WorkerProcess {
  readonly name: string
  readonly child: ChildProcess
  /** Resolves once its pool is ready; rejects if it exits first. */
  readonly ready: Promise<void>
  /** Resolves with its exit code (or signal) when it exits. */
  readonly exited: Promise<number | string>
  /** What it printed so far (stdout and stderr). */
  output(): string
}

export interface WorkerSettings {
  readonly url: string
  readonly queue: string
  readonly capacity: Record<string, number>
  readonly leaseMs: number
  /** Its pg.Pool's size. @default 6 */
  readonly pgMax?: number
}

const script = new URL('./worker-process.ts', import.meta.url).pathname

export function startWorker(name: string, settings: WorkerSettings): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: {
      ...process.env,
      PPL_WORKER: name,
      PPL_URL: settings.url,
      PPL_QUEUE: settings.queue,
      PPL_CAPACITY: JSON.stringify(settings.capacity),
      PPL_LEASE_MS: String(settings.leaseMs),
      PPL_PG_MAX: String(settings.pgMax ?? 6),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')))
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('ready\n')) resolve()
    })
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    void exited.then((code) => reject(new Error(`worker ${name} exited (${code}) before it was ready:\n${output}`)))
  })
  return { name, child, ready, exited, output: () => output }
}

/** Stops a worker with SIGTERM (its pool closes) and answers its exit code. */
export async function stopWorker(worker: WorkerProcess): Promise<number | string> {
  if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGTERM')
  return worker.exited
}

/** The table the workers record every run in. */
export async function createRunsTable(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(
      'create table if not exists runs (task_id text not null, attempt int not null, worker text not null, pid int not null, started_at timestamptz not null default clock_timestamp())',
    )
  } finally {
    await client.end()
  }
}
