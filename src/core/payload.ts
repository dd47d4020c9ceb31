import { InvalidPayloadError } from './errors.js'
import type { PayloadFormat } from './types.js'

/**
 * Checks that a payload survives the trip it must make, and names the first part that would not
 * (`payload.messages[2].onToken is a function`). Checked at submit, before anything is accepted.
 */
export function assertPayloadTravels(payload: unknown, format: PayloadFormat): void {
  if (format === 'any') return
  if (format === 'json') {
    checkJson(payload, 'payload', new Set())
    return
  }
  // Plain data (the usual payload) is checked by a walk; anything else by a real clone.
  if (isPlainCloneable(payload, 0)) return
  try {
    structuredClone(payload)
  } catch (error) {
    throw new InvalidPayloadError(
      `Expected \`payload\` to survive structured clone (it goes to a worker): ${(error as Error).message}`,
      'payload',
    )
  }
}

/** True when a value is made only of primitives, plain objects, arrays, dates and binary data (bounded depth). */
function isPlainCloneable(value: unknown, depth: number): boolean {
  if (depth > 32) return false
  const type = typeof value
  if (type === 'string' || type === 'number' || type === 'boolean' || type === 'bigint' || value === null || value === undefined)
    return true
  if (type !== 'object') return false // functions and symbols cannot be cloned
  if (Array.isArray(value)) return value.every((item) => isPlainCloneable(item, depth + 1))
  const proto = Object.getPrototypeOf(value) as unknown
  if (proto === Object.prototype || proto === null) {
    for (const key in value as Record<string, unknown>) {
      if (!isPlainCloneable((value as Record<string, unknown>)[key], depth + 1)) return false
    }
    return true
  }
  return value instanceof Date || value instanceof ArrayBuffer || ArrayBuffer.isView(value)
}

function checkJson(value: unknown, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return
    case 'number':
      if (!Number.isFinite(value)) fail(path, `is ${value}, which JSON stores as null`)
      return
    case 'object':
      break
    default:
      fail(path, `is a ${typeof value}, which JSON cannot store`)
  }
  if (value === null) return
  if (seen.has(value)) fail(path, 'refers back to itself (a cycle)')
  const proto = Object.getPrototypeOf(value) as unknown
  if (Array.isArray(value)) {
    seen.add(value)
    value.forEach((item, i) => checkJson(item, `${path}[${i}]`, seen))
    seen.delete(value)
    return
  }
  if (proto !== Object.prototype && proto !== null) {
    const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object'
    fail(path, `is a ${name}, which JSON does not store faithfully; send plain objects and arrays`)
  }
  seen.add(value)
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue // JSON drops undefined properties, as the caller expects
    checkJson(v, `${path}.${k}`, seen)
  }
  seen.delete(value)
}

function fail(path: string, what: string): never {
  throw new InvalidPayloadError(`Expected \`${path}\` to be storable as JSON, but it ${what}`, path)
}

/**
 * A canonical string of a payload (object keys sorted), compared when an idempotency key comes
 * again. Binary data and the common built-ins are spelled out so that different bytes differ.
 */
export function fingerprint(value: unknown): string {
  return canonical(value, new Set())
}

function canonical(value: unknown, seen: Set<object>): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'undefined':
      return 'undefined'
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value)
    case 'bigint':
      return `${value}n`
    case 'string':
      return JSON.stringify(value)
    case 'boolean':
      return String(value)
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
    if (object instanceof ArrayBuffer) return `ArrayBuffer(${bytes(new Uint8Array(object))})`
    if (ArrayBuffer.isView(object)) {
      const view = new Uint8Array(object.buffer, object.byteOffset, object.byteLength)
      return `${object.constructor.name}(${bytes(view)})`
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

function bytes(view: Uint8Array): string {
  let out = ''
  for (const b of view) out += b.toString(16).padStart(2, '0')
  return out
}
