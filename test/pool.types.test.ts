// Type tests: checked by `tsc` (npm test's typecheck step) and by running (vitest). ResourcePool
// and SharedPool are one `Pool`; progress chunks are typed end to end.
import { describe, expect, expectTypeOf, it } from 'vitest'
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

describe('handle fields', () => {
  it("each field a handle declares reads its task's value (the getters are made from a list)", async () => {
    let finish!: (value: string) => void
    const pool = new ResourcePool<string, string>({
      capacity: { vram: 4 },
      executor: () => new Promise<string>((resolve) => (finish = resolve)),
    })
    const handle = await pool.submit('x', {
      cost: { vram: 2 },
      priority: 'high',
      tenant: 'acme',
      key: 'k-1',
      mailbox: { tenant: 'acme', user: 'u' },
    })
    const seen = {
      id: handle.id,
      priority: handle.priority,
      cost: handle.cost,
      tenant: handle.tenant,
      mailbox: handle.mailbox,
      key: handle.key,
      handler: handle.handler,
      submittedAt: handle.submittedAt,
      status: handle.status,
      attempt: handle.attempt,
    } satisfies { [K in keyof TaskHandle]?: TaskHandle[K] }
    expect(seen).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      priority: 'high',
      cost: { vram: 2 },
      tenant: 'acme',
      mailbox: { tenant: 'acme', user: 'u' },
      key: 'k-1',
      handler: undefined,
      submittedAt: expect.any(Number),
      status: 'running',
      attempt: 1,
    })
    // Getters on the prototype, as before: a handle has no own enumerable fields to copy.
    expect(Object.keys(handle)).toEqual([])
    finish('x')
    await handle.result
    expect(handle.status).toBe('completed')
    await pool.close()
  })
})
