import { MemoryMailboxStore, MemoryQueue, type MailboxStore, type TaskQueue } from '../src/index.js'
import { describeMailboxStoreConformance } from './conformance/mailbox-store.js'
import { describeTaskQueueConformance } from './conformance/task-queue.js'

describeTaskQueueConformance('memory', () => new MemoryQueue(), {
  keysKept: (queue: TaskQueue<{ n: number }>) => (queue as MemoryQueue<{ n: number }>).keysKept,
})
describeMailboxStoreConformance('memory', () => new MemoryMailboxStore(), {
  messagesKept: (store: MailboxStore<string>) => (store as MemoryMailboxStore<string>).size,
})
