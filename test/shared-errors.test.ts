// Errors crossing the tab/host boundary keep their class, code and fields.
import { describe, expect, it } from 'vitest'
import { CostExceedsCapacityError, QueueFullError, TaskFailedError, WorkerCrashedError } from '../src/index.js'
import { fromWire, toWire } from '../src/runtime/wire-errors.js'

const roundTrip = (error: unknown): Error => fromWire(structuredClone(toWire(error)))

describe('errors across the shared-pool port', () => {
  it('rebuilds library errors as their own classes, with their fields', () => {
    const error = roundTrip(new CostExceedsCapacityError('too big', 'vram', 30, 24))
    expect(error).toBeInstanceOf(CostExceedsCapacityError)
    expect(error).toMatchObject({ code: 'COST_EXCEEDS_CAPACITY', message: 'too big', name: 'CostExceedsCapacityError' })
    expect(roundTrip(new QueueFullError('full'))).toBeInstanceOf(QueueFullError)
  })

  it('keeps the cause chain: a crash is a TaskFailedError whose cause says why', () => {
    const crash = new WorkerCrashedError('failed on attempt 3 of 3', 3, { cause: new Error('the tab closed') })
    const error = roundTrip(crash)
    expect(error).toBeInstanceOf(WorkerCrashedError)
    expect(error).toBeInstanceOf(TaskFailedError)
    expect(error).toMatchObject({ reason: 'crashed', attempts: 3 })
    expect((error.cause as Error).message).toBe('the tab closed')
  })

  it('turns thrown non-errors and unknown codes into plain Errors with the text', () => {
    expect(roundTrip('a string').message).toBe('a string')
    const custom = Object.assign(new Error('mine'), { code: 'E_MINE' })
    const error = roundTrip(custom)
    expect(error.constructor).toBe(Error)
    expect(error).toMatchObject({ message: 'mine', code: 'E_MINE' })
  })
})
