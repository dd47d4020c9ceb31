/**
 * Randomized model check: for every combination of the policies, seeded random workloads run on a
 * ResourcePool (ManualClock) and on a small, slow reference model written here from the rules in
 * docs/semantics.md. The model keeps plain arrays and re-sorts every parked task at every decision;
 * it shares no code with the pool. Checked: the same starts at the same times, used never above
 * capacity at a start, and every accepted task ends in exactly one terminal status (the same one).
 */
import { describe, expect, it } from 'vitest'
import { ManualClock, QueueFullError, ResourcePool, type Priority, type TaskHandle } from '../src/index.js'
import { mulberry32 } from './random.js'

const SEEDS = Number(process.env['MODEL_SEEDS'] ?? 500)
const RANKS: Priority[] = ['low', 'normal', 'high', 'critical']
const EPS = 1e-6
const FIT_EPS = 1e-9

interface Policy {
  backfill: boolean
  aging: boolean
  fairShare: boolean
  onFull: 'reject' | 'drop-lowest'
}

interface Job {
  index: number
  at: number
  cost: { a: number; b: number }
  /** Units drawn from the workload's rate `r` at each start (0 without one). */
  draw: number
  rank: number
  tenant: string
  waitTimeoutMs: number | undefined
  duration: number
  fails: boolean
  cancelAt: number | undefined
}

interface Workload {
  capacity: { a: number; b: number }
  maxQueueDepth: number
  headReserveAfterMs: number
  agingMs: number
  jobs: Job[]
  capacityChanges: { at: number; capacity: { a: number; b: number } }[]
  /** A rate `r` (draws come back `intervalMs` after each start), in half the workloads. */
  rate: { limit: number; intervalMs: number } | undefined
}

function makeWorkload(seed: number): Workload {
  const rand = mulberry32(seed)
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1))
  const jobs: Job[] = []
  let t = 0
  const count = int(8, 24)
  const rate = rand() < 0.5 ? { limit: int(1, 4), intervalMs: 1 + rand() * 6 } : undefined
  for (let i = 0; i < count; i++) {
    t += rand() * 3
    const cost = { a: int(0, 4), b: int(0, 3) }
    if (cost.a + cost.b === 0) cost.a = 1
    jobs.push({
      index: i,
      at: t,
      cost,
      draw: rate === undefined ? 0 : int(0, rate.limit),
      rank: int(0, 3),
      tenant: `t${int(0, 2)}`,
      waitTimeoutMs: rand() < 0.3 ? 0.5 + rand() * 8 : undefined,
      duration: 0.2 + rand() * 6,
      fails: rand() < 0.15,
      cancelAt: rand() < 0.12 ? t + rand() * 6 : undefined,
    })
  }
  const capacityChanges = Array.from({ length: int(0, 3) }, () => ({
    at: rand() * t,
    capacity: { a: int(4, 10), b: int(3, 6) },
  })).sort((x, y) => x.at - y.at)
  return {
    capacity: { a: int(4, 10), b: int(3, 6) },
    maxQueueDepth: int(2, 12),
    headReserveAfterMs: rand() * 5,
    agingMs: 1 + rand() * 4,
    jobs,
    capacityChanges,
    rate,
  }
}

type Terminal = 'completed' | 'failed' | 'expired' | 'dropped' | 'cancelled'

interface Outcome {
  starts: string[]
  terminal: Map<number, Terminal>
  refused: Set<number>
  oversubscribed: string[]
}

// ─── The reference model ─────────────────────────────────────────────────────

interface ModelTask {
  job: Job
  seq: number
  enqueuedAt: number
  deadline: number | undefined
  state: 'parked' | 'running' | 'done'
}

interface ModelRun {
  task: ModelTask
  start: number
  end: number
  share: number
  live: boolean // false once cancelled: holds capacity until `end`
}

