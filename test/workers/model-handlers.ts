// Handlers and model loaders for the WorkerPool model tests. A loaded model and each running task
// hold one origin-wide Web Lock per unit of their cost (`vram-0` ... `vram-<capacity-1>`): if the
// pool ever had more units in use than it has, a load or a task finds too few free locks, and says
// so. That is the over-subscription check, made from inside the workers.
import { defineHandlers, type HandlerContext, type ModelLoaderContext } from '../../src/worker.js'

import { CAPACITY, MODEL_UNITS } from './model-units.js'

interface Held {
  readonly held: number
  release(): void
}

async function holdUnits(units: number): Promise<Held> {
  const releases: (() => void)[] = []
  for (let k = 0; k < CAPACITY && releases.length < units; k++) {
    await new Promise<void>((granted) => {
      void navigator.locks.request(`vram-${k}`, { ifAvailable: true }, (lock) => {
        if (lock === null) return granted()
        return new Promise<void>((release) => {
          releases.push(release)
          granted()
        })
      })
    })
  }
  return { held: releases.length, release: () => releases.forEach((release) => release()) }
}

interface TestModel {
  readonly model: string
  readonly instance: string
  readonly worker: string
  readonly oversubscribed: boolean
  readonly units: Held
  readonly ctx: ModelLoaderContext
}

const loader = {
  async load(model: string, ctx: ModelLoaderContext): Promise<TestModel> {
    const need = MODEL_UNITS[model] ?? 0
    const units = await holdUnits(need)
    await new Promise((resolve) => setTimeout(resolve, 20)) // a load takes a while
    return { model, instance: ctx.instance, worker: self.name, oversubscribed: units.held < need, units, ctx }
  },
  unload(instance: TestModel): void {
    instance.units.release()
  },
}

defineHandlers(
  {
    /** Runs on a model instance, holding `units` more for `ms` (`firstMs` on the first attempt, if given). */
    async generate({ units, ms, firstMs }: { units: number; ms: number; firstMs?: number }, ctx: HandlerContext<TestModel>) {
      const model = ctx.model
      const own = await holdUnits(units)
      await new Promise((resolve) => setTimeout(resolve, ctx.attempt === 1 && firstMs !== undefined ? firstMs : ms))
      own.release()
      return {
        model: model.model,
        instance: model.instance,
        loadedIn: model.worker,
        ranIn: self.name,
        oversubscribed: model.oversubscribed || own.held < units,
        attempt: ctx.attempt,
      }
    },
    /** Kills the engine the instance holds: the loader reports it lost. */
    killEngine(_: unknown, ctx: HandlerContext<TestModel>) {
      const model = ctx.model
      model.units.release()
      model.ctx.lost('the engine was killed')
      return 'killed'
    },
    crashWorker() {
      setTimeout(() => {
        throw new Error('boom')
      })
      return new Promise(() => {})
    },
  },
  { models: { small: loader, medium: loader, large: loader } },
)
