/*
 * The demo page driven by Playwright in Debian's Chromium (WebGPU on: a SwiftShader adapter):
 * prompts stream the exact text llama.cpp (wllama) generates on the demo's tiny models, two tabs
 * share one budget (a model loaded in one tab is evicted for the other's), a tab closed
 * mid-generation leaves the full text in the mailbox, reloads and closing every tab lose nothing,
 * and no page logs an error. Screenshots go to test-results/screenshots (not tracked).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright'
import { createServer, type ViteDevServer } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { COSTS, MODELS, type ModelId } from '../demo/config.js'
import { buildTinyModel } from '../src/wllama/gguf-entry.js'
import { CHROMIUM_WEBGPU_ARGS, chromiumExecutable } from '../test/chromium.js'

const root = new URL('..', import.meta.url).pathname
// Artefacts, not sources: written to the ignored test-results/ folder on every run.
const screenshots = new URL('../test-results/screenshots/', import.meta.url).pathname
let server: ViteDevServer
let browser: Browser
let origin: string
const problems: string[] = []

beforeAll(async () => {
  server = await createServer({
    configFile: `${root}demo/vite.config.ts`,
    // Its own dependency cache: servers sharing one reload each other's pages when they re-optimize.
    cacheDir: `${root}node_modules/.vite-demo-e2e`,
    logLevel: 'error',
    // No reloads from the dev server: only the test reloads pages.
    server: { port: 0, hmr: false, watch: { ignored: ['**/*'] } },
  })
  await server.listen()
  const address = server.httpServer!.address()
  if (address === null || typeof address === 'string') throw new Error('no server address')
  origin = `http://127.0.0.1:${address.port}`
  browser = await chromium.launch({ executablePath: chromiumExecutable(), args: CHROMIUM_WEBGPU_ARGS })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

async function openTab(context: BrowserContext): Promise<Page> {
  const page = await context.newPage()
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`)
  })
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  await page.goto(`${origin}/`)
  await page.waitForSelector('body[data-ready=true]')
  return page
}

interface DemoWindow {
  demo: {
    pool: {
      submit(job: unknown, options: unknown): Promise<{ id: string }>
      snapshot(): Promise<{ capacity: Record<string, number>; used: Record<string, number> }>
      mailbox: {
        fetch(
          key: unknown,
          options: unknown,
        ): Promise<{ messages: { taskId: string; status: string; attempts: number; result?: unknown }[] }>
      }
    }
  }
}

/** Submits `count` small jobs through the page's pool; returns the accepted ids. */
function submitJobs(page: Page, count: number, first: number): Promise<string[]> {
  return page.evaluate(
    async ({ count, first }) => {
      const { pool } = (window as unknown as DemoWindow).demo
      const ids: string[] = []
      for (let i = 0; i < count; i++) {
        const units = 1 + ((first + i) % 5)
        const task = await pool.submit({ units, steps: 3, label: `e2e ${first + i}` }, { cost: { vram: units }, handler: 'job' })
        ids.push(task.id)
      }
      return ids
    },
    { count, first },
  )
}

let lastMessages: { taskId: string; status: string; attempts: number }[] = []

/** How many mailbox messages each task id has, read through the page. */
async function mailboxCounts(page: Page): Promise<Map<string, number>> {
  const messages = await page.evaluate(async () => {
    const { pool } = (window as unknown as DemoWindow).demo
    return (await pool.mailbox.fetch({ tenant: location.origin, user: 'demo-user' }, { limit: 10_000 })).messages
  })
  lastMessages = messages
  const counts = new Map<string, number>()
  for (const message of messages) counts.set(message.taskId, (counts.get(message.taskId) ?? 0) + 1)
  return counts
}

/** Waits until every accepted task has reached the mailbox, then returns the ids not there exactly once. */
async function notExactlyOnce(page: Page, accepted: readonly string[]): Promise<string[]> {
  await expect
    .poll(
      async () => {
        const counts = await mailboxCounts(page)
        return accepted.filter((id) => !counts.has(id)).length
      },
      { timeout: 100_000, interval: 250 },
    )
    .toBe(0)
  const counts = await mailboxCounts(page)
  return accepted.filter((id) => counts.get(id) !== 1)
}

/** What the demo's model `model` generates for `prompt` (greedy), from the same bytes the worker writes. */
function expectedText(model: ModelId, prompt: string, maxTokens: number): string {
  return buildTinyModel(MODELS[model]).expectedCompletion(prompt, maxTokens)
}

/** Asks `model` through the page's form; returns the task id of the new row. */
async function ask(page: Page, model: ModelId, prompt: string, maxTokens: number): Promise<string> {
  const before = await page.locator('#tasks tr').count()
  await page.selectOption('#model', model)
  await page.fill('#prompt', prompt)
  await page.fill('#max-tokens', String(maxTokens))
  await page.click('#prompt-form button[type=submit]')
  await expect.poll(() => page.locator('#tasks tr').count()).toBe(before + 1)
  return (await page.locator('#tasks tr').first().getAttribute('data-task-id'))!
}

function row(page: Page, id: string) {
  return page.locator(`#tasks tr[data-task-id="${id}"]`)
}

