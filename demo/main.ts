// The demo page: connects to the shared pool, lends this tab's workers, and shows the budget,
// this tab's jobs and the mailbox.
import type { MailboxMessage, PoolSnapshot, Priority, TaskHandle } from '../src/index.js'
import { connectSharedPool, detectCapacity, type SharedPool } from '../src/worker.js'
import { POOL, USER, VRAM_UNITS, type Job, type JobResult } from './config.js'

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T

const device = await detectCapacity()
$('device').textContent =
  `CPU: ${device.cpu.hardwareConcurrency} cores` +
  (device.cpu.deviceMemoryGiB === undefined ? '' : `, ~${device.cpu.deviceMemoryGiB} GiB`) +
  ` · this tab lends ${device.cpu.suggestedWorkers} worker(s) · ` +
  (device.gpu.available
    ? `GPU: ${device.gpu.info.architecture || device.gpu.info.vendor || 'WebGPU adapter'}${device.gpu.isFallbackAdapter ? ' (software fallback)' : ''}, largest buffer ${Math.round(device.gpu.maxBufferSize / 2 ** 20)} MiB`
    : device.gpu.reason)

const pool: SharedPool<Job, JobResult> = await connectSharedPool<Job, JobResult>('demo/host.ts', POOL, {
  // Written out so that Vite bundles the SharedWorker in `npm run demo:build`.
  createWorker: () => new SharedWorker(new URL('./host.ts', import.meta.url), { type: 'module', name: 'prometheus-parking-lot-demo' }),
  user: USER,
  workers: {
    create: () => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'demo-job' }),
    size: device.cpu.suggestedWorkers,
    abortGraceMs: 2_000,
  },
})
;($('cost') as HTMLInputElement).max = String(VRAM_UNITS)

// ─── Capacity ──────────────────────────────────────────────────────────────

// This tab's jobs by task id (rows are made below).
const rows = new Map<string, { refresh(): void }>()

function showSnapshot(snapshot: PoolSnapshot): void {
  const meter = (name: string) => {
    const capacity = snapshot.capacity[name] ?? 0
    const used = snapshot.used[name] ?? 0
    const bar = $<HTMLProgressElement>(`${name}-bar`)
    bar.max = Math.max(capacity, 1)
    bar.value = used
    $(`${name}-text`).textContent = `${used} / ${capacity}`
  }
  meter('vram')
  meter('workers')
  $('lot-text').textContent = `${snapshot.running} running · ${snapshot.parkedTotal} parked · ${snapshot.retrying} waiting to retry`
  for (const row of rows.values()) row.refresh()
}
pool.on('snapshot', showSnapshot)
showSnapshot(await pool.snapshot())

// ─── This tab's jobs ───────────────────────────────────────────────────────

class Row {
  readonly element = document.createElement('tr')
  readonly #status = document.createElement('td')
  readonly #output = document.createElement('td')
  readonly #cancel = document.createElement('button')

  constructor(
    readonly task: TaskHandle<JobResult>,
    job: Job,
  ) {
    this.element.dataset['taskId'] = task.id
    const cells = [job.label, `${job.units} units`, task.priority].map((text) => {
      const cell = document.createElement('td')
      cell.textContent = text
      return cell
    })
    this.#output.className = 'output'
    this.#cancel.type = 'button'
    this.#cancel.textContent = 'Cancel'
    this.#cancel.setAttribute('aria-label', `Cancel ${job.label}`)
    this.#cancel.addEventListener('click', () => task.cancel('cancelled from the page'))
    const actions = document.createElement('td')
    actions.append(this.#cancel)
    this.element.append(...cells, this.#status, this.#output, actions)
    this.refresh()
    void this.#follow()
  }

  refresh(): void {
    const { status, position, attempt } = this.task
    this.#status.className = `status-${status}`
    this.#status.textContent =
      status === 'parked' && position !== undefined
        ? `parked, #${position + 1} in line`
        : attempt > 1
          ? `${status} (attempt ${attempt})`
          : status
    this.#cancel.disabled = !['parked', 'running', 'retrying'].includes(status)
  }

  async #follow(): Promise<void> {
    for await (const chunk of this.task.progress) {
      this.#output.textContent = String(chunk)
      this.refresh()
    }
    try {
      const result = await this.task.result
      this.#output.textContent = `done on ${result.backend}, checksum ${result.checksum}`
    } catch (error) {
      this.#output.textContent = error instanceof Error ? error.message : String(error)
    }
    this.refresh()
    void refreshMailbox()
  }
}

let counter = 0

$('submit-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const units = Number(($('cost') as HTMLInputElement).value)
  const steps = Number(($('steps') as HTMLInputElement).value)
  const priority = ($('priority') as HTMLSelectElement).value as Priority
  const wait = ($('wait') as HTMLInputElement).value
  const job: Job = { units, steps, label: `job ${++counter} (tab ${pool.session.slice(0, 4)})` }
  pool
    .submit(job, { cost: { vram: units }, priority, handler: 'job', waitTimeoutMs: wait === '' ? undefined : Number(wait) * 1000 })
    .then((task) => {
      const row = new Row(task, job)
      rows.set(task.id, row)
      $('tasks').prepend(row.element)
      $('submit-status').textContent = `Accepted ${job.label}.`
    })
    .catch((error: unknown) => {
      $('submit-status').textContent = `Refused: ${error instanceof Error ? error.message : String(error)}`
    })
})

// ─── Mailbox ───────────────────────────────────────────────────────────────

async function refreshMailbox(): Promise<void> {
  const { messages } = await pool.mailbox.fetch({ tenant: location.origin, user: USER }, { limit: 1000 })
  const list = $('mailbox')
  list.replaceChildren(...messages.slice(-50).reverse().map(mailboxItem))
}

function mailboxItem(message: MailboxMessage<JobResult>): HTMLLIElement {
  const item = document.createElement('li')
  item.dataset['taskId'] = message.taskId
  const when = new Date(message.completedAt).toLocaleTimeString()
  const what =
    message.status === 'completed'
      ? `${message.result?.label}: done on ${message.result?.backend}`
      : `${message.status}: ${message.error?.message ?? ''}`
  const mine = message.key.session === pool.session ? 'this tab' : 'another or a closed tab'
  item.textContent = `${when} · ${what} · attempts ${message.attempts} · from ${mine}`
  return item
}

$('mailbox-refresh').addEventListener('click', () => void refreshMailbox())
await refreshMailbox()

// For the end-to-end tests (and curious users in devtools).
;(window as unknown as { demo: unknown }).demo = { pool, rows }
document.body.dataset['ready'] = 'true'
