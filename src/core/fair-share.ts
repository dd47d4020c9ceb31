/**
 * Per-tenant usage for fair share, in dominant-share units x milliseconds.
 *
 * usage(t, now) = charged(t) + sum over t's running attempts of share x (now - startedAt)
 *
 * A tenant that becomes active (its first waiting or running task after none) is lifted to the
 * least usage among the other active tenants, so an idle tenant cannot bank credit and then
 * monopolize the pool (the same rule as a CFS run queue's min_vruntime).
 *
 * Memory is bounded by forgetting: while no tenant is active, no idle tenant (nothing waiting or
 * running) is remembered, so usage restarts at 0 with the next busy period; and at most
 * `IDLE_KEPT` idle tenants are remembered, the longest idle forgotten first (it then comes back
 * at the least usage of the active tenants, as any newcomer).
 */
interface TenantUsage {
  charged: number
  /** Tasks parked, retrying or running; 0 means inactive. */
  active: number
  readonly running: Map<object, { share: number; startedAt: number }>
}

// Usages this close are equal; sums of fractions differ in the last bits.
const EPSILON = 1e-6

/** Idle tenants remembered at most. */
export const IDLE_KEPT = 1024

export class FairShareLedger {
  readonly #tenants = new Map<string, TenantUsage>()
  /** Tenants with nothing active or running, longest idle first. */
  readonly #idle = new Set<string>()
  /** Tenants with an active task. */
  #activeTenants = 0

  usage(tenant: string, now: number): number {
    const t = this.#tenants.get(tenant)
    if (t === undefined) return 0
    let usage = t.charged
    for (const run of t.running.values()) usage += run.share * (now - run.startedAt)
    return usage
  }

  /** The share currently running for a tenant; ties on usage go to the tenant running less. */
  runningShare(tenant: string): number {
    const t = this.#tenants.get(tenant)
    if (t === undefined) return 0
    let share = 0
    for (const run of t.running.values()) share += run.share
    return share
  }

  /** A task of `tenant` entered the pool (submitted or recovered). */
  activate(tenant: string, now: number): void {
    const t = this.#get(tenant)
    if (t.active === 0) {
      let floor = Infinity
      for (const [name, other] of this.#tenants) {
        if (name !== tenant && other.active > 0) floor = Math.min(floor, this.usage(name, now))
      }
      if (floor !== Infinity && t.charged < floor) t.charged = floor
      this.#activeTenants++
    }
    t.active++
  }

  /** A task of `tenant` reached a terminal status (or left this process). */
  deactivate(tenant: string): void {
    const t = this.#get(tenant)
    t.active--
    if (t.active > 0) return
    this.#activeTenants--
    this.#maybeIdle(tenant, t)
    if (this.#activeTenants === 0) this.#forgetIdle(0)
  }

  started(tenant: string, run: object, share: number, now: number): void {
    this.#get(tenant).running.set(run, { share, startedAt: now })
  }

  /** An attempt released its capacity: its usage so far becomes charged. */
  stopped(tenant: string, run: object, now: number): void {
    const t = this.#get(tenant)
    const entry = t.running.get(run)
    if (entry === undefined) return
    t.running.delete(run)
    t.charged += entry.share * (now - entry.startedAt)
    this.#maybeIdle(tenant, t)
  }

  /** Negative when tenant `a` should go before `b`, positive after, 0 when fair share is indifferent. */
  compare(a: string, b: string, now: number): number {
    if (a === b) return 0
    const byUsage = this.usage(a, now) - this.usage(b, now)
    if (Math.abs(byUsage) > EPSILON) return byUsage
    const byShare = this.runningShare(a) - this.runningShare(b)
    return Math.abs(byShare) > EPSILON ? byShare : 0
  }

  #maybeIdle(tenant: string, t: TenantUsage): void {
    if (t.active > 0 || t.running.size > 0) return
    // While no tenant is active, no idle one is remembered.
    if (this.#activeTenants === 0) {
      this.#tenants.delete(tenant)
      return
    }
    this.#idle.add(tenant)
    this.#forgetIdle(IDLE_KEPT)
  }

  /** Forgets idle tenants, the longest idle first, until at most `keep` remain. */
  #forgetIdle(keep: number): void {
    for (const tenant of this.#idle) {
      if (this.#idle.size <= keep) break
      this.#idle.delete(tenant)
      this.#tenants.delete(tenant)
    }
  }

  #get(tenant: string): TenantUsage {
    let t = this.#tenants.get(tenant)
    if (t === undefined) {
      t = { charged: 0, active: 0, running: new Map() }
      this.#tenants.set(tenant, t)
    }
    this.#idle.delete(tenant)
    return t
  }
}
