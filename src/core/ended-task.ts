/*
 * A task that ended before this pool started, found by its idempotency key in the queue. Nothing
 * runs again: its handle reports how it ended, and its result comes from its mailbox message
 * (read when someone asks), or rejects with `ResultNotKeptError` when there is none.
 */
import type { ResourceVector } from './capacity.js'
import {
  ResultNotKeptError,
  TaskCancelledError,
  TaskDroppedError,
  TaskExpiredError,
  TaskFailedError,
  WorkerCrashedError,
  errorFromCode,
} from './errors.js'
import { makeHandle, type ProgressStep, type TaskControl, type TaskHandle } from './handle.js'
import type { MailboxMessage } from './mailbox.js'
import type { KeyRecord } from './queue.js'
import { isPromiseLike, type MailboxKey, type MaybePromise, type Priority, type TerminalStatus } from './types.js'

const END: ProgressStep<never> = Object.freeze({ kind: 'end' })

/** The classes a stored outcome's error code names (the errors a task can end with). */
const ENDINGS = {
  TASK_FAILED: TaskFailedError,
  WORKER_CRASHED: WorkerCrashedError,
  TASK_EXPIRED: TaskExpiredError,
  TASK_CANCELLED: TaskCancelledError,
  TASK_DROPPED: TaskDroppedError,
}
const noop = (): void => {}

export class EndedTask<R, C> implements TaskControl<R, C> {
  readonly handle: TaskHandle<R, C>
  readonly id: string
  readonly key: string
  readonly fingerprint: string | undefined
  readonly status: TerminalStatus
  readonly priority: Priority
  readonly cost: ResourceVector
  readonly tenant: string
  readonly mailbox: MailboxKey | undefined
  readonly handler: string | undefined
  readonly submittedAt: number
  readonly attempt: number
  readonly #findMessage: (taskId: string) => MaybePromise<MailboxMessage<R> | undefined>
  /** False for key records from before release 0.2, which do not say whether the task had a mailbox key. */
  readonly #knowsMailbox: boolean
  #result: Promise<R> | undefined

  /** `record` has a terminal status; key records written before release 0.2 lack the task's fields. */
  constructor(
    record: KeyRecord & { readonly status: TerminalStatus },
    findMessage: (taskId: string) => MaybePromise<MailboxMessage<R> | undefined>,
  ) {
    this.id = record.taskId
    this.key = record.key
    this.fingerprint = record.fingerprint
    this.status = record.status
    this.priority = record.task?.priority ?? 'normal'
    this.cost = record.task?.cost ?? {}
    this.tenant = record.task?.tenant ?? ''
    this.mailbox = record.task?.mailbox
    this.handler = record.task?.handler
    this.submittedAt = record.task?.submittedAt ?? 0
    this.attempt = record.task?.attempt ?? 0
    this.#findMessage = findMessage
    this.#knowsMailbox = record.task !== undefined
    this.handle = makeHandle<R, C>(this)
  }

  result(): Promise<R> {
    this.#result ??= this.#read()
    this.#result.catch(noop)
    return this.#result
  }

  position(): undefined {
    return undefined
  }

  progressAt(): ProgressStep<C> {
    return END
  }

  cancel(): boolean {
    return false
  }

  async #read(): Promise<R> {
    // A key record that says the task had no mailbox key: nothing was kept.
    const message = this.mailbox === undefined && this.#knowsMailbox ? undefined : await this.#lookup()
    if (message === undefined) {
      const why = this.mailbox === undefined ? 'it had no mailbox key' : 'its mailbox message was acked or pruned'
      throw new ResultNotKeptError(
        `Task ${this.id} ended as ${this.status} before this pool started; its result was not kept (${why})`,
        this.id,
        this.status,
      )
    }
    if (message.status === 'completed') return message.result as R
    throw errorFromCode(ENDINGS, message.error?.code, message.error?.message ?? `Task ${this.id} ended as ${message.status}`)
  }

  async #lookup(): Promise<MailboxMessage<R> | undefined> {
    const found = this.#findMessage(this.id)
    return isPromiseLike(found) ? await found : found
  }
}
