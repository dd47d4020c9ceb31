/**
 * Per-tenant usage for fair share, in dominant-share units x milliseconds.
 *
 * usage(t, now) = charged(t) + sum over t's running attempts of share x (now - startedAt)
 *
 * A tenant that becomes active (its first waiting or running task after none) is lifted to the
 * least usage among the other active tenants, so an idle tenant cannot bank credit and then
 * monopolize the pool (the same rule as a CFS run queue's min_vruntime).
 */
interface TenantUsage {
  charged: number
  /** Tasks parked, retrying or running; 0 means inactive. */
  active: number
  readonly running: Map<object, { share: number; startedAt: number }>
}

// Usages this close are equal; sums of fractions differ in the last bits.
const EPSILON = 1e-6

export class FairShareLedger {
  readonly #tenants = new Map<string, TenantUsage>()

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
    }
    t.active++
  }

  /** A task of `tenant` reached a terminal status. */
  deactivate(tenant: string): void {
    const t = this.#get(tenant)
    t.active--
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
  }

  /** Negative when tenant `a` should go before `b`, positive after, 0 when fair share is indifferent. */
  compare(a: string, b: string, now: number): number {
    if (a === b) return 0
    const ua = this.usage(a, now)
    const ub = this.usage(b, now)
    if (Math.abs(ua - ub) > EPSILON) return ua - ub
    const ra = this.runningShare(a)
    const rb = this.runningShare(b)
    if (Math.abs(ra - rb) > EPSILON) return ra - rb
    return 0
  }

  #get(tenant: string): TenantUsage {
    let t = this.#tenants.get(tenant)
    if (t === undefined) {
      t = { charged: 0, active: 0, running: new Map() }
      this.#tenants.set(tenant, t)
    }
    return t
  }
}
