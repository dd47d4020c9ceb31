// The journal's format and its meaning, without files: frames survive whole or not at all, and the
// fold of the entries is what the IndexedDB writes they record left behind.
import { describe, expect, it } from 'vitest'
import {
  apply,
  compactEntries,
  crc32,
  decodeEntries,
  emptyState,
  encodeEntries,
  foldGeneration,
  type JournalEntry,
  type JournalMessage,
} from '../src/indexeddb/journal-format.js'
import type { JobRow, KeyRow } from '../src/indexeddb/schema.js'

const job = (seq: number, extra: Record<string, unknown> = {}): JobRow => ({
  queue: 'q',
  seq,
  id: `t${seq}`,
  payload: { n: seq },
  ...extra,
})
const message = (id: string, taskId: string, completedAt = 10): JournalMessage => ({
  mailbox: 'm',
  id,
  taskId,
  taskStatus: `${taskId}\u0000completed`,
  tenant: 't',
  user: null,
  session: null,
  status: 'completed',
  result: 1,
  error: null,
  attempts: 1,
  submittedAt: 1,
  completedAt,
})
const key = (name: string, retainUntil: number): KeyRow => ({
  queue: 'q',
  key: name,
  taskId: 't1',
  fingerprint: null,
  status: 'completed',
  retainUntil,
})

describe('journal frames', () => {
  it('checksums with CRC-32 (IEEE), as zlib does', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926)
    expect(crc32(new Uint8Array())).toBe(0)
  })

  it('read back whole; a torn tail or a flipped byte ends the reading at the last whole entry', () => {
    const entries: JournalEntry[] = [
      { op: 'generation', generation: 1, identity: 'db-1' },
      { op: 'sealed' },
      { op: 'put', rows: [job(1), job(2)] },
      { op: 'ack', mailbox: 'm', ids: ['a'] },
    ]
    const bytes = encodeEntries(entries)
    expect(decodeEntries(bytes)).toEqual({ entries, intactBytes: bytes.length })
    const firstTwo = encodeEntries(entries.slice(0, 2)).length
    const threeWhole = encodeEntries(entries.slice(0, 3)).length
    // Cut anywhere inside the fourth frame (its header included): three entries remain.
    for (const cut of [threeWhole + 1, threeWhole + 7, bytes.length - 1]) {
      expect(decodeEntries(bytes.subarray(0, cut))).toEqual({ entries: entries.slice(0, 3), intactBytes: threeWhole })
    }
    const flipped = bytes.slice()
    flipped[firstTwo + 12] = flipped[firstTwo + 12]! ^ 0xff
    expect(decodeEntries(flipped)).toEqual({ entries: entries.slice(0, 2), intactBytes: firstTwo })
  })
})

describe('the fold of a journal', () => {
  it('is what the writes left: puts minus settles, keys of ended tasks, messages minus acks and prunes', () => {
    const state = emptyState()
    const entries: JournalEntry[] = [
      { op: 'put', rows: [job(1, { key: 'k1' }), job(2), job(3)] },
      { op: 'settle', queue: 'q', seq: 1, key: key('k1', 100), message: message('m1', 't1') },
      { op: 'settle', queue: 'q', seq: 2, key: undefined, message: message('m2', 't2', 20) },
      // A repeat of a task's message with the same status is kept once, as the store's unique index does.
      { op: 'settle', queue: 'q', seq: 2, key: undefined, message: message('m2-again', 't2', 20) },
      { op: 'message', message: message('m3', 't9', 30) },
      { op: 'ack', mailbox: 'm', ids: ['m1', 'unknown'] },
      { op: 'ack', mailbox: 'other', ids: ['m3'] },
      { op: 'prune', mailbox: 'm', before: 25 },
    ]
    for (const entry of entries) apply(state, entry)
    expect([...state.jobs.values()].map((row) => row.seq)).toEqual([3])
    expect([...state.keys.keys()]).toEqual(['q\u0000k1'])
    expect([...state.messages.keys()]).toEqual(['m3'])
    // A new task with an ended task's key takes it over.
    apply(state, { op: 'put', rows: [job(4, { key: 'k1' })] })
    expect(state.keys.size).toBe(0)
  })

  it('compacts to the same state (every key kept: their time is the pool clock); an unsealed generation is not used', () => {
    const state = emptyState()
    apply(state, { op: 'put', rows: [job(1), job(2), job(3)] })
    apply(state, { op: 'settle', queue: 'q', seq: 1, key: key('old', 50), message: { ...message('m1', 't1'), seq: 41 } })
    apply(state, { op: 'settle', queue: 'q', seq: 2, key: { ...key('kept', 500), taskId: 't2' }, message: undefined })
    const compacted = compactEntries(state, 7, 'db-2')
    const folded = foldGeneration(compacted)
    expect(folded?.generation).toBe(7)
    expect(folded?.identity).toBe('db-2')
    expect([...folded!.state.jobs.keys()]).toEqual(['q\u00003'])
    expect([...folded!.state.keys.keys()]).toEqual(['q\u0000old', 'q\u0000kept'])
    // A message keeps the seq its store gave it: fetch cursors name it.
    expect([...folded!.state.messages.values()].map((m) => [m.id, m.seq])).toEqual([['m1', 41]])
    expect(foldGeneration(compacted.slice(0, -1))).toBeUndefined()
    expect(foldGeneration(compacted.slice(1))).toBeUndefined()
  })
})
