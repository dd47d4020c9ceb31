/*
 * Small decoders for data that crosses a boundary we do not control: a message from a port or a
 * worker, a row read back from storage. A decoder returns the value typed, or throws a
 * `DecodeError` naming the path of the first part that is wrong. Message and row types are
 * derived from the decoders (`Infer`), so one definition says both what is checked and what the
 * code may rely on.
 *
 * Hand-written rather than zod: these run on the per-task path of the worker protocol (a decode
 * per message at 100k+ messages/s) and ship in the root and worker bundles, whose size budget
 * (a few kB) a schema library would take on its own. Config files, which are neither, use zod.
 */
import { BackendError } from './errors.js'

/** Checks `value` and returns it typed; throws `DecodeError` naming `path` when it does not fit. */
export type Decoder<T> = (value: unknown, path: string) => T

export type Infer<D> = D extends Decoder<infer T> ? T : never

/** A value that does not have the shape its boundary promises. */
export class DecodeError extends Error {
  constructor(
    /** Where in the value, e.g. `message.view.status` or `row.priority`. */
    readonly path: string,
    readonly expected: string,
    readonly got: unknown,
  ) {
    super(`Expected \`${path}\` to be ${expected}, got ${describe(got)}`)
    this.name = 'DecodeError'
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return `an array of ${value.length}`
  if (typeof value === 'string') return `${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)} (string)`
  if (typeof value === 'object') return 'an object'
  return `${String(value)} (${typeof value})`
}

export const unknown: Decoder<unknown> = (value) => value

export const string: Decoder<string> = (value, path) => {
  if (typeof value !== 'string') throw new DecodeError(path, 'a string', value)
  return value
}

export const boolean: Decoder<boolean> = (value, path) => {
  if (typeof value !== 'boolean') throw new DecodeError(path, 'a boolean', value)
  return value
}

/** A finite number. */
export const number: Decoder<number> = (value, path) => {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new DecodeError(path, 'a finite number', value)
  return value
}

export const integer: Decoder<number> = (value, path) => {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new DecodeError(path, 'an integer', value)
  return value
}

/** Exactly this value. */
export function literal<const L extends string | number | boolean>(expected: L): Decoder<L> {
  return (value, path) => {
    if (value !== expected) throw new DecodeError(path, JSON.stringify(expected), value)
    return value as L
  }
}

/** One of the given strings or numbers. */
export function oneOf<const L extends readonly (string | number)[]>(...values: L): Decoder<L[number]> {
  const allowed = new Set<unknown>(values)
  const expected = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`
  return (value, path) => {
    if (!allowed.has(value)) throw new DecodeError(path, expected, value)
    return value as L[number]
  }
}

/** `undefined` or what `decoder` accepts. */
export function optional<T>(decoder: Decoder<T>): Decoder<T | undefined> {
  return (value, path) => (value === undefined ? undefined : decoder(value, path))
}

/** `null` or `undefined` (read as undefined), or what `decoder` accepts: for SQL columns and optional wire fields. */
export function nullable<T>(decoder: Decoder<T>): Decoder<T | undefined> {
  return (value, path) => (value === undefined || value === null ? undefined : decoder(value, path))
}

export function array<T>(item: Decoder<T>): Decoder<T[]> {
  return (value, path) => {
    if (!Array.isArray(value)) throw new DecodeError(path, 'an array', value)
    for (let i = 0; i < value.length; i++) item(value[i], `${path}[${i}]`)
    return value as T[]
  }
}

/** A fixed-length array, each place with its own decoder. */
export function tuple<const D extends readonly Decoder<unknown>[]>(...items: D): Decoder<{ -readonly [K in keyof D]: Infer<D[K]> }> {
  return (value, path) => {
    if (!Array.isArray(value) || value.length !== items.length) {
      throw new DecodeError(path, `an array of ${items.length}`, value)
    }
    for (let i = 0; i < items.length; i++) items[i]!(value[i], `${path}[${i}]`)
    return value as { -readonly [K in keyof D]: Infer<D[K]> }
  }
}

type Shape = Readonly<Record<string, Decoder<unknown>>>
type ObjectOf<S extends Shape> = { readonly [K in keyof S]: Infer<S[K]> }

/** A plain object with these fields (others are ignored, not copied). */
export function object<const S extends Shape>(shape: S): Decoder<ObjectOf<S>> {
  const entries = Object.entries(shape)
  return (value, path) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DecodeError(path, 'an object', value)
    for (const [name, decoder] of entries) decoder((value as Record<string, unknown>)[name], `${path}.${name}`)
    return value as ObjectOf<S>
  }
}

/** An object used as a map: every own value passes `item`. */
export function record<T>(item: Decoder<T>): Decoder<Record<string, T>> {
  return (value, path) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DecodeError(path, 'an object', value)
    for (const [name, entry] of Object.entries(value)) item(entry, `${path}.${name}`)
    return value as Record<string, T>
  }
}

/**
 * One of several object shapes told apart by a tag field (`t`, `type`), or tuples told apart by
 * their first element (`tag` 0): the decoder of the matching variant runs, and only it.
 */
export function tagged<const V extends Readonly<Record<string | number, Decoder<unknown>>>>(
  tag: string | 0,
  variants: V,
): Decoder<Infer<V[keyof V]>> {
  const known = Object.keys(variants).join(', ')
  return (value, path) => {
    const at = tag === 0 ? `${path}[0]` : `${path}.${tag}`
    if (typeof value !== 'object' || value === null) throw new DecodeError(path, tag === 0 ? 'an array' : 'an object', value)
    const key = (value as Record<string | number, unknown>)[tag]
    const variant = (typeof key === 'string' || typeof key === 'number') && Object.hasOwn(variants, key) ? variants[key] : undefined
    if (variant === undefined) throw new DecodeError(at, `one of ${known}`, key)
    return variant(value, path) as Infer<V[keyof V]>
  }
}

/** A decoder whose value must also pass `check` (which says what it expected when it fails). */
export function refine<T>(decoder: Decoder<T>, expected: string, check: (value: T) => boolean): Decoder<T> {
  return (value, path) => {
    const decoded = decoder(value, path)
    if (!check(decoded)) throw new DecodeError(path, expected, value)
    return decoded
  }
}

/** A stored value that does not decode, as the `BackendError` a caller sees (naming it, and the field). */
export function undecodable(what: string, error: unknown): BackendError {
  const detail = error instanceof DecodeError ? error.message : String(error)
  return new BackendError(`${what} does not decode: ${detail}`, { cause: error })
}
