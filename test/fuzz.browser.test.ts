// The payload check a tab runs before postMessage agrees with the browser: fuzzed values (fast-check)
// that checkCloneable passes clone, and those it refuses do not, with the part named. Run in
// Chromium, where structuredClone and DOM nodes are the real ones.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkCloneable } from '../src/index.js'

const RUNS = 300

const uncloneable = fc.constantFrom<() => unknown>(
  () => () => 1,
  () => Symbol('s'),
  () => document.createElement('div'),
  () => new MessageChannel().port1,
  () => new WeakMap(),
)
const value = fc.letrec((tie) => ({
  leaf: fc.oneof(
    {
      weight: 6,
      arbitrary: fc.anything({ withMap: true, withSet: true, withDate: true, withTypedArray: true, withBigInt: true, maxDepth: 2 }),
    },
    { weight: 1, arbitrary: uncloneable.map((make) => make()) },
  ),
  node: fc.oneof(
    { weight: 3, arbitrary: tie('leaf') },
    fc.array(tie('node'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 3 }), tie('node'), { maxKeys: 3 }),
    tie('node').map((inner) => new Map([['k', inner]])),
  ),
})).node

describe('checkCloneable agrees with structuredClone (fast-check, Chromium)', () => {
  it(`passes what clones and refuses what does not, naming a part that is really there (${RUNS} cases)`, () => {
    fc.assert(
      fc.property(value, (v) => {
        let clones = true
        try {
          structuredClone(v)
        } catch {
          clones = false
        }
        const problem = checkCloneable(v, 'payload')
        expect(
          problem === undefined,
          `checkCloneable said ${JSON.stringify(problem)}; structuredClone ${clones ? 'cloned it' : 'refused it'}`,
        ).toBe(clones)
        if (problem !== undefined) expect(problem.path.startsWith('payload')).toBe(true)
      }),
      { numRuns: RUNS },
    )
  })
})