function runModel(w: Workload, policy: Policy): Outcome {
  const out: Outcome = { starts: [], terminal: new Map(), refused: new Set(), oversubscribed: [] }
  let capacity = { ...w.capacity }
  const used = { a: 0, b: 0 }
  const parked: ModelTask[] = []
  const runs: ModelRun[] = []
  const tasks = new Map<number, ModelTask>()
  const charged = new Map<string, number>()
  const active = new Map<string, number>()
  let headTask: ModelTask | undefined
  let headSince = 0
  let seq = 0
  // Draws of the rate still in the window: each comes back at `at`.
  const draws: { at: number; units: number }[] = []
  const drawn = (): number => draws.reduce((sum, d) => sum + d.units, 0)

  const usage = (tenant: string, now: number): number =>
    (charged.get(tenant) ?? 0) + runs.filter((r) => r.task.job.tenant === tenant).reduce((sum, r) => sum + r.share * (now - r.start), 0)
  const runningShare = (tenant: string): number => runs.filter((r) => r.task.job.tenant === tenant).reduce((sum, r) => sum + r.share, 0)
  const effRank = (t: ModelTask, now: number): number =>
    policy.aging ? Math.min(3, t.job.rank + Math.floor((now - t.enqueuedAt) / w.agingMs)) : t.job.rank
  const order = (now: number): ModelTask[] =>
    [...parked].sort((x, y) => {
      const rx = effRank(x, now)
      const ry = effRank(y, now)
      if (rx !== ry) return ry - rx
      if (policy.fairShare && x.job.tenant !== y.job.tenant) {
        const ux = usage(x.job.tenant, now)
        const uy = usage(y.job.tenant, now)
        if (Math.abs(ux - uy) > EPS) return ux - uy
        const sx = runningShare(x.job.tenant)
        const sy = runningShare(y.job.tenant)
        if (Math.abs(sx - sy) > EPS) return sx - sy
      }
      return x.seq - y.seq
    })
  const fitsRate = (t: ModelTask, reserved = 0): boolean =>
    w.rate === undefined || drawn() + t.job.draw + reserved <= w.rate.limit + FIT_EPS
  const fits = (cost: { a: number; b: number }, reserved = { a: 0, b: 0 }): boolean =>
    used.a + cost.a + reserved.a <= capacity.a + FIT_EPS && used.b + cost.b + reserved.b <= capacity.b + FIT_EPS
  // While no tenant is active, no idle tenant's usage is remembered (the next busy period starts at 0).
  const forgetIdle = (): void => {
    if ([...active.values()].some((n) => n > 0)) return
    for (const tenant of [...charged.keys()]) if (!runs.some((r) => r.task.job.tenant === tenant)) charged.delete(tenant)
  }
  const end = (t: ModelTask, status: Terminal): void => {
    t.state = 'done'
    out.terminal.set(t.job.index, status)
    active.set(t.job.tenant, (active.get(t.job.tenant) ?? 0) - 1)
    forgetIdle()
  }
  const start = (t: ModelTask, now: number): void => {
    parked.splice(parked.indexOf(t), 1)
    if (!fits(t.job.cost) || !fitsRate(t)) out.oversubscribed.push(`model ${t.job.index}`)
    used.a += t.job.cost.a
    used.b += t.job.cost.b
    if (t.job.draw > 0) draws.push({ at: now + w.rate!.intervalMs, units: t.job.draw })
    t.state = 'running'
    let share = 0
    if (t.job.cost.a > 0 && capacity.a > 0) share = Math.max(share, t.job.cost.a / capacity.a)
    if (t.job.cost.b > 0 && capacity.b > 0) share = Math.max(share, t.job.cost.b / capacity.b)
    if (t.job.draw > 0) share = Math.max(share, t.job.draw / w.rate!.limit)
    runs.push({ task: t, start: now, end: now + t.job.duration, share, live: true })
    out.starts.push(`${t.job.index}@${now.toFixed(9)}`)
  }
  const pass = (now: number): void => {
    for (;;) {
      const ordered = order(now)
      const head = ordered[0]
      if (head === undefined) return
      if (fits(head.job.cost) && fitsRate(head)) {
        start(head, now)
        continue
      }
      if (head !== headTask) {
        headTask = head
        headSince = now
      }
      if (!policy.backfill) return
      const reserving = now - headSince >= w.headReserveAfterMs
      const reserved = reserving ? head.job.cost : { a: 0, b: 0 }
      const next = ordered.slice(1).find((t) => fits(t.job.cost, reserved) && fitsRate(t, reserving ? head.job.draw : 0))
      if (next === undefined) return
      start(next, now)
    }
  }

  const external: { at: number; act: (now: number) => void }[] = []
  for (const job of w.jobs) {
    external.push({
      at: job.at,
      act: (now) => {
        const cost = job.cost
        const depth = parked.length
        if (depth >= w.maxQueueDepth && !(depth === 0 && fits(cost) && fitsRate({ job } as ModelTask))) {
          let victim: ModelTask | undefined
          if (policy.onFull === 'drop-lowest') {
            for (const t of parked) {
              if (victim === undefined || t.job.rank < victim.job.rank || (t.job.rank === victim.job.rank && t.seq > victim.seq)) victim = t
            }
          }
          if (victim !== undefined && victim.job.rank < job.rank) {
            parked.splice(parked.indexOf(victim), 1)
            end(victim, 'dropped')
          } else {
            out.refused.add(job.index)
            return
          }
        }
        // A tenant becoming active is lifted to the least usage among the other active tenants.
        if ((active.get(job.tenant) ?? 0) === 0) {
          let floor = Infinity
          for (const [tenant, n] of active) if (tenant !== job.tenant && n > 0) floor = Math.min(floor, usage(tenant, now))
          if (floor !== Infinity && (charged.get(job.tenant) ?? 0) < floor) charged.set(job.tenant, floor)
        }
        active.set(job.tenant, (active.get(job.tenant) ?? 0) + 1)
        const task: ModelTask = {
          job,
          seq: ++seq,
          enqueuedAt: now,
          deadline: job.waitTimeoutMs === undefined ? undefined : now + job.waitTimeoutMs,
          state: 'parked',
        }
        tasks.set(job.index, task)
        parked.push(task)
        pass(now)
      },
    })
    if (job.cancelAt !== undefined) {
      external.push({
        at: job.cancelAt,
        act: (now) => {
          const t = tasks.get(job.index)
          if (t === undefined || t.state === 'done') return
          if (t.state === 'parked') parked.splice(parked.indexOf(t), 1)
          else runs.find((r) => r.task === t && r.live)!.live = false
          end(t, 'cancelled')
          pass(now)
        },
      })
    }
  }
  for (const change of w.capacityChanges) {
    external.push({
      at: change.at,
      act: (now) => {
        capacity = { ...change.capacity }
        pass(now)
      },
    })
  }
  external.sort((x, y) => x.at - y.at)

  let next = 0
  for (;;) {
    const ext = external[next]
    const firstEnd = runs.reduce<ModelRun | undefined>((best, r) => (best === undefined || r.end < best.end ? r : best), undefined)
    const firstDeadline = parked.reduce<number>((best, t) => (t.deadline !== undefined && t.deadline < best ? t.deadline : best), Infinity)
    const firstRefill = draws.reduce<number>((best, d) => Math.min(best, d.at), Infinity)
    const times = [ext?.at ?? Infinity, firstEnd?.end ?? Infinity, firstDeadline, firstRefill]
    const now = Math.min(...times)
    if (now === Infinity) break
    if (now === firstRefill && now < Math.min(firstDeadline, firstEnd?.end ?? Infinity, ext?.at ?? Infinity)) {
      for (const d of [...draws]) if (d.at <= now) draws.splice(draws.indexOf(d), 1)
      pass(now)
    } else if (now === firstDeadline && now <= (firstEnd?.end ?? Infinity) && now <= (ext?.at ?? Infinity)) {
      for (const t of [...parked]) {
        if (t.deadline !== undefined && t.deadline <= now) {
          parked.splice(parked.indexOf(t), 1)
          end(t, 'expired')
        }
      }
      pass(now)
    } else if (firstEnd !== undefined && now === firstEnd.end && now <= (ext?.at ?? Infinity)) {
      runs.splice(runs.indexOf(firstEnd), 1)
      used.a -= firstEnd.task.job.cost.a
      used.b -= firstEnd.task.job.cost.b
      if (used.a < FIT_EPS) used.a = 0
      if (used.b < FIT_EPS) used.b = 0
      const tenant = firstEnd.task.job.tenant
      charged.set(tenant, (charged.get(tenant) ?? 0) + firstEnd.share * (now - firstEnd.start))
      if (firstEnd.live) end(firstEnd.task, firstEnd.task.job.fails ? 'failed' : 'completed')
      else forgetIdle()
      pass(now)
    } else {
      next++
      ext!.act(now)
    }
  }
  return out
}

