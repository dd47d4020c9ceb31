import { BackendError, ParkingLotError } from '../core/errors.js'

/**
 * The browser deleted an IndexedDB database this library had created and written (Chromium does
 * so when it finds its LevelDB log corrupted, as after a kill between the two writes of one
 * record: google/leveldb#1287), and opened an empty one in its place. The counts are what the
 * database held when last noted (about once a second while writing), undefined when never noted.
 */
export class StorageWipedError extends ParkingLotError {
  override get code(): 'STORAGE_WIPED' {
    return 'STORAGE_WIPED'
  }
  constructor(
    message: string,
    readonly database: string,
    readonly tasks: number | undefined,
    readonly messages: number | undefined,
    /** True when a journaled database was rebuilt from its journal: nothing was lost. */
    readonly rebuilt: boolean,
  ) {
    super(message)
  }
}

/** Turns an IndexedDB failure into a `BackendError` naming the operation (and quota, when that is it). */
export async function wrapIdb<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation()
  } catch (error) {
    if (error instanceof BackendError) throw error
    const name = (error as { name?: string })?.name
    const why =
      name === 'QuotaExceededError' ? 'the storage quota is exceeded' : `${name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`
    throw new BackendError(`IndexedDB failed while ${what}: ${why}`, { cause: error })
  }
}
