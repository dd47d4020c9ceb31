import { reportUnhandled } from './report.js'

const describeContext = (event: unknown): string => {
  const context = (event as { context?: unknown }).context
  return typeof context === 'string' ? context : 'an error event nobody listened to'
}

type Listener<E> = (event: E) => void

/**
 * A typed event emitter. Listeners run synchronously in the order added; one that throws is
 * reported (never rethrown into the scheduler), so a bad listener cannot break accounting.
 */
export class TypedEmitter<M extends object> {
  readonly #listeners: { [K in keyof M]?: Listener<M[K]>[] } = {}
  #count = 0

  on<K extends keyof M>(name: K, listener: Listener<M[K]>): () => void {
    // Copy on change: an emit in progress keeps iterating the list it started with.
    this.#listeners[name] = [...(this.#listeners[name] ?? []), listener]
    this.#count++
    return () => this.off(name, listener)
  }

  once<K extends keyof M>(name: K, listener: Listener<M[K]>): () => void {
    const off = this.on(name, (event) => {
      off()
      listener(event)
    })
    return off
  }

  off<K extends keyof M>(name: K, listener: Listener<M[K]>): void {
    const list = this.#listeners[name]
    if (list === undefined) return
    const i = list.indexOf(listener)
    if (i >= 0) {
      const next = list.slice()
      next.splice(i, 1)
      this.#listeners[name] = next
      this.#count--
    }
  }

  protected hasListeners(name: keyof M): boolean {
    // Most pools have few or no listeners: answer from a count before touching the map.
    if (this.#count === 0) return false
    const list = this.#listeners[name]
    return list !== undefined && list.length > 0
  }

  protected emit<K extends keyof M>(name: K, event: M[K]): void {
    const list = this.#listeners[name]
    if (list === undefined || list.length === 0) {
      // An `error` nobody listens to is reported, never dropped.
      if (name === 'error') reportUnhandled((event as { error?: unknown }).error, describeContext(event))
      return
    }
    for (const listener of list) {
      try {
        listener(event)
      } catch (error) {
        reportUnhandled(error, `a '${String(name)}' listener threw`)
      }
    }
  }
}
