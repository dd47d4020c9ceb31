// The demo page: connects to the shared pool, lends this tab's workers (which load the models),
// and shows the budget (what loaded models hold apart from what requests hold), a timeline of
// used units, model loads and evictions, this tab's jobs with their streamed text, and the mailbox.
import { BroadcastNotifier, type MailboxMessage, type PoolSnapshot, type Priority, type TaskHandle } from '../src/index.js'
import { connectSharedPool, detectCapacity, trackConnectivity, type SharedPool } from '../src/worker.js'
import { COSTS, MODELS, NETWORK_UNITS, POOL, USER, VRAM_UNITS, type Job, type JobResult, type ModelId, type PromptJob } from './config.js'
import { demoHost } from './hosting.js'
import { Timeline } from './timeline.js'

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T

const device = await detectCapacity()
$('device').textContent =
  `CPU: ${device.cpu.hardwareConcurrency} cores` +
  (device.cpu.deviceMemoryGiB === undefined ? '' : `, ~${device.cpu.deviceMemoryGiB} GiB`) +
  ` · this tab lends ${device.cpu.suggestedWorkers} worker(s) · ` +
  (device.gpu.available
    ? `GPU: ${device.gpu.info.architecture || device.gpu.info.vendor || 'WebGPU adapter'}${device.gpu.isFallbackAdapter ? ' (software fallback)' : ''}, largest buffer ${Math.round(device.gpu.maxBufferSize / 2 ** 20)} MiB`
    : device.gpu.reason)

// A build (`npm start`) works offline after one visit: its service worker precaches the app.
if (__PPL_SERVICE_WORKER__ && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((error: unknown) => console.error('The service worker did not register', error))
} else if ('serviceWorker' in navigator) {
  // The dev server: a build's service worker left on this origin would serve its stale files.
  for (const registration of await navigator.serviceWorker.getRegistrations()) await registration.unregister()
}

