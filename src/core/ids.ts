/**
 * Time-ordered unique ids (UUIDv7, RFC 9562): 48 bits of milliseconds, a 12-bit counter that
 * keeps ids made within one millisecond in order (RFC 9562 6.2, method 1), then 62 random bits
 * drawn once per millisecond. Sorting ids as strings sorts them by creation time.
 */
const HEX_CODES = Array.from('0123456789abcdef', (c) => c.charCodeAt(0))
const DASH = '-'.charCodeAt(0)

// Random bytes are drawn in blocks: one getRandomValues call per id is measurably slow at 200k ids/s.
const BLOCK = 4096
let pool = new Uint8Array(0)
let offset = BLOCK

function nextRandomByte(): number {
  if (offset >= pool.length) {
    pool = new Uint8Array(BLOCK)
    globalThis.crypto.getRandomValues(pool)
    offset = 0
  }
  return pool[offset++]!
}

let lastMs = -1
let counter = 0
// The id is written as character codes and made into one flat string at the end: building it by
// concatenation leaves a tree of string pieces that costs ~500 bytes per id until flattened.
const codes: number[] = new Array<number>(36).fill(DASH)

function writeHex(at: number, value: number, digits: number): void {
  writeHexInto(codes, at, value, digits)
}

/** The parts of the id `stampId` made last; `formatId` spells them out later, if anyone asks. */
export let stampMs = 0
export let stampCounter = 0
export let stampTail = ''

/**
 * Takes the next id without spelling it out: most tasks of a busy pool are never asked for their
 * id, and the three parts cost less to keep than the 36-character string.
 */
export function stampId(nowMs: number): void {
  const ms = Math.max(0, Math.floor(nowMs))
  if (ms > lastMs) {
    lastMs = ms
    counter = 0
    writeTime(ms)
  } else if (++counter > 0xfff) {
    // Same or earlier millisecond (clock went back) and the counter ran out: borrow the next one.
    lastMs++
    counter = 0
    writeTime(lastMs)
  }
  stampMs = lastMs
  stampCounter = counter
}

/** The id for parts from `stampId`. */
export function formatId(ms: number, count: number, tail: string): string {
  const c = codes.slice(0, 19)
  const high = Math.floor(ms / 0x1000000)
  const low = ms % 0x1000000
  writeHexInto(c, 0, high, 6)
  writeHexInto(c, 6, low >>> 16, 2)
  writeHexInto(c, 9, low & 0xffff, 4)
  writeHexInto(c, 14, 0x7000 | count, 4)
  return String.fromCharCode.apply(null, c) + tail
}

export function uuidv7(nowMs: number): string {
  stampId(nowMs)
  return formatId(stampMs, stampCounter, stampTail)
}

/** Writes a new millisecond's random tail; ids within it differ by the counter. */
function writeTime(_ms: number): void {
  writeHex(19, 0x8000 | ((nextRandomByte() & 0x3f) << 8) | nextRandomByte(), 4)
  writeHex(24, (nextRandomByte() << 16) | (nextRandomByte() << 8) | nextRandomByte(), 6)
  writeHex(30, (nextRandomByte() << 16) | (nextRandomByte() << 8) | nextRandomByte(), 6)
  stampTail = String.fromCharCode.apply(null, codes.slice(19))
}

function writeHexInto(target: number[], at: number, value: number, digits: number): void {
  for (let i = digits - 1; i >= 0; i--) {
    target[at + i] = HEX_CODES[value & 0xf]!
    value >>>= 4
  }
}
