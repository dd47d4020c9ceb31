// A SharedWorker that opens an IndexedDB queue (as a shared host does) and says what it found:
// wipe detection must work where OPFS has sync handles but maybe no createWritable.
import type { TaskRecord } from '../../src/index.js'
import { IndexedDBQueue, StorageWipedError } from '../../src/indexeddb/index.js'

const task: TaskRecord<number> = {
  id: '00000000-0000-7000-8000-000000000001',
  seq: 1,
  payload: 1,
  cost: { slots: 1 },
  priority: 'normal',
  tenant: '',
  mailbox: undefined,
  key: undefined,
  fingerprint: undefined,
  handler: undefined,
  model: undefined,
  submittedAt: 1_000,
  waitDeadline: undefined,
  runTimeoutMs: undefined,
  maxAttempts: 1,
  attempt: 0,
  notBefore: undefined,
  lease: undefined,
}

declare const self: { onconnect: ((event: MessageEvent) => void) | null }

interface Ask {
  readonly database: string
  readonly put: boolean
  readonly durability: 'default' | 'journaled'
}

self.onconnect = (event) => {
  const port = event.ports[0]!
  port.onmessage = async ({ data }: MessageEvent<Ask>) => {
    const queue = new IndexedDBQueue<number>({ database: data.database, name: 'q', durability: data.durability })
    const reported: StorageWipedError[] = []
    try {
      const recovered = await queue.open('shared-worker', (error) => {
        if (error instanceof StorageWipedError) reported.push(error)
      })
      if (data.put) await queue.put([task])
      const detection = queue.wipeDetection
      await queue.close()
      port.postMessage({ detection, code: undefined, recovered: recovered.length, reported: reported.map((e) => [e.tasks, e.rebuilt]) })
    } catch (error) {
      port.postMessage({
        detection: queue.wipeDetection,
        code: error instanceof StorageWipedError ? error.code : String(error),
        tasks: error instanceof StorageWipedError ? error.tasks : undefined,
      })
    }
  }
}
