// pool.metrics() and metricsText(): the Prometheus text format, read back line by line.
import { describe, expect, it } from 'vitest'
import { metricsText } from '../src/index.js'
import { controlledPool } from './helpers.js'

/** The sample lines as `name{labels} value`, without comments. */
const samples = (text: string): string[] => text.split('\n').filter((line) => line !== '' && !line.startsWith('#'))

describe('pool.metrics()', () => {
  it('gives parked tasks by priority, running, capacity and used units, wait and run histograms, ends by status', async () => {
    const { pool, jobs, clock } = controlledPool({ name: 'gpu', capacity: { vram: 4, cpu: 2 } })
    await pool.submit('a', { cost: { vram: 3, cpu: 1 } })
    await pool.submit('b', { cost: { vram: 2 }, priority: 'high' })
    clock.advance(30) // a has run 30 ms, b has waited 30 ms
    await jobs.finish('a')
    clock.advance(2_000) // b runs 2 s
    await pool.submit('c', { cost: { vram: 3 }, priority: 'low' })
    await jobs.finish('b')
    const text = await pool.metrics()
    expect(text).toMatch(/^# HELP parking_lot_parked_tasks .+\n# TYPE parking_lot_parked_tasks gauge\n/)
    const lines = samples(text)
    expect(lines).toEqual(
      expect.arrayContaining([
        'parking_lot_parked_tasks{pool="gpu",priority="low"} 0',
        'parking_lot_running_tasks{pool="gpu"} 1', // c
        'parking_lot_capacity_units{pool="gpu",resource="vram"} 4',
        'parking_lot_used_units{pool="gpu",resource="vram"} 3',
        'parking_lot_used_units{pool="gpu",resource="cpu"} 0',
        // Waits: a 0 ms, b 30 ms, c 0 ms.
        'parking_lot_wait_seconds_bucket{pool="gpu",le="0.025"} 2',
        'parking_lot_wait_seconds_bucket{pool="gpu",le="0.05"} 3',
        'parking_lot_wait_seconds_bucket{pool="gpu",le="+Inf"} 3',
        'parking_lot_wait_seconds_sum{pool="gpu"} 0.03',
        'parking_lot_wait_seconds_count{pool="gpu"} 3',
        // Runs: a 30 ms, b 2,000 ms.
        'parking_lot_run_seconds_bucket{pool="gpu",le="0.025"} 0',
        'parking_lot_run_seconds_bucket{pool="gpu",le="0.05"} 1',
        'parking_lot_run_seconds_bucket{pool="gpu",le="1"} 1',
        'parking_lot_run_seconds_bucket{pool="gpu",le="2.5"} 2',
        'parking_lot_run_seconds_count{pool="gpu"} 2',
        'parking_lot_tasks_total{pool="gpu",status="completed"} 2',
        'parking_lot_tasks_total{pool="gpu",status="failed"} 0',
      ]),
    )
    // Every sample line is `name{labels} number`.
    for (const line of lines) expect(line).toMatch(/^[a-z_]+\{[a-z]+="[^"]*"(,[a-z]+="[^"]*")*\} -?[0-9.e+-]+$/)
    // Histogram buckets are cumulative.
    const buckets = lines.filter((line) => line.startsWith('parking_lot_run_seconds_bucket')).map((line) => Number(line.split(' ')[1]))
    expect(buckets).toEqual([...buckets].sort((x, y) => x - y))
    await jobs.finish('c')
  })

  it('metricsText(pools) gives each family once with a sample per pool, label values escaped', async () => {
    const one = controlledPool({ name: 'one', capacity: 1 }).pool
    const two = controlledPool({ name: 'say "two"\\', capacity: 2 }).pool
    const text = await metricsText([one, two])
    expect(text.match(/^# TYPE parking_lot_running_tasks gauge$/gm)).toHaveLength(1)
    expect(samples(text)).toEqual(
      expect.arrayContaining(['parking_lot_running_tasks{pool="one"} 0', 'parking_lot_running_tasks{pool="say \\"two\\"\\\\"} 0']),
    )
  })
})
