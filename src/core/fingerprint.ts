import { hexBytes } from './ids.js'

/**
 * A canonical string of a payload (object keys sorted), compared when an idempotency key comes
 * again. Binary data and the common built-ins are spelled out so that different bytes differ.
 */
export function fingerprint(value: unknown): string {
  return canonical(value, new Set())
}

function canonical(value: unknown, seen: Set<object>): string {
  // null, undefined and booleans as `String` spells them
  if (value === null || value === undefined || typeof value === 'boolean') return String(value)
  switch (typeof value) {
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value)
    case 'bigint':
      return `${value}n`
    case 'string':
      return JSON.stringify(value)
    case 'function':
    case 'symbol':
      return `<${typeof value}>`
  }
  const object = value as object
  if (seen.has(object)) return '<cycle>'
  seen.add(object)
  try {
    if (Array.isArray(object)) return `[${object.map((v) => canonical(v, seen)).join(',')}]`
    if (object instanceof Date) return `Date(${object.getTime()})`
    if (object instanceof ArrayBuffer) return `ArrayBuffer(${hexBytes(new Uint8Array(object))})`
    if (ArrayBuffer.isView(object)) {
      const view = new Uint8Array(object.buffer, object.byteOffset, object.byteLength)
      return `${object.constructor.name}(${hexBytes(view)})`
    }
    if (object instanceof Map) {
      const entries = [...object.entries()].map(([k, v]) => `${canonical(k, seen)}=>${canonical(v, seen)}`)
      return `Map{${entries.sort().join(',')}}`
    }
    if (object instanceof Set) {
      return `Set{${[...object]
        .map((v) => canonical(v, seen))
        .sort()
        .join(',')}}`
    }
    const keys = Object.keys(object).sort()
    const parts = keys.map((k) => `${JSON.stringify(k)}:${canonical((object as Record<string, unknown>)[k], seen)}`)
    return `{${parts.join(',')}}`
  } finally {
    seen.delete(object)
  }
}
