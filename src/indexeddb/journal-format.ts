/**
 * The journal of a `durability: 'journaled'` IndexedDB database: what was written, as entries
 * appended to a file outside IndexedDB, so a database the browser wipes can be rebuilt. This module
 * is the format and its meaning (no file access): frames with a checksum, and the fold of entries
 * into what the database held.
 *
 * A frame is `[length u32][crc32 u32][JSON utf-8]`, little-endian. Reading stops at the first frame
 * that is short or fails its checksum: a kill mid-append leaves a torn tail, never a wrong entry.
 */
import type { JobRow, KeyRow, MessageRow } from './schema.js'

/** A stored message in the journal: the row, with the seq the store gave it (fetch cursors name it). */
export type JournalMessage = MessageRow

export type JournalEntry =
  /** A generation's first entry: which database incarnation it belongs to. */
  | { readonly op: 'generation'; readonly generation: number; readonly identity: string }
  /** Ends the entries a compaction wrote: before it, the generation is incomplete and not used. */
  | { readonly op: 'sealed' }
  | { readonly op: 'put'; readonly rows: readonly JobRow[] }
  | {
      readonly op: 'settle'
      readonly queue: string
      readonly seq: number
      readonly key: KeyRow | undefined
      readonly message: JournalMessage | undefined
    }
  | { readonly op: 'message'; readonly message: JournalMessage }
  /** An ended task's idempotency key, as a compaction keeps it. */
  | { readonly op: 'key'; readonly key: KeyRow }
  | { readonly op: 'ack'; readonly mailbox: string; readonly ids: readonly string[] }
  | { readonly op: 'prune'; readonly mailbox: string; readonly before: number }

const HEADER = 8
const encoder = new TextEncoder()
const decoder = new TextDecoder()

const CRC_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

/** CRC-32 (IEEE), as zlib computes it. */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

/** The frames of `entries`, in one buffer (one write). */
export function encodeEntries(entries: readonly JournalEntry[]): Uint8Array {
  const bodies = entries.map((entry) => encoder.encode(JSON.stringify(entry)))
  const out = new Uint8Array(bodies.reduce((sum, body) => sum + HEADER + body.length, 0))
  const view = new DataView(out.buffer)
  let at = 0
  for (const body of bodies) {
    view.setUint32(at, body.length, true)
    view.setUint32(at + 4, crc32(body), true)
    out.set(body, at + HEADER)
    at += HEADER + body.length
  }
  return out
}

/** The entries of whole, intact frames, and the byte length they take (where a torn tail starts). */
export function decodeEntries(bytes: Uint8Array): { entries: JournalEntry[]; intactBytes: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const entries: JournalEntry[] = []
  let at = 0
  while (at + HEADER <= bytes.length) {
    const length = view.getUint32(at, true)
    if (at + HEADER + length > bytes.length) break
    const body = bytes.subarray(at + HEADER, at + HEADER + length)
    if (crc32(body) !== view.getUint32(at + 4, true)) break
    let entry: unknown
    try {
      entry = JSON.parse(decoder.decode(body))
    } catch {
      break // a checksum collision on torn bytes: stop as at any torn tail
    }
    if (!isEntry(entry)) break
    entries.push(entry)
    at += HEADER + length
  }
  return { entries, intactBytes: at }
}

const OPS = new Set(['generation', 'sealed', 'put', 'settle', 'message', 'key', 'ack', 'prune'])
function isEntry(value: unknown): value is JournalEntry {
  return typeof value === 'object' && value !== null && OPS.has((value as { op?: unknown }).op as string)
}

/** What the database held, per the journal: live task rows, ended keys, and stored messages. */
export interface JournalState {
  /** By `queue \0 seq`. */
  readonly jobs: Map<string, JobRow>
  /** By `queue \0 key`. */
  readonly keys: Map<string, KeyRow>
  /** By message id, in the order they were stored. */
  readonly messages: Map<string, JournalMessage>
  /** Message id by `mailbox \0 taskStatus`: one message per task and status, as the store's unique index. */
  readonly byTaskStatus: Map<string, string>
}

export const emptyState = (): JournalState => ({ jobs: new Map(), keys: new Map(), messages: new Map(), byTaskStatus: new Map() })

export const jobId = (queue: string, seq: number): string => `${queue}\u0000${seq}`
export const keyId = (queue: string, key: string): string => `${queue}\u0000${key}`

/** Applies one entry, as the IndexedDB write it records did. */
export function apply(state: JournalState, entry: JournalEntry): void {
  switch (entry.op) {
    case 'put':
      for (const row of entry.rows) {
        state.jobs.set(jobId(row.queue, row.seq), row)
        if (typeof row['key'] === 'string') state.keys.delete(keyId(row.queue, row['key']))
      }
      return
    case 'settle':
      state.jobs.delete(jobId(entry.queue, entry.seq))
      if (entry.key !== undefined) state.keys.set(keyId(entry.key.queue, entry.key.key), entry.key)
      if (entry.message !== undefined) addMessage(state, entry.message)
      return
    case 'message':
      addMessage(state, entry.message)
      return
    case 'key':
      state.keys.set(keyId(entry.key.queue, entry.key.key), entry.key)
      return
    case 'ack':
      for (const id of entry.ids) {
        const message = state.messages.get(id)
        if (message?.mailbox === entry.mailbox) deleteMessage(state, message)
      }
      return
    case 'prune':
      for (const message of state.messages.values()) {
        if (message.mailbox === entry.mailbox && message.completedAt < entry.before) deleteMessage(state, message)
      }
      return
    case 'generation':
    case 'sealed':
      return
  }
}

/** One message per task and status, as the store's unique index keeps it. */
function addMessage(state: JournalState, message: JournalMessage): void {
  const unique = `${message.mailbox}\u0000${message.taskStatus}`
  if (state.byTaskStatus.has(unique)) return
  state.byTaskStatus.set(unique, message.id)
  state.messages.set(message.id, message)
}

function deleteMessage(state: JournalState, message: JournalMessage): void {
  state.messages.delete(message.id)
  state.byTaskStatus.delete(`${message.mailbox}\u0000${message.taskStatus}`)
}

/**
 * The entries of a compacted generation: the state as few entries, then `sealed`. Keys past their
 * retention stay (their time is the pool's clock); the queue prunes them, and the journal starts
 * again from the database at every open.
 */
export function compactEntries(state: JournalState, generation: number, identity: string): JournalEntry[] {
  const entries: JournalEntry[] = [{ op: 'generation', generation, identity }]
  const rows = [...state.jobs.values()]
  for (let i = 0; i < rows.length; i += 500) entries.push({ op: 'put', rows: rows.slice(i, i + 500) })
  for (const key of state.keys.values()) entries.push({ op: 'key', key })
  for (const message of state.messages.values()) entries.push({ op: 'message', message })
  entries.push({ op: 'sealed' })
  return entries
}

/** Folds a generation's entries; undefined when it is not sealed (a compaction was cut short). */
export function foldGeneration(
  entries: readonly JournalEntry[],
): { state: JournalState; generation: number; identity: string } | undefined {
  const first = entries[0]
  if (first?.op !== 'generation' || !entries.some((entry) => entry.op === 'sealed')) return undefined
  const state = emptyState()
  for (const entry of entries) apply(state, entry)
  return { state, generation: first.generation, identity: first.identity }
}
