import { BackendError } from '../core/errors.js'

/** Runs a storage operation; a failure becomes a `BackendError` that says what was being done. */
export async function wrap<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation()
  } catch (error) {
    if (error instanceof BackendError || (error as { code?: unknown })?.code === 'INVALID_OPTION') throw error
    throw new BackendError(`Storage failed while ${what}: ${(error as Error)?.message ?? String(error)}`, { cause: error })
  }
}
