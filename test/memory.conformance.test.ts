import { MemoryMailboxStore, MemoryQueue } from '../src/index.js'
import { describeMailboxStoreConformance } from './conformance/mailbox-store.js'
import { describeTaskQueueConformance } from './conformance/task-queue.js'

describeTaskQueueConformance('memory', () => new MemoryQueue())
describeMailboxStoreConformance('memory', () => new MemoryMailboxStore())
