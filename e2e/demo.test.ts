/*
 * The demo page driven by Playwright in Debian's Chromium (WebGPU on: a SwiftShader adapter):
 * two tabs share one budget (screenshot saved), reloads and closing every tab lose nothing, and
 * no page logs an error.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright'
import { createServer, type ViteDevServer } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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
      mailbox: { fetch(key: unknown, options: unknown): Promise<{ messages: { taskId: string; status: string; attempts: number }[] }> }
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

describe('the demo page', () => {
  it('shows one shared budget in two tabs (screenshot saved) and logs no errors', { timeout: 60_000 }, async () => {
    const context = await browser.newContext()
    const [a, b] = [await openTab(context), await openTab(context)]
    // Each tab lends its workers; both see the sum.
    await expect.poll(() => a.textContent('#workers-text')).toBe('0 / 2')
    for (let i = 0; i < 3; i++) {
      await a.fill('#cost', '5')
      await a.fill('#steps', '400')
      await a.click('button[type=submit]')
      await a.waitForSelector(`#submit-status:has-text("Accepted job ${i + 1}")`)
    }
    await b.fill('#cost', '2')
    await b.selectOption('#priority', 'high')
    await b.fill('#steps', '400')
    await b.click('button[type=submit]')
    await b.waitForSelector('#tasks tr')
    // Two worker slots (one per tab): two of a's jobs run; b's high-priority job is first in line.
    await expect.poll(() => a.textContent('#lot-text')).toMatch(/^2 running · 2 parked/)
    await expect.poll(() => b.textContent('#lot-text')).toMatch(/^2 running · 2 parked/)
    await expect.poll(() => b.textContent('#vram-text')).toBe('10 / 12')
    await expect.poll(() => a.textContent('#vram-text')).toBe('10 / 12')
    await expect.poll(() => b.textContent('#tasks')).toMatch(/high\s*parked, #1 in line/)
    await expect.poll(() => a.textContent('#tasks')).toMatch(/pass \d+\/400/)
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
