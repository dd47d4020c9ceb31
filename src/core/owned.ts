/*
 * What a pool closes besides its queue and mailbox: resources a builder opened for it (a PGlite
 * database). Kept here, outside the pool's public surface, so that users cannot attach closers.
 */
const closers = new WeakMap<object, (() => Promise<void> | void)[]>()

/** `pool.close()` will also run `close` (after the pool's own queue and mailbox are closed). */
export function closeWithPool(pool: object, close: () => Promise<void> | void): void {
  let list = closers.get(pool)
  if (list === undefined) closers.set(pool, (list = []))
  list.push(close)
}

/** @internal Runs (once) what `closeWithPool` registered for `pool`. */
export async function runClosers(pool: object): Promise<void> {
  const list = closers.get(pool)
  closers.delete(pool)
  for (const close of list ?? []) await close()
}
