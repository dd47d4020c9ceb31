import { describe, expect, it } from 'vitest'
import { uuidv7 } from '../src/core/ids.js'

describe('task ids (seed defect 11: random 64-bit ids)', () => {
  it('are UUIDv7, unique and sort by creation time, also within one millisecond', () => {
    const ids: string[] = []
    for (let i = 0; i < 10_000; i++) ids.push(uuidv7(1_700_000_000_000 + Math.floor(i / 3_000)))
    expect(new Set(ids).size).toBe(ids.length)
    expect([...ids].sort()).toEqual(ids)
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(parseInt(ids[0]!.slice(0, 8) + ids[0]!.slice(9, 13), 16)).toBe(1_700_000_000_000)
  })

  it('stay ordered when the clock goes back', () => {
    const a = uuidv7(2_000_000_000_000)
    const b = uuidv7(1_000)
    expect(b > a).toBe(true)
  })
})
