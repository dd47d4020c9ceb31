// Idempotency keys across a reload, on IndexedDB in Chromium: a page runs the task with key `k`;
// reloaded, it submits `k` again and nothing runs; the handle says `completed` and the result
// comes from the mailbox.
import { expect, it } from 'vitest'

interface Report {
  readonly id: string
  readonly status: string
  readonly runs: number
  readonly outcome: { ok: boolean; value?: string; code?: string }
}

const nextReport = (): Promise<Report> =>
  new Promise((resolve) => {
    const onMessage = (event: MessageEvent<{ keyed?: Report }>) => {
      if (event.data?.keyed === undefined) return
      window.removeEventListener('message', onMessage)
      resolve(event.data.keyed)
    }
    window.addEventListener('message', onMessage)
  })

async function loadTwice(mailbox: boolean): Promise<[Report, Report]> {
  const frame = document.createElement('iframe')
  frame.src = `/test/workers/keyed-tab.html?database=keyed-${crypto.randomUUID()}&mailbox=${mailbox ? 1 : 0}`
  const first = nextReport()
  document.body.append(frame)
  const firstReport = await first
  const second = nextReport()
  frame.contentWindow!.location.reload()
  const secondReport = await second
  frame.remove()
  return [firstReport, secondReport]
}

it('a key whose task completed before a reload runs nothing after it; the result comes from the mailbox', async () => {
  const [first, second] = await loadTwice(true)
  expect(first).toMatchObject({ status: 'completed', runs: 1, outcome: { ok: true, value: 'done: hello' } })
  expect(second).toEqual({ id: first.id, status: 'completed', runs: 0, outcome: { ok: true, value: 'done: hello' } })
})

it('without a mailbox key, nothing runs again either; the result was not kept', async () => {
  const [first, second] = await loadTwice(false)
  expect(first).toMatchObject({ status: 'completed', runs: 1 })
  expect(second).toEqual({ id: first.id, status: 'completed', runs: 0, outcome: { ok: false, code: 'RESULT_NOT_KEPT' } })
})
