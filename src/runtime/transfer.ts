/*
 * Marks values whose buffers should move (not be copied) to or from a worker, the way comlink's
 * `transfer` does: explicit, because moving detaches the sender's copy.
 */
const marked = new WeakMap<object, Transferable[]>()

/**
 * Returns `value`, marked so that `transferables` move with it when it crosses to a worker (as a
 * payload) or back (as a handler's result). The sender's buffers are detached afterwards, so a
 * transferred payload cannot be resent: give such tasks `maxAttempts: 1` or keep a copy.
 *
 * @example
 * await pool.submit(transfer({ pixels }, [pixels.buffer]), { handler: 'blur' })
 */
export function transfer<T extends object>(value: T, transferables: Transferable[]): T {
  marked.set(value, transferables)
  return value
}

/** The transferables marked on a value, if any; a marked buffer that is already detached is left out. */
export function transferablesOf(value: unknown): Transferable[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const list = marked.get(value)
  if (list === undefined) return undefined
  return list.filter((item) => !(item instanceof ArrayBuffer && isDetached(item)))
}

function isDetached(buffer: ArrayBuffer): boolean {
  return (buffer as ArrayBuffer & { detached?: boolean }).detached === true
}
