import { describe } from 'vitest'
import { IndexedDBMailboxStore, IndexedDBQueue } from '../src/indexeddb/index.js'
import { outcomeBody } from './conformance/outcome.js'

describe('one true outcome per task (IndexedDB in Chromium)', () => {
  let databases = 0
  outcomeBody({
    newDatabase() {
      const database = `outcome-${Date.now()}-${++databases}`
      return async () => {
        const queue = new IndexedDBQueue<string>({ database, name: 'outcome' })
        const store = new IndexedDBMailboxStore({ database, name: 'outcome' })
        // The pool closes the queue it opened; the mailbox store is the caller's.
        return { queue, store, close: async () => store.close() }
      }
    },
    unstorable: { value: { text: 'hi', onToken: () => 1 }, path: 'result.onToken' },
  })
})
