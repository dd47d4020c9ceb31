// Handlers and model loaders for the WorkerPool model tests. A loaded model and each running task
// hold one Web Lock per unit of their cost (`vram-0` ... `vram-<capacity-1>`, unit-locks.ts), and
// report a load or a task that found too few free: the over-subscription check from inside the workers.
import { defineHandlers, type HandlerContext, type ModelLoaderContext } from '../../src/worker.js'

import { CAPACITY, MODEL_UNITS } from './model-units.js'
import { holdUnits, type HeldUnits } from './unit-locks.js'

/** Holds `units` of the test budget as Web Locks. */
const holdVram = (units: number): Promise<HeldUnits> => holdUnits('vram', units, CAPACITY)

interface TestModel {
  readonly model: string
  readonly instance: string
  readonly worker: string
  readonly oversubscribed: boolean
  readonly units: HeldUnits
  readonly ctx: ModelLoaderContext
}

const loader = {
  async load(model: string, ctx: ModelLoaderContext): Promise<TestModel> {
    const need = MODEL_UNITS[model] ?? 0
    const units = await holdVram(need)
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
      const own = await holdVram(units)
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
