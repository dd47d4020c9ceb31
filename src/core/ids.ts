/**
 * Time-ordered unique ids (UUIDv7, RFC 9562): 48 bits of milliseconds, a 12-bit counter that
 * keeps ids made within one millisecond in order (RFC 9562 6.2, method 1), then 62 random bits
 * drawn once per millisecond. Sorting ids as strings sorts them by creation time.
 */

let lastMs = -1
let counter = 0

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
  } else if (++counter > 0xfff) {
    // Same or earlier millisecond (clock went back) and the counter ran out: borrow the next one.
    lastMs++
    counter = 0
  }
  if (counter === 0) stampTail = randomTail()
  stampMs = lastMs
  stampCounter = counter
}

/** The id for parts from `stampId`. */
export function formatId(ms: number, count: number, tail: string): string {
  const time = hex(ms, 12)
  // Joined, not concatenated: `join` makes one flat string, where `+` leaves a tree of pieces
  // that costs several hundred bytes per kept id.
  return [time.slice(0, 8), time.slice(8), `7${hex(count, 3)}`, tail].join('-')
}

export function uuidv7(nowMs: number): string {
  stampId(nowMs)
  return formatId(stampMs, stampCounter, stampTail)
}

/** `10xx` variant bits, then 62 random bits: `vxxx-xxxxxxxxxxxx`. */
function randomTail(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(8))
  bytes[0] = (bytes[0]! & 0x3f) | 0x80
  const digits = hexBytes(bytes)
  return [digits.slice(0, 4), digits.slice(4)].join('-')
}

/** Bytes as hex digits, two each. */
export function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => hex(byte, 2)).join('')
}

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, '0')
}
