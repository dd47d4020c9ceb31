/*
 * What an idempotency key remembers of a task that ended: enough for the handle a later submit of
 * the key gets (how it ended, and its outcome), and nothing heavier: not the payload, not the
 * streamed chunks. Two sources:
 *   - a task that ended in this process: its outcome is at hand;
 *   - a task that ended before this pool started (found in the queue): its result comes from its
 *     mailbox message, read when someone asks, or `ResultNotKeptError` when there is none.
 * Nothing runs again either way.
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
import type { KeyedTaskInfo } from './record.js'
import { noop, type MailboxKey, type MaybePromise, type Priority, type TerminalStatus } from './types.js'

const END: ProgressStep<never> = Object.freeze({ kind: 'end' })

/** The classes a stored outcome's error code names (the errors a task can end with). */
const ENDINGS = {
  TASK_FAILED: TaskFailedError,
  WORKER_CRASHED: WorkerCrashedError,
  TASK_EXPIRED: TaskExpiredError,
  TASK_CANCELLED: TaskCancelledError,
  TASK_DROPPED: TaskDroppedError,
}

/** Where an ended task's result comes from. */
export type EndedOutcome<R> =
  | { readonly ok: true; readonly value: R }
  | { readonly ok: false; readonly error: Error }
  | { readonly findMessage: (taskId: string) => MaybePromise<MailboxMessage<R> | undefined> }

export class EndedTask<R, C> implements TaskControl<R, C> {
  readonly handle: TaskHandle<R, C>
  readonly priority: Priority
  readonly cost: ResourceVector
  readonly tenant: string
  readonly mailbox: MailboxKey | undefined
  readonly handler: string | undefined
  readonly submittedAt: number
  readonly attempt: number
  readonly #outcome: EndedOutcome<R>
  /** False for key records from before release 0.2, which do not say whether the task had a mailbox key. */
  readonly #knowsMailbox: boolean
  #result: Promise<R> | undefined

  /** `task` undefined: a key record written before release 0.2, which lacks the task's fields. */
  constructor(
    readonly id: string,
    readonly key: string,
    readonly fingerprint: string | undefined,
    readonly status: TerminalStatus,
    task: KeyedTaskInfo | undefined,
    outcome: EndedOutcome<R>,
  ) {
    this.priority = task?.priority ?? 'normal'
    this.cost = task?.cost ?? {}
    this.tenant = task?.tenant ?? ''
    this.mailbox = task?.mailbox
    this.handler = task?.handler
    this.submittedAt = task?.submittedAt ?? 0
    this.attempt = task?.attempt ?? 0
    this.#knowsMailbox = task !== undefined
    this.#outcome = outcome
    this.handle = makeHandle<R, C>(this)
  }

  /** What a stored key record says of its ended task. */
  static fromRecord<R, C>(
    record: KeyRecord & { readonly status: TerminalStatus },
    findMessage: (taskId: string) => MaybePromise<MailboxMessage<R> | undefined>,
  ): EndedTask<R, C> {
    return new EndedTask(record.taskId, record.key, record.fingerprint, record.status, record.task, { findMessage })
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
    const outcome = this.#outcome
    if (!('findMessage' in outcome)) {
      if (outcome.ok) return outcome.value
      throw outcome.error
    }
    // A key record that says the task had no mailbox key: nothing was kept.
    const message = this.mailbox === undefined && this.#knowsMailbox ? undefined : await outcome.findMessage(this.id)
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
}
