/*
 * A task's end as it travels to a submitter in another process: JSON text, `{"value": ...}` or
 * `{"error": {code, message, reason, attempts}}`, rebuilt there as the same error class.
 */
import { TaskCancelledError, TaskDroppedError, TaskExpiredError, TaskFailedError, describeError, errorFromCode } from '../core/errors.js'
import type { Settlement, TaskRecord } from '../core/queue.js'
import type { TerminalStatus } from '../core/types.js'
import type { SharedOutcome } from './shared-outcomes.js'

/** The classes an end's error code names, as a submitter rebuilds them. */
const ENDINGS = {
  TASK_FAILED: TaskFailedError,
  TASK_EXPIRED: TaskExpiredError,
  TASK_CANCELLED: TaskCancelledError,
  TASK_DROPPED: TaskDroppedError,
}

interface ErrorFields {
  readonly code?: string
  readonly message?: string
  readonly reason?: string
  readonly attempts?: number
}

function errorFields(error: Error): ErrorFields {
  const { code, reason, attempts } = error as Error & { code?: unknown; reason?: unknown; attempts?: unknown }
  return {
    code: typeof code === 'string' ? code : error.name,
    message: error.message,
    reason: typeof reason === 'string' ? reason : undefined,
    attempts: typeof attempts === 'number' ? attempts : undefined,
  }
}

/** An end as its submitter's row carries it; a result that is not JSON fails the task there (it cannot travel). */
export function toldOf(record: TaskRecord<unknown>, settlement: Settlement): { status: TerminalStatus; outcome: string } {
  const { outcome } = settlement
  try {
    return {
      status: settlement.status,
      outcome: JSON.stringify(outcome.ok ? { value: outcome.value } : { error: errorFields(outcome.error) }),
    }
  } catch (error) {
    const message = `Task ${record.id}'s result does not serialize as JSON for its submitter: ${describeError(error)}`
    return {
      status: 'failed',
      outcome: JSON.stringify({ error: { code: 'TASK_FAILED', message, reason: 'error', attempts: record.attempt } }),
    }
  }
}

export function decodeOutcome(outcome: Pick<SharedOutcome, 'taskId' | 'status' | 'outcome'>): { value: unknown; error: Error | undefined } {
  const parsed = JSON.parse(outcome.outcome) as { value?: unknown; error?: ErrorFields }
  if (outcome.status === 'completed') return { value: parsed.value, error: undefined }
  const e = parsed.error ?? {}
  const fields: Record<string, unknown> = {}
  if (e.reason !== undefined) fields['reason'] = e.reason
  if (e.attempts !== undefined) fields['attempts'] = e.attempts
  return {
    value: undefined,
    error: errorFromCode(ENDINGS, e.code, e.message ?? `Task ${outcome.taskId} ended as ${outcome.status}`, fields),
  }
}