// `?mode=leader`: the tabs elect one of them to host the pool (as where SharedWorker is missing).
const mode = new URLSearchParams(location.search).get('mode') === 'leader' ? 'leader' : 'auto'
const pool: SharedPool<Job, JobResult> = await connectSharedPool<Job, JobResult>('demo/host.ts', POOL, {
  mode,
  createHost: demoHost,
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

// ─── Capacity: resident models apart from requests, and a timeline ─────────

const rows = new Map<string, Row>()
const timeline = new Timeline($('timeline'), VRAM_UNITS)
/** The last snapshot's units, split: the timeline repeats it while nothing changes. */
let last: Units | undefined

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
  const units = unitsOf(snapshot)
  last = units
  const { resident, residentTotal, requests } = units
  const capacity = Math.max(snapshot.capacity['vram'] ?? VRAM_UNITS, 1)
  const segments = [...resident].map(([model, units]) => segment(`resident model-${model}`, units, capacity, `${model} ${units}`))
  segments.push(segment('requests', requests, capacity, requests > 0 ? `requests ${requests}` : ''))
  $('vram-stack').replaceChildren(...segments)
  $('vram-split').textContent =
    `loaded models hold ${residentTotal}` +
    (resident.size === 0 ? '' : ` (${[...resident].map(([m, u]) => `${m} ${u}`).join(', ')})`) +
    ` · requests hold ${requests}`
  $('models-list').replaceChildren(
    ...snapshot.models.map((instance) => {
      const item = document.createElement('li')
      item.dataset['instance'] = instance.instance
      item.textContent = `${instance.instance}: ${instance.state}, ${instance.cost['vram'] ?? 0} units, ${instance.running} running`
      return item
    }),
  )
  if (snapshot.models.length === 0) $('models-list').textContent = 'No model is loaded.'
  timeline.add(Date.now(), resident, requests)
  $('lot-text').textContent = `${snapshot.running} running · ${snapshot.parkedTotal} parked · ${snapshot.retrying} waiting to retry`
  for (const row of rows.values()) row.refresh()
}

interface Units {
  /** VRAM each loaded model holds, by model. */
  readonly resident: ReadonlyMap<string, number>
  readonly residentTotal: number
  /** VRAM the running requests hold on top. */
  readonly requests: number
}

function unitsOf(snapshot: PoolSnapshot): Units {
  const resident = new Map<string, number>()
  let residentTotal = 0
  for (const instance of snapshot.models) {
    const units = instance.cost['vram'] ?? 0
    resident.set(instance.model, (resident.get(instance.model) ?? 0) + units)
    residentTotal += units
  }
  return { resident, residentTotal, requests: (snapshot.used['vram'] ?? 0) - residentTotal }
}

function segment(className: string, units: number, capacity: number, text: string): HTMLElement {
  const element = document.createElement('span')
  element.className = `segment ${className}`
  element.style.width = `${(100 * Math.max(units, 0)) / capacity}%`
  element.textContent = text
  element.title = text
  return element
}

pool.on('snapshot', showSnapshot)
showSnapshot(await pool.snapshot())
// The timeline moves on while nothing changes.
setInterval(() => last !== undefined && timeline.add(Date.now(), last.resident, last.requests), 1_000)

// ─── Model loads and evictions, from every tab ─────────────────────────────

function logModel(text: string): void {
  const item = document.createElement('li')
  item.textContent = `${new Date().toLocaleTimeString()} · ${text}`
  $('model-log').prepend(item)
  while ($('model-log').childElementCount > 30) $('model-log').lastElementChild!.remove()
}
pool.on('loading', ({ instance }) => logModel(`${instance} loading`))
pool.on('loaded', ({ instance, loadMs }) => logModel(`${instance} loaded in ${Math.round(loadMs)} ms`))
pool.on('unloaded', ({ instance, reason, error }) =>
  logModel(`${instance} ${reason === 'idle' ? 'unloaded (idle)' : reason}${error ? `: ${error.message}` : ''}`),
)

// ─── This tab's jobs (kept across reloads of the tab) ──────────────────────

/** This tab's submitted jobs, in sessionStorage: a reload shows those still parked or running. */
const SAVED = 'ppl-demo:jobs'
const COUNTER = 'ppl-demo:counter'

function saved(): { id: string; job: Job }[] {
  try {
    return JSON.parse(sessionStorage.getItem(SAVED) ?? '[]') as { id: string; job: Job }[]
  } catch {
    return [] // a malformed entry (edited by hand) shows nothing rather than breaking the page
  }
}

function remember(id: string, job: Job): void {
  sessionStorage.setItem(SAVED, JSON.stringify([...saved().slice(-99), { id, job }]))
}

/** Labels stay unique across reloads: the counter lives in the tab's sessionStorage. */
function nextLabel(what: string): string {
  const n = Number(sessionStorage.getItem(COUNTER) ?? '0') + 1
  sessionStorage.setItem(COUNTER, String(n))
  return `${what} ${n} (tab ${pool.session.slice(0, 4)})`
}

class Row {
  readonly element = document.createElement('tr')
  readonly #status = document.createElement('td')
  readonly #output = document.createElement('td')
  readonly #cancel = document.createElement('button')
  #text = ''
  #pieces = 0

  constructor(
    readonly task: TaskHandle<JobResult>,
    readonly job: Job,
  ) {
    this.element.dataset['taskId'] = task.id
    const cost = Object.entries(task.cost)
      .filter(([name]) => name === 'vram')
      .map(([, units]) => `${units} units`)
    const what = job.kind === 'prompt' ? `${job.model}: “${job.prompt}”` : 'compute'
    const cells = [job.label, what, cost.join(''), String(task.priority)].map((text) => {
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
    const progress = this.job.kind === 'prompt' && status === 'running' ? ` ${this.#pieces}/${this.job.maxTokens} tokens` : ''
    this.#status.textContent =
      status === 'parked' && position !== undefined
        ? `parked, #${position + 1} in line`
        : attempt > 1
          ? `${status} (attempt ${attempt})${progress}`
          : `${status}${progress}`
    this.#cancel.disabled = !['parked', 'running', 'retrying'].includes(status)
  }

  async #follow(): Promise<void> {
    for await (const chunk of this.task.progress) {
      if (this.job.kind === 'prompt') {
        this.#text += String(chunk)
        this.#pieces++
        this.#output.textContent = this.#text
      } else {
        this.#output.textContent = String(chunk)
      }
      this.refresh()
    }
    try {
      const result = await this.task.result
      this.#output.textContent = typeof result === 'string' ? result : `done on ${result.backend}, checksum ${result.checksum}`
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      // A prompt keeps what it streamed before it ended (a cancel, a failure).
      this.#output.textContent = this.#text === '' ? message : `${this.#text} [${message}]`
    }
    this.refresh()
  }
}

function show(task: TaskHandle<JobResult>, job: Job): void {
  const row = new Row(task, job)
  rows.set(task.id, row)
  $('tasks').prepend(row.element)
}

async function submit(job: Job, options: Parameters<SharedPool<Job, JobResult>['submit']>[1]): Promise<void> {
  try {
    const task = await pool.submit(job, options)
    remember(task.id, job)
    show(task, job)
    $('submit-status').textContent = `Accepted ${job.label}.`
  } catch (error) {
    $('submit-status').textContent = `Refused: ${error instanceof Error ? error.message : String(error)}`
  }
}

const priority = (id: string): Priority => ($(id) as HTMLSelectElement).value as Priority
const waitMs = (id: string): number | undefined => {
  const wait = ($(id) as HTMLInputElement).value
  return wait === '' ? undefined : Number(wait) * 1000
}

const modelSelect = $<HTMLSelectElement>('model')
for (const [id, model] of Object.entries(MODELS)) {
  const option = document.createElement('option')
  option.value = id
  option.textContent = `${model.label}: ${COSTS[id as ModelId].modelUnits()} units loaded`
  modelSelect.append(option)
}

$('prompt-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const model = modelSelect.value as ModelId
  const prompt = ($('prompt') as HTMLInputElement).value
  const maxTokens = Number(($('max-tokens') as HTMLInputElement).value)
  const job: PromptJob = { kind: 'prompt', model, prompt, maxTokens, label: nextLabel('prompt') }
  // The request's own units: its KV cache at its longest (one token per character here, at most).
  const cost = COSTS[model].cost({ promptTokens: prompt.length + 1, maxTokens })
  void submit(job, { handler: 'generate', model, cost, priority: priority('prompt-priority'), waitTimeoutMs: waitMs('prompt-wait') })
})

$('submit-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const units = Number(($('cost') as HTMLInputElement).value)
  const steps = Number(($('steps') as HTMLInputElement).value)
  const job: Job = { kind: 'compute', units, steps, label: nextLabel('job') }
  void submit(job, { cost: { vram: units }, priority: priority('priority'), handler: 'job', waitTimeoutMs: waitMs('wait') })
})