// ─── The pool under test ─────────────────────────────────────────────────────

async function runPool(w: Workload, policy: Policy): Promise<Outcome> {
  const out: Outcome = { starts: [], terminal: new Map(), refused: new Set(), oversubscribed: [] }
  const clock = new ManualClock(0)
  const pool: ResourcePool<Job, number> = new ResourcePool<Job, number>({
    capacity: w.capacity,
    ...(w.rate === undefined ? {} : { rates: { r: w.rate } }),
    clock,
    maxQueueDepth: w.maxQueueDepth,
    policy: {
      backfill: policy.backfill,
      headReserveAfterMs: w.headReserveAfterMs,
      ...(policy.aging ? { agingMs: w.agingMs } : {}),
      fairShare: policy.fairShare,
      onFull: policy.onFull,
    },
    // Ignores its signal on purpose: a cancelled run holds its units until it really returns.
    executor: (job) => {
      const snap = pool.snapshot()
      const over = (resource: string): boolean => (snap.used[resource] ?? 0) > (snap.capacity[resource] ?? 0) + FIT_EPS
      if (over('a') || over('b') || over('r')) {
        out.oversubscribed.push(`pool ${job.index}`)
      }
      out.starts.push(`${job.index}@${clock.now().toFixed(9)}`)
      return new Promise<number>((resolve, reject) => {
        clock.setTimeout(() => (job.fails ? reject(new Error(`job ${job.index} failed`)) : resolve(job.index)), job.duration)
      })
    },
  })
  const handles = new Map<number, TaskHandle<number>>()
  const events: { at: number; act: () => Promise<void> }[] = []
  for (const job of w.jobs) {
    events.push({
      at: job.at,
      act: async () => {
        try {
          const handle = await pool.submit(job, {
            cost: job.draw === 0 ? job.cost : { ...job.cost, r: job.draw },
            priority: RANKS[job.rank]!,
            tenant: job.tenant,
            ...(job.waitTimeoutMs === undefined ? {} : { waitTimeoutMs: job.waitTimeoutMs }),
          })
          handles.set(job.index, handle)
        } catch (error) {
          // The only refusal the workloads can meet is a full lot; anything else is a bug.
          if (!(error instanceof QueueFullError)) throw error
          out.refused.add(job.index)
        }
      },
    })
    if (job.cancelAt !== undefined) {
      events.push({ at: job.cancelAt, act: async () => void handles.get(job.index)?.cancel() })
    }
  }
  for (const change of w.capacityChanges) events.push({ at: change.at, act: async () => pool.setCapacity(change.capacity) })
  events.sort((x, y) => x.at - y.at)
  const ended = ['completed', 'failed', 'expired', 'dropped', 'cancelled'] as const
  const endCount = new Map<number, number>()
  for (const status of ended) {
    pool.on(status, ({ task }) => {
      const index = [...handles].find(([, h]) => h === task)?.[0] ?? Number(task.id === '' ? -1 : -2)
      endCount.set(index, (endCount.get(index) ?? 0) + 1)
      out.terminal.set(index, status)
    })
  }
  for (const event of events) {
    await clock.advanceAsync(event.at - clock.now())
    await event.act()
  }
  while (await clock.runNextAsync()) {
    // drain completions and expiries
  }
  for (const [index, n] of endCount) if (n !== 1) out.oversubscribed.push(`task ${index} ended ${n} times`)
  return out
}

