/*
 * What a value must survive to be carried: a store that keeps JSON, or a postMessage to a worker
 * (structured clone). The store or the runtime that carries a value says which check applies
 * (`TaskQueue.checkValue`, `Executor.checkValue`), so a pool that carries nothing far pays for
 * neither walk. Each check names the first part that would not survive
 * (`payload.messages[2].onToken is a function`).
 */

/** Why a value cannot make its trip: the part (`payload.a[2].b`) and what is wrong with it. */
export interface Unstorable {
  readonly path: string
  readonly reason: string
}

/** A check of a value about to be carried; `path` names the value (`payload`, `result`). */
export type ValueCheck = (value: unknown, path: string) => Unstorable | undefined

/** What a store that keeps JSON (PGlite, Postgres) can keep faithfully. */
export const checkJson: ValueCheck = (value, path) => jsonProblem(value, path, new Set())

function jsonProblem(value: unknown, path: string, seen: Set<object>): Unstorable | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined
    case 'number':
      return Number.isFinite(value) ? undefined : { path, reason: `is ${value}, which JSON stores as null` }
    case 'object':
      break
    default:
      return { path, reason: `is a ${typeof value}, which JSON cannot store` }
  }
  if (value === null) return undefined
  if (seen.has(value)) return { path, reason: 'refers back to itself (a cycle), which JSON cannot store' }
  const proto = Object.getPrototypeOf(value) as unknown
  const isArray = Array.isArray(value)
  if (!isArray && proto !== Object.prototype && proto !== null) {
    return { path, reason: `is a ${kindOf(value)}, which JSON does not store faithfully; send plain objects and arrays` }
  }
  seen.add(value)
  try {
    for (const [key, item] of Object.entries(value)) {
      // JSON drops undefined properties, as the caller expects.
      if (item === undefined && !isArray) continue
      const problem = jsonProblem(item, isArray ? `${path}[${key}]` : `${path}.${key}`, seen)
      if (problem !== undefined) return problem
    }
    return undefined
  } finally {
    seen.delete(value)
  }
}

/**
 * What `postMessage` can send (the structured clone algorithm), checked without cloning plain
 * data; `transferred` are objects that move instead (a `MessagePort`, an `OffscreenCanvas`).
 */
export function checkCloneable(value: unknown, path: string, transferred: readonly object[] = []): Unstorable | undefined {
  return cloneProblem(value, path, new Set(transferred))
}

function cloneProblem(value: unknown, path: string, seen: Set<object>): Unstorable | undefined {
  const type = typeof value
  if (type === 'function' || type === 'symbol') return { path, reason: `is a ${type}, which cannot be sent to a worker` }
  if (type !== 'object' || value === null) return undefined
  const object = value as object
  // Cycles clone faithfully: a value seen before was checked there (or is transferred).
  if (seen.has(object)) return undefined
  seen.add(object)
  const proto = Object.getPrototypeOf(object) as unknown
  if (Array.isArray(object) || proto === Object.prototype || proto === null) {
    for (const [key, item] of Object.entries(object)) {
      const problem = cloneProblem(item, Array.isArray(object) ? `${path}[${key}]` : `${path}.${key}`, seen)
      if (problem !== undefined) return problem
    }
    return undefined
  }
  if (object instanceof Map) {
    for (const [key, item] of object) {
      const problem = cloneProblem(key, `${path}<key>`, seen) ?? cloneProblem(item, `${path}.get(${String(key)})`, seen)
      if (problem !== undefined) return problem
    }
    return undefined
  }
  if (object instanceof Set) {
    for (const item of object) {
      const problem = cloneProblem(item, `${path}<item>`, seen)
      if (problem !== undefined) return problem
    }
    return undefined
  }
  if (object instanceof Date || object instanceof RegExp || object instanceof ArrayBuffer || ArrayBuffer.isView(object)) return undefined
  // Anything else (a class instance, a host object such as a DOM node or a GPU buffer): the
  // browser decides, and its refusal is reported at this part.
  try {
    structuredClone(object)
    return undefined
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error)
    return { path, reason: `is a ${kindOf(object)}, which cannot be sent to a worker (${why})` }
  }
}

function kindOf(object: object): string {
  const name = (object as { constructor?: { name?: unknown } }).constructor?.name
  return typeof name === 'string' && name !== '' ? name : 'object'
}
