/*
 * The demo as an installable, offline-first app, in Debian's Chromium driven by Playwright: the
 * production build (what `npm start` serves: its service worker, its Content-Security-Policy)
 * loads once online; then the browser goes offline for real (Playwright's `setOffline`, which
 * does not cover the service worker's own fetches, and the server stopped too), the page reloads
 * from the service worker, a prompt generates, and 50 network tasks of mixed priorities park;
 * after a reload still offline they are all there; back online (server restarted on the same
 * origin, `network: 4`) they start in priority order and reach the server exactly once each.
 * Through the SharedWorker host and in leader mode. Screenshots go to test-results/screenshots.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright'
import { build, preview, type PreviewServer } from 'vite'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { COSTS, MODELS, NETWORK_UNITS, type Job } from '../demo/config.js'
import { syncLog } from '../demo/sync-endpoint.js'
import { buildTinyModel } from '../src/wllama/gguf-entry.js'
import { CHROMIUM_WEBGPU_ARGS, chromiumExecutable } from '../test/chromium.js'

const root = new URL('..', import.meta.url).pathname
const configFile = `${root}demo/vite.config.ts`
const screenshots = new URL('../test-results/screenshots/', import.meta.url).pathname
const outDir = mkdtempSync(join(tmpdir(), 'ppl-pwa-'))
let port = 0
let origin = ''
let server: PreviewServer | undefined
let browser: Browser

/** A port nobody listens on now, so the server can stop and start again on one origin. */
async function freePort(): Promise<number> {
  const probe = createNetServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const address = probe.address()
  await new Promise((resolve) => probe.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

async function startServer(): Promise<void> {
  server = await preview({ configFile, logLevel: 'error', build: { outDir }, preview: { port, strictPort: true, open: false } })
}

async function stopServer(): Promise<void> {
  await server?.close()
  server = undefined
}

beforeAll(async () => {
  await build({ configFile, logLevel: 'error', build: { outDir, emptyOutDir: true } })
  port = await freePort()
  origin = `http://127.0.0.1:${port}`
  await startServer()
  browser = await chromium.launch({ executablePath: chromiumExecutable(), args: CHROMIUM_WEBGPU_ARGS })
  mkdirSync(screenshots, { recursive: true })
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await stopServer()
  rmSync(outDir, { recursive: true, force: true })
})

/** Console errors, page errors and Content-Security-Policy violations of the pages: none, after each test. */
const problems: string[] = []
/** The installability test's inline script, refused on purpose. */
let probingPolicy = false
afterEach(() => {
  expect(problems.splice(0)).toEqual([])
})

async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext()
  // Reports each policy violation of a document (a worker's are logged to the console, heard below).
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) =>
      console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`),
    )
  })
  return context
}

async function openDemo(context: BrowserContext, query = ''): Promise<Page> {
  if (server === undefined) await startServer() // a test that failed offline left it stopped
  let page = context.pages()[0]
  if (page === undefined) {
    page = await context.newPage()
    page.on('console', (message) => {
      // The update test's probe is told 503 on purpose (the server says it cannot take syncs yet).
      const probeHeld = message.location().url === `${origin}/api/health` && message.text().includes('status of 503')
      const inlineRefused = probingPolicy && /inline script|CSP violation: script-src/.test(message.text())
      if (message.type() === 'error' && !probeHeld && !inlineRefused)
        problems.push(`console error: ${message.text()} (${message.location().url})`)
    })
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  }
  await page.goto(`${origin}/${query}`)
  await page.waitForSelector('body[data-ready=true]')
  return page
}

async function reload(page: Page): Promise<void> {
  await page.reload()
  await page.waitForSelector('body[data-ready=true]')
}

interface DemoWindow {
  demo: {
    pool: {
      submit(job: Job, options: unknown): Promise<{ id: string; result: Promise<unknown> }>
      snapshot(): Promise<{ capacity: Record<string, number>; parkedTotal: number }>
      on(event: 'started', listener: (event: { task: { id: string } }) => void): void
    }
  }
  starts?: string[]
}

const network = (page: Page): Promise<number | undefined> =>
  page.evaluate(async () => (await (window as unknown as DemoWindow).demo.pool.snapshot()).capacity['network'])

const parkedTotal = (page: Page): Promise<number> =>
  page.evaluate(async () => (await (window as unknown as DemoWindow).demo.pool.snapshot()).parkedTotal)

/** How many sync posts of ids starting `${prefix}-` reached the endpoint. */
const arrivedWith = (prefix: string): number => syncLog.arrivals.filter((a) => a.id.startsWith(`${prefix}-`)).length

const PRIORITIES = ['low', 'normal', 'high', 'critical'] as const

/** Submits `count` sync tasks of mixed priorities (a fixed mix); answers their ids and priorities. */
function submitSyncTasks(page: Page, prefix: string, count: number): Promise<{ id: string; taskId: string; priority: string }[]> {
  return page.evaluate(
    async ({ prefix, count, priorities }) => {
      const { pool } = (window as unknown as DemoWindow).demo
      const out: { id: string; taskId: string; priority: string }[] = []
      for (let i = 0; i < count; i++) {
        const priority = priorities[(i * 5 + 3) % priorities.length]!
        const id = `${prefix}-${i}`
        const job: Job = { kind: 'sync', id, priority, label: `sync ${id}` }
        const task = await pool.submit(job, { handler: 'sync', cost: { network: 1 }, priority })
        out.push({ id, taskId: task.id, priority })
      }
      return out
    },
    { prefix, count, priorities: [...PRIORITIES] },
  )
}

/** Generates with the demo's tiny model through the page's pool; answers the text. */
function generate(page: Page, prompt: string, maxTokens: number): Promise<unknown> {
  const cost = COSTS.tiny.cost({ promptTokens: prompt.length + 1, maxTokens })
  return page.evaluate(
    async ({ prompt, maxTokens, cost }) => {
      const { pool } = (window as unknown as DemoWindow).demo
      const job: Job = { kind: 'prompt', model: 'tiny', prompt, maxTokens, label: 'offline prompt' }
      const task = await pool.submit(job, { handler: 'generate', model: 'tiny', cost })
      try {
        return await task.result
      } catch (error) {
        // Named in full (a rejection crossing page.evaluate keeps little of it).
        const cause = error instanceof Error && error.cause !== undefined ? `; cause: ${String(error.cause)}` : ''
        return `failed: ${String(error)}${cause}`
      }
    },
    { prompt, maxTokens, cost },
  )
}

/** Online once (the service worker installs and takes the page), then offline for real. */
async function visitThenGoOffline(context: BrowserContext, query: string): Promise<Page> {
  const page = await openDemo(context, query)
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready
    if (navigator.serviceWorker.controller === null) {
      await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }))
    }
  })
  await expect.poll(() => network(page)).toBe(NETWORK_UNITS)
  await context.setOffline(true)
  await stopServer()
  await expect.poll(() => network(page)).toBe(0)
  return page
}

/** Back online: the server again on the same origin, then the browser. */
async function goOnline(context: BrowserContext): Promise<void> {
  await startServer()
  await context.setOffline(false)
}

async function networkTasksOffline(mode: 'shared-worker' | 'leader'): Promise<void> {
  const context = await newContext()
  const page = await visitThenGoOffline(context, mode === 'leader' ? '?mode=leader' : '')
  await reload(page) // from the service worker: the server is down and the browser offline
  await expect.poll(() => network(page)).toBe(0)

  const submitted = await submitSyncTasks(page, mode, 50)
  await reload(page) // still offline: the durable queue keeps them
  await page.screenshot({ path: `${screenshots}pwa-offline-parked-${mode}.png`, fullPage: true })
  expect(await parkedTotal(page)).toBe(50)
  expect(arrivedWith(mode)).toBe(0)

  // The start order, as the pool reports it to this tab.
  await page.evaluate(() => {
    const win = window as unknown as DemoWindow
    win.starts = []
    win.demo.pool.on('started', ({ task }) => win.starts!.push(task.id))
  })
  await goOnline(context)
  await expect.poll(() => arrivedWith(mode), { timeout: 60_000 }).toBe(50)
  for (const { id } of submitted) expect(syncLog.counts.get(id)).toBe(1)
  const starts = await page.evaluate(() => (window as unknown as DemoWindow).starts!)
  const priorityOf = new Map(submitted.map((s) => [s.taskId, s.priority]))
  const ranks = starts.map((taskId) => PRIORITIES.indexOf(priorityOf.get(taskId) as (typeof PRIORITIES)[number]))
  expect(ranks).toHaveLength(50)
  expect(ranks).toEqual([...ranks].sort((a, b) => b - a))
  await page.screenshot({ path: `${screenshots}pwa-online-drained-${mode}.png`, fullPage: true })
  await context.close()
}

describe('the demo as an offline-first PWA (production build, service worker, CSP)', () => {
  it('is installable: a manifest with name, start URL, standalone display and 192/512 icons; a service worker controls the page', async () => {
    const context = await newContext()
    const page = await openDemo(context)
    const manifestUrl = await page.getAttribute('link[rel=manifest]', 'href')
    expect(manifestUrl).toBe('/manifest.webmanifest')
    const manifest = JSON.parse(readFileSync(join(outDir, 'manifest.webmanifest'), 'utf8')) as {
      name: string
      short_name: string
      start_url: string
      display: string
      icons: { src: string; sizes: string; type: string }[]
    }
    expect(manifest).toMatchObject({ start_url: '/', display: 'standalone' })
    expect(manifest.name.length).toBeGreaterThan(0)
    expect(manifest.short_name.length).toBeGreaterThan(0)
    for (const size of ['192x192', '512x512']) {
      const icon = manifest.icons.find((i) => i.sizes === size && i.type === 'image/png')
      expect(icon).toBeDefined()
      const response = await page.request.get(`${origin}${icon!.src}`)
      expect(response.status()).toBe(200)
      expect([...(await response.body()).subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG')
    }
    const registration = await page.evaluate(async () => {
      const ready = await navigator.serviceWorker.ready
      return { scope: ready.scope, script: ready.active?.scriptURL }
    })
    expect(registration).toEqual({ scope: `${origin}/`, script: `${origin}/sw.js` })
    // The page is served with its policy and cross-origin isolation.
    const response = await page.request.get(`${origin}/`)
    expect(response.headers()['content-security-policy']).toMatch(/script-src 'self' 'wasm-unsafe-eval'/)
    expect(response.headers()['cross-origin-embedder-policy']).toBe('require-corp')
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true)
    // Chromium's own verdict: nothing stands in the way of installing it.
    const cdp = await context.newCDPSession(page)
    const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: unknown[] }
    // (Playwright's contexts are off the record, and Chromium installs nothing from one: that one aside.)
    expect(installabilityErrors.filter((error) => (error as { errorId: string }).errorId !== 'in-incognito')).toEqual([])
    // An inline script does not run: the policy refuses it.
    probingPolicy = true
    const inline = await page.evaluate(
      () =>
        new Promise<{ ran: boolean; directive: string }>((resolve) => {
          document.addEventListener(
            'securitypolicyviolation',
            (event) => resolve({ ran: 'inlineRan' in window, directive: event.violatedDirective }),
            {
              once: true,
            },
          )
          const script = document.createElement('script')
          script.textContent = 'window.inlineRan = true'
          document.head.append(script)
        }),
    )
    probingPolicy = false
    expect(inline).toEqual({ ran: false, directive: 'script-src-elem' })
    await context.close()
  })

  it(
    'offline for real, it loads from the service worker and a prompt generates the text llama.cpp gives',
    { timeout: 120_000 },
    async () => {
      const context = await newContext()
      const page = await visitThenGoOffline(context, '')
      await reload(page)
      const text = await generate(page, 'the', 6)
      expect(text).toBe(buildTinyModel(MODELS.tiny).expectedCompletion('the', 6))
      await page.screenshot({ path: `${screenshots}pwa-offline-prompt.png`, fullPage: true })
      await goOnline(context)
      await context.close()
    },
  )

  it(
    'through the SharedWorker host: 50 network tasks park offline, survive a reload, then run in priority order, each once',
    { timeout: 120_000 },
    () => networkTasksOffline('shared-worker'),
  )

  it('in leader mode: the same', { timeout: 120_000 }, () => networkTasksOffline('leader'))

  it(
    'a service-worker update while network tasks wait loses none of them: the new version takes over, each task reaches the server once',
    { timeout: 120_000 },
    async () => {
      const context = await newContext()
      let page = await visitThenGoOffline(context, '')
      const cachesNow = (): Promise<string[]> => page.evaluate(() => caches.keys())
      const [before] = await cachesNow()
      const submitted = await submitSyncTasks(page, 'update', 20)
      // A new release: the same app under a new service-worker version. The server is back but says
      // it cannot take syncs yet (its probe answers 503): the tasks stay parked through the update.
      const file = join(outDir, 'sw.js')
      writeFileSync(file, readFileSync(file, 'utf8').replace(before!, `${before!}-next`))
      syncLog.healthy = false
      await goOnline(context)
      await reload(page) // the navigation finds the new service worker: it installs, and waits
      await page.evaluate(async () => {
        const registration = (await navigator.serviceWorker.getRegistration())!
        await registration.update()
        const next = registration.installing ?? registration.waiting
        if (next === null) throw new Error('no new service worker was found')
        if (next.state === 'installing')
          await new Promise<void>((resolve) => next.addEventListener('statechange', () => next.state === 'installed' && resolve()))
      })
      // Once the old version's last tab closes, the new one takes over (and drops the old cache).
      await page.close()
      page = await openDemo(context)
      await expect.poll(cachesNow, { timeout: 30_000 }).toEqual([`${before!}-next`])
      expect(await network(page)).toBe(0)
      expect(await parkedTotal(page)).toBe(20)
      syncLog.healthy = true
      await reload(page) // its probe now answers: the network opens
      await expect.poll(() => arrivedWith('update'), { timeout: 60_000 }).toBe(20)
      for (const { id } of submitted) expect(syncLog.counts.get(id)).toBe(1)
      await context.close()
    },
  )
})
