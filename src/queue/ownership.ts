import { QueueLockedError } from '../core/errors.js'

/**
 * One owner per queue. In a browser (page, worker, SharedWorker) the owner holds a Web Lock named
 * `prometheus-parking-lot:owner:<database>/<queue name>`; the browser runtime takes the same lock
 * to make a tab or SharedWorker the host of that pool, and the browser releases it when the holder
 * dies. Within one process a registry per database also refuses a second owner (Node has no Web
 * Locks).
 */
export function ownerLockName(lockKey: string): string {
  return `prometheus-parking-lot:owner:${lockKey}`
}

const registry = new WeakMap<object, Map<string, string>>()

interface LockManagerLike {
  request(name: string, options: { ifAvailable: boolean }, callback: (lock: unknown) => Promise<void>): Promise<void>
}

function lockManager(): LockManagerLike | undefined {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator
  return nav?.locks
}

/**
 * Takes ownership of `queueName` in `scope` (the database) for `owner`; returns the release, which
 * resolves once the lock is really free (a Web Lock is let go a moment after its holder says so).
 */
export async function acquireOwnership(scope: object, queueName: string, owner: string, lockKey = queueName): Promise<() => Promise<void>> {
  let names = registry.get(scope)
  if (names === undefined) registry.set(scope, (names = new Map()))
  const holder = names.get(queueName)
  if (holder !== undefined && holder !== owner) {
    throw new QueueLockedError(`Queue '${queueName}' is owned by ${holder} in this process; close that pool first`)
  }
  names.set(queueName, owner)
  const locks = lockManager()
  if (locks === undefined) {
    return async () => {
      names.delete(queueName)
    }
  }

  let releaseLock!: () => void
  const held = new Promise<void>((resolve) => (releaseLock = resolve))
  let released!: Promise<void>
  const granted = await new Promise<boolean>((resolve, reject) => {
    released = locks.request(ownerLockName(lockKey), { ifAvailable: true }, async (lock) => {
      resolve(lock !== null)
      if (lock !== null) await held
    })
    released.catch(reject)
  }).catch((error: unknown) => {
    names.delete(queueName)
    throw error
  })
  if (!granted) {
    names.delete(queueName)
    throw new QueueLockedError(`Queue '${queueName}' is owned by another tab or worker (Web Lock '${ownerLockName(lockKey)}' is held)`)
  }
  return async () => {
    names.delete(queueName)
    releaseLock()
    await released
  }
}