// A reloaded tab shows its session's jobs that are still parked or running.
for (const { id, job } of saved()) {
  const task = await pool.get(id)
  if (task !== undefined && !rows.has(id)) show(task, job)
}

// ─── Mailbox: live in every tab ────────────────────────────────────────────

async function refreshMailbox(): Promise<void> {
  const { messages } = await pool.mailbox.fetch({ tenant: location.origin, user: USER }, { limit: 1000 })
  $('mailbox').replaceChildren(...messages.slice(-50).reverse().map(mailboxItem))
}

function mailboxItem(message: MailboxMessage<JobResult>): HTMLLIElement {
  const item = document.createElement('li')
  item.dataset['taskId'] = message.taskId
  const when = new Date(message.completedAt).toLocaleTimeString()
  const result = message.result
  const what =
    message.status !== 'completed'
      ? `${message.status}: ${message.error?.message ?? ''}`
      : typeof result === 'string'
        ? `“${result}”`
        : `${result?.label}: done on ${result?.backend}`
  const mine = message.key.session === pool.session ? 'this tab' : 'another or a closed tab'
  item.textContent = `${when} · ${what} · attempts ${message.attempts} · from ${mine}`
  return item
}

// Every result stored by the host is announced to every tab: the list follows without a click.
BroadcastNotifier.listen({ tenant: location.origin, user: USER }, () => void refreshMailbox())
$('mailbox-refresh').addEventListener('click', () => void refreshMailbox())
await refreshMailbox()

// ─── Network tasks: sync results to the server, parked while offline ──────

const syncTasks = new Map<string, TaskHandle<JobResult>>()
let network: number | undefined

function showNetwork(capacity = network): void {
  network = capacity
  $('network-state').textContent = capacity === undefined ? 'unknown' : capacity > 0 ? `online (${capacity} at once)` : 'offline'
  const counts = { parked: 0, running: 0, completed: 0, other: 0 }
  for (const task of syncTasks.values()) {
    if (task.status === 'parked' || task.status === 'running' || task.status === 'completed') counts[task.status]++
    else counts.other++
  }
  $('sync-state').textContent =
    syncTasks.size === 0
      ? 'no sync tasks yet'
      : `${counts.parked} parked · ${counts.running} sending · ${counts.completed} synced` +
        (counts.other > 0 ? ` · ${counts.other} ended otherwise` : '')
}
pool.on('snapshot', (snapshot) => showNetwork(snapshot.capacity['network']))

trackConnectivity(pool, {
  units: NETWORK_UNITS,
  probeUrl: '/api/health',
  onError: (error) => console.error('Connectivity tracking failed', error),
})

$('sync-all').addEventListener('click', () => {
  void (async () => {
    const { messages } = await pool.mailbox.fetch({ tenant: location.origin, user: USER }, { limit: 1000 })
    for (const message of messages) {
      if (typeof message.result === 'string' && message.result.startsWith('synced ')) continue // a sync's own result
      const priority: Priority = message.status === 'completed' ? 'normal' : 'high'
      const job: Job = { kind: 'sync', id: message.id, priority, label: nextLabel('sync') }
      // The key makes a second click send nothing twice.
      const task = await pool.submit(job, { handler: 'sync', cost: { network: 1 }, priority, key: `sync:${message.id}` })
      syncTasks.set(task.id, task)
      // How each ended shows in the counts (and in the mailbox).
      task.result.then(
        () => showNetwork(),
        () => showNetwork(),
      )
    }
    showNetwork((await pool.snapshot()).capacity['network'])
  })()
})

// For the end-to-end tests (and curious users in devtools).
;(window as unknown as { demo: unknown }).demo = { pool, rows }
document.body.dataset['ready'] = 'true'
