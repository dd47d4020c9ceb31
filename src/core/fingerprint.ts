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