// ─── The check ───────────────────────────────────────────────────────────────

const combos: Policy[] = []
for (const backfill of [false, true])
  for (const aging of [false, true])
    for (const fairShare of [false, true])
      for (const onFull of ['reject', 'drop-lowest'] as const) combos.push({ backfill, aging, fairShare, onFull })

describe('randomized model check', () => {
  it.each(combos)(
    'backfill=$backfill aging=$aging fairShare=$fairShare onFull=$onFull',
    async (policy) => {
      let checked = 0
      for (let seed = 1; seed <= SEEDS; seed++) {
        const workload = makeWorkload(seed)
        const model = runModel(workload, policy)
        const pool = await runPool(workload, policy)
        const context = `seed ${seed}`
        expect(pool.oversubscribed, context).toEqual([])
        expect(model.oversubscribed, context).toEqual([])
        expect(pool.starts, context).toEqual(model.starts)
        expect([...pool.refused].sort(), context).toEqual([...model.refused].sort())
        // Every accepted task ended exactly once (counted above), with the model's status.
        const accepted = workload.jobs.filter((j) => !pool.refused.has(j.index)).map((j) => j.index)
        // A task dropped to make room was accepted first, then dropped; so it is in `terminal`.
        for (const index of accepted) expect(pool.terminal.get(index), `${context} task ${index}`).toBe(model.terminal.get(index))
        checked++
      }
      expect(checked).toBe(SEEDS)
    },
    600_000,
  )
})
