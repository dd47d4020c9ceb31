/*
 * `ModelPool` in a module (and a built file) of its own: a bundle that imports only
 * `ResourcePool` drops this file, and with it the model code (core/models.ts).
 */
import { Models } from './core/models.js'
import type { PoolOptions } from './core/options.js'
import { MADE_HERE, Scheduler } from './core/scheduler.js'
import { defaultParts } from './pool.js'

/**
 * A `ResourcePool` that also takes the option `models`: loaded models hold their units between
 * tasks, tasks go to warm instances, and idle instances are unloaded (least recently used first)
 * to make room. A class of its own so that bundles which use no models leave the model code out.
 *
 * @example
 * const pool = new ModelPool({
 *   capacity: { vram: 24 },
 *   models: { small: { cost: { vram: 5 }, load: loadSmall, unload: (m) => m.free() } },
 *   executor: (prompt, ctx) => generate(ctx.model, prompt),
 * })
 * await pool.submit('Hello', { model: 'small', cost: { vram: 1 } })
 */
export class ModelPool<P = unknown, R = unknown, C = unknown> extends Scheduler<P, R, C> {
  constructor(options: PoolOptions<P, R, C>) {
    super(MADE_HERE, options, { ...defaultParts(options), models: (specs, parts) => new Models(specs, parts) })
  }
}