describe('the demo as an LLM app', () => {
  it('streams the exact text a prompt generates into its row and the mailbox; a cancel stops the tokens', { timeout: 90_000 }, async () => {
    const context = await browser.newContext()
    const page = await openTab(context)
    const id = await ask(page, 'tiny', 'the', 60)
    const expected = expectedText('tiny', 'the', 60)
    expect(expected.length).toBeGreaterThan(20)
    // While it runs the row counts the tokens streamed so far; at the end it holds the whole text.
    await expect.poll(() => row(page, id).locator('td.output').textContent(), { timeout: 60_000 }).toBe(expected)
    await expect.poll(() => row(page, id).locator('td[class^=status]').textContent()).toBe('completed')
    await expect.poll(() => page.textContent('#mailbox')).toContain(`“${expected}”`)
    expect(await page.textContent('#model-log')).toMatch(/tiny#1 loaded in \d+ ms/)
    // Cancelled mid-generation from its row: no further token reaches the row once it is cancelled.
    const long = await ask(page, 'large', 'lucky', 400)
    await expect.poll(() => row(page, long).locator('td.output').textContent(), { timeout: 60_000 }).toMatch(/\S/)
    await row(page, long).locator('button').click()
    const atCancel = (await row(page, long).locator('td.output').textContent())!
    await expect.poll(() => page.textContent('#lot-text')).toMatch(/^0 running/) // the engine stopped
    const after = (await row(page, long).locator('td.output').textContent())!
    expect(after.startsWith(atCancel.replace(/ \[.*\]$/, ''))).toBe(true)
    expect(after.replace(/ \[.*\]$/, '')).toBe(atCancel.replace(/ \[.*\]$/, ''))
    expect(expectedText('large', 'lucky', 400).startsWith(after.replace(/ \[.*\]$/, ''))).toBe(true)
    // The timeline drew what the loaded models held.
    expect(await page.locator('#timeline polygon.model-large').count()).toBe(1)
    await context.close()
    expect(problems).toEqual([])
  })

  it(
    'two tabs on one budget: a model loaded in one tab is evicted for the other tab’s (screenshots saved)',
    { timeout: 120_000 },
    async () => {
      const context = await browser.newContext()
      const a = await openTab(context)
      // Only tab a lends workers yet: large (31 of 40 units) loads there.
      const first = await ask(a, 'large', 'lucky', 40)
      await expect
        .poll(() => row(a, first).locator('td.output').textContent(), { timeout: 60_000 })
        .toBe(expectedText('large', 'lucky', 40))
      const b = await openTab(context)
      const [large, small] = [COSTS.large.modelUnits(), COSTS.small.modelUnits()]
      await expect.poll(() => b.textContent('#models-list')).toContain(`large#1: ready, ${large} units`)
      // small (10 units) does not fit beside the idle large: large is evicted from tab a's worker, for tab b's prompt.
      const second = await ask(b, 'small', 'big', 40)
      await expect.poll(() => row(b, second).locator('td.output').textContent(), { timeout: 60_000 }).toBe(expectedText('small', 'big', 40))
      for (const page of [a, b]) {
        await expect.poll(() => page.textContent('#model-log')).toMatch(/large#1 evicted/)
        await expect.poll(() => page.textContent('#vram-split')).toContain(`loaded models hold ${small} (small ${small})`)
      }
      mkdirSync(screenshots, { recursive: true })
      await a.screenshot({ path: `${screenshots}llm-tab-a.png`, fullPage: true })
      await b.screenshot({ path: `${screenshots}llm-tab-b.png`, fullPage: true })
      await saveSideBySide(context, [`${screenshots}llm-tab-a.png`, `${screenshots}llm-tab-b.png`], `${screenshots}llm-two-tabs.png`)
      await context.close()
      expect(problems).toEqual([])
    },
  )

  it('a tab closed mid-generation: after reopening, the full text is in the mailbox', { timeout: 150_000 }, async () => {
    const context = await browser.newContext()
    const page = await openTab(context)
    const id = await ask(page, 'large', 'lucky', 400)
    // Some tokens have streamed: it is mid-generation when the tab (the only one, so the host too) closes.
    await expect.poll(() => row(page, id).locator('td.output').textContent(), { timeout: 60_000 }).toMatch(/\S/)
    expect(await row(page, id).locator('td[class^=status]').textContent()).toMatch(/^running/)
    await page.close()
    const reopened = await openTab(context)
    const expected = expectedText('large', 'lucky', 400)
    await expect
      .poll(
        async () => {
          const messages = await reopened.evaluate(async () => {
            const { pool } = (window as unknown as DemoWindow).demo
            return (await pool.mailbox.fetch({ tenant: location.origin, user: 'demo-user' }, { limit: 1000 })).messages
          })
          return messages.find((message) => message.taskId === id)
        },
        { timeout: 120_000, interval: 250 },
      )
      .toMatchObject({ status: 'completed', result: expected })
    await expect.poll(() => reopened.textContent('#mailbox')).toContain(`“${expected}”`)
    await context.close()
    expect(problems).toEqual([])
  })
})

describe('the demo page', () => {
  it(
    'a reloaded tab shows its jobs still running or parked, labels stay unique, and the mailbox is live in every tab',
    { timeout: 120_000 },
    async () => {
      const context = await browser.newContext()
      const [a, b] = [await openTab(context), await openTab(context)]
      const submitCompute = async (steps: number): Promise<string> => {
        await a.fill('#cost', '8')
        await a.fill('#steps', String(steps))
        const before = await a.locator('#tasks tr').count()
        await a.click('#submit-form button[type=submit]')
        await expect.poll(() => a.locator('#tasks tr').count()).toBe(before + 1)
        return (await a.locator('#tasks tr').first().getAttribute('data-task-id'))!
      }
      const long = [await submitCompute(2000), await submitCompute(2000), await submitCompute(2000)]
      const labels = await a.locator('#tasks tr td:first-child').allTextContents()
      await a.reload()
      await a.waitForSelector('body[data-ready=true]')
      // Every one of them is still parked or running, and back in the reloaded tab's list.
      for (const id of long) await expect.poll(() => a.locator(`#tasks tr[data-task-id="${id}"]`).count()).toBe(1)
      const next = await submitCompute(1)
      const all = await a.locator('#tasks tr td:first-child').allTextContents()
      expect(new Set(all).size).toBe(all.length)
      expect(all).toEqual(expect.arrayContaining(labels))
      // The long jobs are cancelled from tab a, so the short one runs; tab b never clicks Refresh:
      // the host's BroadcastChannel notices bring every outcome into its mailbox list.
      for (const id of long) await a.click(`#tasks tr[data-task-id="${id}"] button`)
      for (const id of [...long, next]) {
        await expect.poll(() => b.locator(`#mailbox li[data-task-id="${id}"]`).count(), { timeout: 60_000 }).toBe(1)
      }
      expect(await b.textContent(`#mailbox li[data-task-id="${next}"]`)).toMatch(/done on/)
      await context.close()
      expect(problems).toEqual([])
    },
  )

  it('shows one shared budget in two tabs (screenshot saved) and logs no errors', { timeout: 60_000 }, async () => {
    const context = await browser.newContext()
    const [a, b] = [await openTab(context), await openTab(context)]
    // Each tab lends its workers; both see the sum.
    await expect.poll(() => a.textContent('#workers-text')).toBe('0 / 2')
    for (let i = 0; i < 3; i++) {
      await a.fill('#cost', '5')
      await a.fill('#steps', '2000')
      await a.click('#submit-form button[type=submit]')
      await a.waitForSelector(`#submit-status:has-text("Accepted job ${i + 1}")`)
    }
    await b.fill('#cost', '2')
    await b.selectOption('#priority', 'high')
    await b.fill('#steps', '2000')
    await b.click('#submit-form button[type=submit]')
    await b.waitForSelector('#tasks tr')
    // Two worker slots (one per tab): two of a's jobs run; b's high-priority job is first in line.
    await expect.poll(() => a.textContent('#lot-text')).toMatch(/^2 running · 2 parked/)
    await expect.poll(() => b.textContent('#lot-text')).toMatch(/^2 running · 2 parked/)
    await expect.poll(() => b.textContent('#vram-text')).toBe('10 / 40')
    await expect.poll(() => a.textContent('#vram-text')).toBe('10 / 40')
    await expect.poll(() => b.textContent('#tasks')).toMatch(/high\s*parked, #1 in line/)
    await expect.poll(() => a.textContent('#tasks')).toMatch(/pass \d+\/2000/)
    mkdirSync(screenshots, { recursive: true })
    await a.screenshot({ path: `${screenshots}demo-tab-a.png`, fullPage: true })
    await b.screenshot({ path: `${screenshots}demo-tab-b.png`, fullPage: true })
    await saveSideBySide(context, [`${screenshots}demo-tab-a.png`, `${screenshots}demo-tab-b.png`], `${screenshots}demo-two-tabs.png`)
    // Cancel what still runs, through the page's buttons.
    for (const page of [a, b]) {
      const enabled = page.locator('#tasks button:not([disabled])')
      while ((await enabled.count()) > 0) {
        const label = await enabled.first().getAttribute('aria-label')
        await enabled.first().click()
        await page.waitForSelector(`#tasks button[aria-label="${label}"][disabled]`)
      }
    }
    await expect.poll(() => a.textContent('#lot-text')).toMatch(/^0 running · 0 parked/)
    await context.close()
    expect(problems).toEqual([])
  })

  it('loses and duplicates nothing when the page reloads mid-run 10 times', { timeout: 180_000 }, async () => {
    const context = await browser.newContext()
    const page = await openTab(context)
    const accepted: string[] = []
    for (let round = 0; round < 10; round++) {
      accepted.push(...(await submitJobs(page, 4, round * 4)))
      await page.reload() // mid-run: jobs are running and parked
      await page.waitForSelector('body[data-ready=true]')
    }
    expect(await notExactlyOnce(page, accepted)).toEqual([])
    // The reloads did cut running jobs short: some needed more than one attempt.
    expect(lastMessages.some((m) => m.attempts > 1)).toBe(true)
    await context.close()
    expect(problems).toEqual([])
  })

  it('loses and duplicates nothing when every tab closes mid-run (the host dies too) and one reopens', { timeout: 180_000 }, async () => {
    const context = await browser.newContext()
    const [a, b] = [await openTab(context), await openTab(context)]
    const accepted = [...(await submitJobs(a, 8, 0)), ...(await submitJobs(b, 8, 100))]
    await a.close()
    await b.close()
    const reopened = await openTab(context)
    expect(await notExactlyOnce(reopened, accepted)).toEqual([])
    await context.close()
    expect(problems).toEqual([])
  })
})

/** Puts two screenshots side by side in one image, using the browser to compose them. */
async function saveSideBySide(context: BrowserContext, files: string[], out: string): Promise<void> {
  const page = await context.newPage()
  const images = files
    .map(
      (file) =>
        `<img alt="" style="width:calc(50% - 10px);align-self:flex-start" src="data:image/png;base64,${readFileSync(file).toString('base64')}">`,
    )
    .join('')
  await page.setViewportSize({ width: 2580, height: 1200 })
  await page.setContent(`<body style="margin:0;display:flex;gap:20px;background:#888">${images}</body>`)
  await page.locator('body').screenshot({ path: out })
  writeFileSync(`${out}.txt`, 'Two tabs of the demo, side by side: both show the same shared capacity.\n')
  await page.close()
}
