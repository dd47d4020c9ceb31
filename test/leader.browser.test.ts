// Leader mode (no SharedWorker): tabs elect a leader with a Web Lock; it hosts the pool and
// serves the others over BroadcastChannel; when it closes, the next tab takes over and recovers
// the queue. "Tabs" are iframes; removing one closes it.
import { afterEach, describe, expect, it } from 'vitest'
import { BackendError, InvalidOptionError, QueueLockedError, type TaskHandle } from '../src/index.js'
import { IndexedDBQueue } from '../src/indexeddb/index.js'
import { serveOnBus } from '../src/runtime/shared/bus.js'
import { LEADER_LOCK_PREFIX, type Port } from '../src/runtime/shared/protocol.js'
import { SharedPoolHost, connectSharedPool, type SharedPool } from '../src/worker.js'
import { openFrame } from './frames.js'
import { leaderHost } from './workers/leader-host.js'
import type { Generated } from './workers/model-units.js'

const frames: HTMLIFrameElement[] = []
afterEach(() => {
  for (const frame of frames.splice(0)) frame.remove()
})

async function openTab(query: string, tag: string): Promise<HTMLIFrameElement> {
  const frame = await openFrame(`/test/workers/leader-tab.html?tag=${tag}&${query}`, tag)
  frames.push(frame)
  return frame
}

const leads = (frame: HTMLIFrameElement): boolean => (frame.contentWindow as unknown as { leads: boolean }).leads

it('hands the pool over to the next tab when the leader closes, recovering its queue', async () => {
  const id = crypto.randomUUID()
  const query = `scope=leader-${id}&database=leader-${id}`
  const a = await openTab(query, 'a')
  const b = await openTab(query, 'b')
  expect([leads(a), leads(b)]).toEqual([true, false])
  // This page joins last, so it is third in line for leadership.
  const client: SharedPool = await connectSharedPool('unused', 'cpu', {
    mode: 'leader',
    workerName: `leader-${id}`,
    user: 'tester',
    createHost: () => leaderHost(`leader-${id}`),
  })
  const before = await client.submit({ units: 1, capacity: 4, ms: 1 }, { cost: { units: 1 }, handler: 'holdUnits' })
  expect(await before.result).toMatchObject({ oversubscribed: false })

  const tasks: TaskHandle[] = []
  for (let i = 0; i < 4; i++)
    tasks.push(await client.submit({ units: 2, capacity: 4, ms: 500 }, { cost: { units: 2 }, handler: 'holdUnits' }))
  a.remove() // the leader closes with tasks running and parked
  const results = (await Promise.all(tasks.map((t) => t.result))) as { worker: string; attempt: number }[]
  expect(leads(b)).toBe(true)
  // The leader's tab closed at once (500 ms tasks had just started): what it was running, on
  // either tab's worker, was recovered from the queue by the new leader and ran again there,
  // with attempt 2; what was parked ran there first time.
  // All on tab b's workers: its first, or (when it was running one of the old leader's tasks as
  // that leader closed, which a loaded machine makes likely) the one that replaced it.
  expect(results.map((r) => r.worker).filter((worker) => !/^tab-b-\d+$/.test(worker))).toEqual([])
  expect(results.filter((r) => r.attempt === 2).length).toBeGreaterThanOrEqual(1)
  expect(results.every((r) => r.attempt <= 2)).toBe(true)
  const { messages } = await client.mailbox.fetch({ tenant: 'test-origin', user: 'tester' })
  const ids = [before, ...tasks].map((t) => t.id)
  expect(ids.filter((taskId) => messages.filter((m) => m.taskId === taskId).length !== 1)).toEqual([])
  await client.close()
})

it('refuses leader mode without `createHost`, saying what is missing', async () => {
  await expect(connectSharedPool('unused', 'cpu', { mode: 'leader' })).rejects.toThrow(InvalidOptionError)
  await expect(connectSharedPool('unused', 'cpu', { mode: 'leader' })).rejects.toThrow(/needs `createHost`/)
})

