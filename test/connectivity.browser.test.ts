// trackConnectivity in real Chromium: the pool's network capacity follows `navigator.onLine` and
// the online/offline events (here set by the test: the page cannot take the machine offline; the
// demo's end-to-end test does, with the browser really offline), and a probe URL has the last word.
import { afterEach, describe, expect, it } from 'vitest'
import { InvalidOptionError, ResourcePool, type Priority } from '../src/index.js'
import { connectSharedPool, trackConnectivity, type SharedPool } from '../src/worker.js'

let online = true
Object.defineProperty(navigator, 'onLine', { configurable: true, get: () => online })
const goOffline = (): void => {
  online = false
  window.dispatchEvent(new Event('offline'))
}
const goOnline = (): void => {
  online = true
  window.dispatchEvent(new Event('online'))
}
const stops: (() => void)[] = []
afterEach(() => {
  for (const stop of stops.splice(0)) stop()
  online = true
})

/** Resolves once `read()` gives `want` (each check after the next macrotask). */
async function until<T>(read: () => T | Promise<T>, want: T): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if ((await read()) === want) return
    await new Promise((resolve) => setTimeout(resolve, 0))
  }
  throw new Error(`still not ${String(want)}: ${String(await read())}`)
}

const PRIORITIES: Priority[] = ['low', 'normal', 'high', 'critical']

describe('trackConnectivity', () => {
  it('offline, network tasks park (not fail, not refused); online, they start in priority order, each once', async () => {
    const started: string[] = []
    const pool = new ResourcePool<{ n: number; priority: Priority }, void>({
      capacity: { network: 0, cpu: 2 },
      elasticResources: ['network'],
      executor: ({ n, priority }) => void started.push(`${priority} ${n}`),
    })
    stops.push(trackConnectivity(pool, { units: 3 }))
    await until(() => pool.snapshot().capacity['network'], 3)
    goOffline()
    await until(() => pool.snapshot().capacity['network'], 0)
    const handles = []
    for (let n = 0; n < 20; n++) {
      const priority = PRIORITIES[(n * 7) % 4]!
      handles.push(await pool.submit({ n, priority }, { cost: { network: 1 }, priority }))
    }
    expect(handles.every((h) => h.status === 'parked')).toBe(true)
    expect(started).toEqual([])
    goOnline()
    await Promise.all(handles.map((h) => h.result))
    expect(started).toHaveLength(20)
    expect(new Set(started).size).toBe(20)
    const ranks = started.map((s) => PRIORITIES.indexOf(s.split(' ')[0] as Priority))
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a))
    await pool.close()
  })

  it('a probe that cannot reach its URL keeps the network at 0 while the browser says online; one that answers 2xx opens it', async () => {
    const pool = new ResourcePool<number, number>({ capacity: { network: 0 }, elasticResources: ['network'], executor: (n) => n })
    // Watch the probe's fetch end (the tracker's own, unchanged).
    const realFetch = globalThis.fetch
    let probed!: () => void
    const probeEnded = new Promise<void>((resolve) => (probed = resolve))
    globalThis.fetch = (...args) => realFetch(...args).finally(probed)
    try {
      stops.push(trackConnectivity(pool, { units: 2, probeUrl: 'http://127.0.0.1:9/unreachable', probeTimeoutMs: 2_000 }))
      await probeEnded.catch(() => {})
    } finally {
      globalThis.fetch = realFetch
    }
    // The probe failed (nothing listens on port 9): the capacity stays 0, and a network task parks.
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(pool.snapshot().capacity['network']).toBe(0)
    const task = await pool.submit(1, { cost: { network: 1 } })
    expect(task.status).toBe('parked')
    stops.pop()!()
    stops.push(trackConnectivity(pool, { units: 2, probeUrl: `data:text/plain,ok` }))
    expect(await task.result).toBe(1)
    expect(pool.snapshot().capacity['network']).toBe(2)
    await pool.close()
  })

  it('a resource that is not elastic is reported to onError (InvalidOptionError), and bad options are refused', async () => {
    const pool = new ResourcePool<number, number>({ capacity: { cpu: 1, network: 1 }, executor: (n) => n })
    const errors: unknown[] = []
    stops.push(trackConnectivity(pool, { onError: (error) => errors.push(error) }))
    goOffline()
    await until(() => errors.length, 1)
    expect(errors[0]).toBeInstanceOf(InvalidOptionError)
    expect(() => trackConnectivity(pool, { units: 0 })).toThrow(InvalidOptionError)
    expect(() => trackConnectivity(pool, { prob: 'x' } as never)).toThrow(/probeUrl|probe/)
    await pool.close()
  })

  it('puts the capacity back when something else changed it, and goes on after a change that failed', async () => {
    const pool = new ResourcePool<number, number>({ capacity: { network: 0, cpu: 1 }, elasticResources: ['network'], executor: (n) => n })
    stops.push(trackConnectivity(pool, { units: 2, probeIntervalMs: 20 }))
    await until(() => pool.snapshot().capacity['network'], 2)
    pool.setCapacity({ cpu: 1 }) // the app's own change leaves the network out: 0
    expect(pool.snapshot().capacity['network']).toBe(0)
    await until(() => pool.snapshot().capacity['network'], 2)
    await pool.close()
    // A pool that refuses the first change: the error is reported, the next change still applies.
    let network = 0
    let calls = 0
    const refusing = {
      snapshot: () => ({ capacity: { network } }),
      setCapacity: (capacity: Record<string, number>) => {
        if (++calls === 1) throw new InvalidOptionError('refused once', 'capacity')
        network = capacity['network']!
      },
    } as unknown as Parameters<typeof trackConnectivity>[0]
    const errors: unknown[] = []
    stops.push(trackConnectivity(refusing, { units: 3, probeIntervalMs: 20, onError: (error) => errors.push(error) }))
    await until(() => network, 3)
    expect(errors).toHaveLength(1)
  })

  it('on a SharedPool, the host learns connectivity from the tab: its network tasks park offline and run online in order', async () => {
    const client: SharedPool<string, string> = await connectSharedPool('/test/workers/shared-host.ts', 'net', {
      workerName: `net-${crypto.randomUUID()}`,
      user: 'tester',
    })
    stops.push(trackConnectivity(client, { units: 1 }))
    const capacity = async (): Promise<number | undefined> => (await client.snapshot()).capacity['network']
    await until(capacity, 1)
    goOffline()
    await until(capacity, 0)
    const low = await client.submit('low', { cost: { network: 1 }, priority: 'low' })
    const high = await client.submit('high', { cost: { network: 1 }, priority: 'high' })
    expect((await client.snapshot()).parkedTotal).toBe(2)
    goOnline()
    expect(await high.result).toBe('high started 1')
    expect(await low.result).toBe('low started 2')
    await client.close()
  })
})
