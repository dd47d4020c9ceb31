/*
 * A pool's state and counters in the Prometheus text exposition format (version 0.0.4): what a
 * `/metrics` endpoint serves. Durations are histograms in seconds, as Prometheus names them.
 */
import type { PoolSnapshot, PoolStats } from './pool.js'
import { HISTOGRAM_BOUNDS_MS, type DurationStats } from './stats.js'
import type { MaybePromise } from './types.js'

/** What metrics are read from: any pool (`ResourcePool`, `SharedPool`). */
export interface Measurable {
  snapshot(): MaybePromise<PoolSnapshot>
  stats(): MaybePromise<PoolStats>
}

type Sample = readonly [labels: Readonly<Record<string, string>>, value: number, suffix?: string]

interface Family {
  readonly name: string
  readonly type: 'gauge' | 'counter' | 'histogram'
  readonly help: string
  readonly samples: Sample[]
}

/** The metric families of one pool. */
export function poolFamilies(snapshot: PoolSnapshot, stats: PoolStats): Family[] {
  const pool = snapshot.name
  const perResource = (of: Record<string, number>): Sample[] => Object.entries(of).map(([resource, units]) => [{ pool, resource }, units])
  const histogram = (series: DurationStats): Sample[] => [
    ...HISTOGRAM_BOUNDS_MS.map((bound, i): Sample => [{ pool, le: String(bound / 1000) }, series.buckets[i]!, '_bucket']),
    [{ pool, le: '+Inf' }, series.count, '_bucket'],
    [{ pool }, series.sum / 1000, '_sum'],
    [{ pool }, series.count, '_count'],
  ]
  return [
    {
      name: 'parking_lot_parked_tasks',
      type: 'gauge',
      help: 'Tasks waiting to start, by priority.',
      samples: Object.entries(snapshot.parked).map(([priority, n]) => [{ pool, priority }, n]),
    },
    { name: 'parking_lot_running_tasks', type: 'gauge', help: 'Attempts running.', samples: [[{ pool }, snapshot.running]] },
    {
      name: 'parking_lot_retrying_tasks',
      type: 'gauge',
      help: 'Tasks waiting out a retry backoff.',
      samples: [[{ pool }, snapshot.retrying]],
    },
    { name: 'parking_lot_capacity_units', type: 'gauge', help: 'Capacity per resource.', samples: perResource(snapshot.capacity) },
    { name: 'parking_lot_used_units', type: 'gauge', help: 'Units held per resource.', samples: perResource(snapshot.used) },
    {
      name: 'parking_lot_wait_seconds',
      type: 'histogram',
      help: 'From entering the lot to starting, per attempt.',
      samples: histogram(stats.wait),
    },
    {
      name: 'parking_lot_run_seconds',
      type: 'histogram',
      help: 'From start until the executor settled, per attempt.',
      samples: histogram(stats.run),
    },
    {
      name: 'parking_lot_tasks_total',
      type: 'counter',
      help: 'Tasks ended, by status.',
      samples: Object.entries(stats.outcomes).map(([status, n]) => [{ pool, status }, n]),
    },
  ]
}

const escape = (value: string): string => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')

/** Families as text; families of the same name (several pools) become one, as the format requires. */
export function renderFamilies(families: readonly Family[]): string {
  const merged = new Map<string, Family>()
  for (const family of families) {
    const known = merged.get(family.name)
    if (known === undefined) merged.set(family.name, { ...family, samples: [...family.samples] })
    else known.samples.push(...family.samples)
  }
  let text = ''
  for (const { name, type, help, samples } of merged.values()) {
    text += `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`
    for (const [labels, value, suffix = ''] of samples) {
      const pairs = Object.entries(labels).map(([key, label]) => `${key}="${escape(label)}"`)
      text += `${name}${suffix}{${pairs.join(',')}} ${value}\n`
    }
  }
  return text
}

/**
 * The metrics of several pools as one Prometheus text page (a gateway's `/metrics`): each
 * family once, with a sample per pool. `pool.metrics()` is the same for one pool.
 */
export async function metricsText(pools: readonly Measurable[]): Promise<string> {
  const families = await Promise.all(
    pools.map(async (pool) => {
      const [snapshot, stats] = await Promise.all([pool.snapshot(), pool.stats()])
      return poolFamilies(snapshot, stats)
    }),
  )
  return renderFamilies(families.flat())
}