describe('leader mode: no lost wake-ups, no waiting forever', () => {
  const scopeName = () => `leader-${crypto.randomUUID()}`

  it('a leader change between the election and the handshake is followed: the tab joins the new leader', async () => {
    const scope = scopeName()
    // This page holds the election lock, so its own connect never leads; it plays both leaders.
    let releaseElection!: () => void
    await new Promise<void>((held) => {
      void navigator.locks.request(LEADER_LOCK_PREFIX + scope, () => {
        held()
        return new Promise<void>((release) => (releaseElection = release))
      })
    })
    const hostB = new SharedPoolHost({ tenant: 'test' })
    hostB.addPool('cpu', { capacity: 1, executor: (value: unknown) => `B ran ${String(value)}` })
    const stops: (() => void)[] = []
    // Leader A is announced, then dies as the tab says hello: it never answers; B takes over.
    const silentA = {
      connect(port: Port) {
        port.addEventListener('message', () => {
          if (stops.length === 1) stops.push(serveOnBus(hostB, scope, 'leader-B', () => {}))
        })
      },
    }
    stops.push(serveOnBus(silentA, scope, 'leader-A', () => {}))
    const pool = await connectSharedPool('unused', 'cpu', { mode: 'leader', workerName: scope, createHost: () => hostB })
    expect(stops).toHaveLength(2) // B came in while the tab was joining A
    await expect((await pool.submit('x')).result).resolves.toBe('B ran x')
    await pool.close()
    for (const stop of stops) stop()
    releaseElection()
    await hostB.close()
  })

  it('a createHost that throws rejects every waiting tab with a typed error naming the cause', async () => {
    const scope = scopeName()
    const failing = () => {
      throw new Error('no GPU here')
    }
    const tabs = [1, 2].map(() => connectSharedPool('unused', 'cpu', { mode: 'leader', workerName: scope, createHost: failing }))
    for (const tab of tabs) {
      const error = await tab.catch((e: unknown) => e)
      expect(error).toBeInstanceOf(BackendError)
      expect((error as Error).message).toBe('The shared pool host failed to start in the leader tab: no GPU here')
    }
  })

  it('a host whose queue another owner holds rejects every waiting tab with QueueLockedError', async () => {
    const scope = scopeName()
    const database = `locked-${crypto.randomUUID()}`
    const holder = new IndexedDBQueue({ database, name: 'cpu' })
    await holder.open('someone-else')
    const createHost = () => {
      const host = new SharedPoolHost({ tenant: 'test' })
      host.addPool('cpu', { capacity: { units: 1 }, queue: new IndexedDBQueue({ database, name: 'cpu' }) })
      return host
    }
    const error = await connectSharedPool('unused', 'cpu', { mode: 'leader', workerName: scope, createHost }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(QueueLockedError)
    expect((error as Error).message).toMatch(/Queue 'cpu' is owned by someone-else/)
    await holder.close()
  })
})

describe('leader mode: leaders that change in quick succession', () => {
  it('two leader changes while a tab joins: it ends up on the last, and its tasks run there', async () => {
    const scope = `leader-${crypto.randomUUID()}`
    let releaseElection!: () => void
    await new Promise<void>((held) => {
      void navigator.locks.request(LEADER_LOCK_PREFIX + scope, () => {
        held()
        return new Promise<void>((release) => (releaseElection = release))
      })
    })
    const hostC = new SharedPoolHost({ tenant: 'test' })
    hostC.addPool('cpu', { capacity: 1, executor: (value: unknown) => `C ran ${String(value)}` })
    const stops: (() => void)[] = []
    // A and B each die as the tab says hello to them; C answers.
    const silent = (next: () => void) => ({
      connect(port: Port) {
        let told = false
        port.addEventListener('message', () => {
          if (told) return
          told = true
          next()
        })
      },
    })
    const startC = () => stops.push(serveOnBus(hostC, scope, 'leader-C', () => {}))
    const startB = () => stops.push(serveOnBus(silent(startC), scope, 'leader-B', () => {}))
    stops.push(serveOnBus(silent(startB), scope, 'leader-A', () => {}))
    const pool = await connectSharedPool('unused', 'cpu', { mode: 'leader', workerName: scope, createHost: () => hostC })
    expect(stops).toHaveLength(3)
    const task = await pool.submit('x')
    await expect(task.result).resolves.toBe('C ran x')
    await pool.close()
    for (const stop of stops) stop()
    releaseElection()
    await hostC.close()
  })
})

it('models in leader mode: a tab that joins the next leader unloads what it loaded for the old one', async () => {
  const id = crypto.randomUUID()
  const query = `scope=leader-${id}&database=leader-${id}&pool=models`
  const a = await openTab(query, 'a')
  const b = await openTab(query, 'b')
  expect([leads(a), leads(b)]).toEqual([true, false])
  const client: SharedPool = await connectSharedPool('unused', 'models', {
    mode: 'leader',
    workerName: `leader-${id}`,
    user: 'tester',
    createHost: () => leaderHost(`leader-${id}`),
  })
  const run = async (model: string, units: number): Promise<Generated> => {
    const task = await client.submit({ units, ms: 5 }, { handler: 'generate', model, cost: { vram: units } })
    return (await task.result) as Generated
  }
  // small, then medium: each loads in the tab with the fewest instances, so one is in tab b.
  const loaded = [await run('small', 1), await run('medium', 1)]
  expect(loaded.map((r) => r.loadedIn.slice(0, 5)).sort()).toEqual(['tab-a', 'tab-b'])
  a.remove() // the leader goes; b leads, and its instance was the old host's
  await expect.poll(() => leads(b)).toBe(true)
  // The new host knows of no instance: large (5) and 3 more units fill all 8. Had tab b kept the
  // old host's instance, its Web Locks would still be held and this would be over-subscribed.
  // A submit that races this page's own move to the new leader is refused as "may or may not have
  // been done" (BackendError): it is sent again, as a caller would.
  let after: Generated | undefined
  for (let tries = 0; after === undefined; tries++) {
    try {
      after = await run('large', 3)
    } catch (error) {
      if (!(error instanceof BackendError) || tries >= 5) throw error
    }
  }
  expect([after.instance, after.loadedIn.slice(0, 5), after.oversubscribed]).toEqual(['large#1', 'tab-b', false])
  await client.close()
})
