/**
 * A tour of the parking lot in the terminal: a 20-unit "GPU", jobs that cost VRAM, parking and
 * waking, priorities, a wait limit expiring, a failure and its retry, and a caller that went away
 * picking its result up from the mailbox later. Run: npm run example
 */
import { ResourcePool, TaskExpiredError, type TaskContext } from '../src/index.js'

interface Job {
  readonly name: string
  readonly ms: number
  readonly flaky?: boolean
}

const started = Date.now()
const t = (): string => `${String(Date.now() - started).padStart(5)} ms`
const log = (line: string): void => console.log(`${t()}  ${line}`)
const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true })
  })

const flakyFailures = new Set<string>()

async function generate(job: Job, ctx: TaskContext): Promise<string> {
  for (const word of ['tokens', 'for', job.name]) {
    await sleep(job.ms / 3, ctx.signal)
    ctx.emit(word)
  }
  if (job.flaky === true && !flakyFailures.has(job.name)) {
    flakyFailures.add(job.name)
    throw new Error('GPU device lost (simulated)')
  }
  return `answer to ${job.name} (attempt ${ctx.attempt})`
}

const pool = new ResourcePool<Job, string>({
  name: 'gpu',
  capacity: { vram: 20 },
  executor: generate,
  maxAttempts: 2,
  retryBaseDelayMs: 200,
})
pool.on('parked', ({ task }) =>
  log(`parked   ${(task.key ?? task.id).padEnd(12)} ${JSON.stringify(task.cost)} ${task.priority}, position ${task.position}`),
)
pool.on('started', ({ task, attempt }) =>
  log(`started  ${(task.key ?? task.id).padEnd(12)} attempt ${attempt}; in use ${pool.snapshot().used['vram']}/20`),
)
pool.on('retrying', ({ task, delayMs, error }) =>
  log(`retrying ${(task.key ?? task.id).padEnd(12)} in ${Math.round(delayMs)} ms: ${(error as Error).message}`),
)
pool.on('expired', ({ task }) => log(`expired  ${(task.key ?? task.id).padEnd(12)}: waited past its limit, never ran`))
pool.on('completed', ({ task, result }) => log(`done     ${(task.key ?? task.id).padEnd(12)}: ${result}`))

const inbox = { tenant: 'acme', user: 'ada', session: 'tab-1' }
// The job name doubles as the idempotency key, so events can show it.
const submit = (job: Job, options: Parameters<typeof pool.submit>[1]) => pool.submit(job, { ...options, key: job.name })

log('A 12-unit model load and an 8-unit one fill the 20-unit GPU; the rest park.')
const big = await submit({ name: 'llama-8b', ms: 600 }, { cost: { vram: 12 }, mailbox: inbox })
await submit({ name: 'phi-3', ms: 900, flaky: true }, { cost: { vram: 8 }, mailbox: inbox })
const normal = await submit({ name: 'summary', ms: 300 }, { cost: { vram: 6 }, mailbox: inbox })
await submit({ name: 'urgent-chat', ms: 300 }, { cost: { vram: 6 }, priority: 'critical', mailbox: inbox })
const impatient = await submit({ name: 'autocomplete', ms: 100 }, { cost: { vram: 16 }, waitTimeoutMs: 400 })
impatient.result.catch((error: unknown) => {
  if (!(error instanceof TaskExpiredError)) throw error
})

log('The caller of "summary" closes its tab: nobody awaits that result now.')
void normal

const stream: string[] = []
for await (const chunk of big.progress) stream.push(String(chunk))
log(`streamed from llama-8b: ${stream.join(' ')}`)

await pool.onIdle()
log('Later, the user comes back and reads the mailbox:')
const { messages } = await pool.mailbox.fetch({ tenant: 'acme', user: 'ada' })
for (const message of messages) {
  const what = message.status === 'completed' ? String(message.result) : message.error?.message
  console.log(`         ${message.status.padEnd(9)} after ${message.attempts} attempt(s): ${what}`)
}
const stats = pool.stats()
console.log(`\nWait p50 ${stats.wait.p50} ms, run p50 ${stats.run.p50} ms; outcomes ${JSON.stringify(stats.outcomes)}`)
await pool.close()
