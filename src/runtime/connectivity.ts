/*
 * Connectivity as a capacity: a pool's `network` resource (elastic) follows whether this page or
 * worker can reach the network, so tasks whose cost says `{ network: 1 }` park while offline (not
 * fail, not refused) and start on reconnect, in their order. Running tasks are left alone, as for
 * any shrink of capacity: their own requests fail and their retry policy decides.
 *
 * `navigator.onLine` and the `online` / `offline` events say when the network went away; they can
 * say "online" on a captive network, so an optional probe (a URL fetched with a timeout, answering
 * 2xx) has the last word while the browser thinks it is online.
 */
import type { Pool } from '../core/pool.js'
import { MAX_TIMER_DELAY_MS } from '../core/clock.js'
import { optionalFunction, optionalNumber, optionalString, optionsObject, refuse } from '../core/validate.js'

export interface TrackConnectivityOptions {
  /** The elastic resource that stands for the network (list it in the pool's `elasticResources`). @default 'network' */
  readonly resource?: string
  /** Its capacity while online: how many network tasks run at once. @default 1 */
  readonly units?: number
  /** A URL that answers 2xx when the network (or the app's server) is really reachable. @default none: `navigator.onLine` alone */
  readonly probeUrl?: string
  /**
   * How often it checks again (the probe, or `navigator.onLine` without one) and puts the capacity
   * back if something else changed it (another tab, a new leader's host). @default 30_000
   */
  readonly probeIntervalMs?: number
  /** How long a probe may take before it counts as offline. @default 5_000 */
  readonly probeTimeoutMs?: number
  /** Where a capacity change that failed goes (a resource not in `elasticResources`, say). @default `reportError` */
  readonly onError?: (error: unknown) => void
}

const KEYS: Record<keyof TrackConnectivityOptions, 1> = {
  resource: 1,
  units: 1,
  probeUrl: 1,
  probeIntervalMs: 1,
  probeTimeoutMs: 1,
  onError: 1,
}

/**
 * Keeps `pool`'s network capacity in step with connectivity until the returned function is
 * called. On a `SharedPool` each tab reports what it sees to the host (every tab shares one
 * network, so the last report stands).
 */
export function trackConnectivity(pool: Pool<never, unknown, unknown>, options: TrackConnectivityOptions = {}): () => void {
  optionsObject(options, KEYS, 'options')
  const resource = optionalString(options.resource, 'resource') ?? 'network'
  const units = optionalNumber(options.units, 'units', { positive: true }) ?? 1
  const probeUrl = optionalString(options.probeUrl, 'probeUrl')
  const probeIntervalMs = optionalNumber(options.probeIntervalMs, 'probeIntervalMs', { positive: true }) ?? 30_000
  const probeTimeoutMs = optionalNumber(options.probeTimeoutMs, 'probeTimeoutMs', { positive: true }) ?? 5_000
  for (const [path, ms] of [
    ['probeIntervalMs', probeIntervalMs],
    ['probeTimeoutMs', probeTimeoutMs],
  ] as const)
    if (ms > MAX_TIMER_DELAY_MS) refuse(path, `a number of ms up to ${MAX_TIMER_DELAY_MS} (a timer's longest)`, ms)

  let stopped = false
  // Capacity changes one at a time, in order (a SharedPool's snapshot is a round trip).
  let applying: Promise<void> = Promise.resolve()
  let probing: AbortController | undefined
  const report = optionalFunction<(error: unknown) => void>(options.onError, 'onError') ?? reportError

  const apply = (online: boolean): void => {
    const next = online ? units : 0
    // Each change reports its own failure; the next one still runs.
    applying = applying
      .then(async () => {
        if (stopped) return
        // Compared with the pool's own value, not a remembered one: a new host, another tab or the
        // app may have changed it since.
        const { capacity } = await pool.snapshot()
        if (capacity[resource] === next) return
        // The others as they are; one at 0 is left out (it stays 0), as a resource that is not
        // elastic may not be set to 0.
        const others = Object.entries(capacity).filter(([name, held]) => name !== resource && held > 0)
        pool.setCapacity({ ...Object.fromEntries(others), [resource]: next })
      })
      .catch(report)
  }

  const probe = async (): Promise<void> => {
    if (probeUrl === undefined) return apply(navigator.onLine)
    if (!navigator.onLine) return apply(false)
    probing?.abort()
    const controller = (probing = new AbortController())
    const timer = setTimeout(() => controller.abort(), probeTimeoutMs)
    let reachable: boolean
    try {
      const response = await fetch(probeUrl, { cache: 'no-store', signal: controller.signal })
      reachable = response.ok
      void response.body?.cancel() // only the status is wanted
    } catch {
      reachable = false // unreachable or timed out: that is what the probe asks
    } finally {
      clearTimeout(timer)
    }
    if (probing === controller && !stopped) apply(reachable && navigator.onLine)
  }

  const onOnline = (): void => void probe()
  const onOffline = (): void => {
    probing?.abort()
    apply(false)
  }
  globalThis.addEventListener('online', onOnline)
  globalThis.addEventListener('offline', onOffline)
  const interval = setInterval(() => void probe(), probeIntervalMs)
  void probe()
  return () => {
    stopped = true
    globalThis.removeEventListener('online', onOnline)
    globalThis.removeEventListener('offline', onOffline)
    clearInterval(interval)
    probing?.abort()
  }
}
