import { describe, expect, it } from 'vitest'
import { checkCloneable, checkJson } from '../src/index.js'

describe('value checks name the part that would not survive', () => {
  it('JSON: functions, non-finite numbers, class instances and cycles, with their paths', () => {
    expect(checkJson({ a: [1, { f: () => 1 }] }, 'payload')).toEqual({ path: 'payload.a[1].f', reason: expect.stringMatching(/function/) })
    expect(checkJson({ n: Infinity }, 'payload')?.path).toBe('payload.n')
    expect(checkJson([new Map()], 'result')).toEqual({ path: 'result[0]', reason: expect.stringMatching(/Map/) })
    const cyclic: Record<string, unknown> = {}
    cyclic['self'] = cyclic
    expect(checkJson(cyclic, 'payload')).toEqual({ path: 'payload.self', reason: expect.stringMatching(/cycle/) })
    // An undefined property is dropped by JSON, as the caller expects; an undefined array item is not.
    expect(checkJson({ gone: undefined, ok: ['x', null, true] }, 'payload')).toBeUndefined()
    expect(checkJson([undefined], 'payload')?.path).toBe('payload[0]')
  })

  it('structured clone: functions and symbols anywhere, including inside Maps and Sets', () => {
    expect(checkCloneable({ messages: [{ onToken: () => 1 }] }, 'payload')?.path).toBe('payload.messages[0].onToken')
    expect(checkCloneable({ m: new Map([['k', Symbol('s')]]) }, 'payload')?.path).toBe('payload.m.get(k)')
    expect(checkCloneable(new Set([() => 1]), 'payload')?.path).toBe('payload<item>')
    const cyclic: Record<string, unknown> = { when: new Date(), bytes: new Uint8Array(2), re: /x/ }
    cyclic['self'] = cyclic
    expect(checkCloneable(cyclic, 'payload')).toBeUndefined()
  })

  it('structured clone: an object the platform refuses is reported at its part; a transferred one passes', () => {
    const { port1 } = new MessageChannel()
    try {
      expect(checkCloneable({ port: port1 }, 'payload')).toEqual({ path: 'payload.port', reason: expect.stringMatching(/MessagePort/) })
      expect(checkCloneable({ port: port1 }, 'payload', [port1])).toBeUndefined()
      class Job {
        constructor(readonly run = () => 1) {}
      }
      expect(checkCloneable({ job: new Job() }, 'payload')).toEqual({ path: 'payload.job', reason: expect.stringMatching(/Job/) })
    } finally {
      port1.close()
    }
  })
})
