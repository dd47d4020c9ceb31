// Type tests: checked by `tsc` (npm test's typecheck step) and by running (vitest). ResourcePool
// and SharedPool are one `Pool`; progress chunks are typed end to end.
import { describe, expectTypeOf, it } from 'vitest'
import { ResourcePool, type Pool, type PoolSnapshot, type TaskContext, type TaskHandle } from '../src/index.js'
import type { SharedPool } from '../src/worker.js'

interface Job {
  readonly prompt: string
}
type Token = { readonly text: string; readonly index: number }

describe('types', () => {
  it('ResourcePool and SharedPool are both a Pool', () => {
    expectTypeOf<ResourcePool<Job, string, Token>>().toExtend<Pool<Job, string, Token>>()
    expectTypeOf<SharedPool<Job, string, Token>>().toExtend<Pool<Job, string, Token>>()
    // `get` and `snapshot` answer at once here and through a promise there; `await` fits both.
    expectTypeOf<ReturnType<ResourcePool['snapshot']>>().toEqualTypeOf<PoolSnapshot>()
    expectTypeOf<ReturnType<SharedPool['snapshot']>>().toEqualTypeOf<Promise<PoolSnapshot>>()
    expectTypeOf<Awaited<ReturnType<Pool['snapshot']>>>().toEqualTypeOf<PoolSnapshot>()
  })

  it('progress chunks are typed from ctx.emit to handle.progress and the progress event', async () => {
    const pool = new ResourcePool<Job, string, Token>({
      capacity: 1,
      executor: (job, ctx) => {
        expectTypeOf(ctx).toEqualTypeOf<TaskContext<Token>>()
        ctx.emit({ text: job.prompt, index: 0 })
        // @ts-expect-error a chunk of another type is refused
        ctx.emit('not a token')
        return job.prompt
      },
    })
    pool.on('progress', ({ chunk }) => expectTypeOf(chunk).toEqualTypeOf<Token>())
    const task = await pool.submit({ prompt: 'hi' })
    expectTypeOf(task).toEqualTypeOf<TaskHandle<string, Token>>()
    for await (const chunk of task.progress) expectTypeOf(chunk).toEqualTypeOf<Token>()
    expectTypeOf(task.result).toEqualTypeOf<Promise<string>>()
    await pool.close()
  })
})
