/**
 * Kill test (Chromium): a page submits to an IndexedDB-backed pool; the browser process is killed
 * with SIGKILL mid-run and started again on the same profile directory, 10 times. Every task whose
 * `submit` resolved (logged by the page, recorded here) ends with exactly one terminal record.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright'
import { createServer, type ViteDevServer } from 'vite'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { chromiumExecutable, CHROMIUM_ARGS } from './chromium.js'

const KILLS = Number(process.env['BROWSER_KILL_RUNS'] ?? 10)
// Between kills the test waits until no process names the profile, read from /proc.
const LINUX = existsSync('/proc/self/cmdline')
if (!LINUX) console.warn("skipped: the browser kill test reads /proc to see a killed browser's helpers exit (Linux only)")
let server: ViteDevServer
let origin: string

beforeAll(async () => {
  server = await createServer({
    configFile: false,
    root: new URL('..', import.meta.url).pathname,
    logLevel: 'error',
    // No reloads: an edit elsewhere must not navigate the page under test.
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: { ignored: ['**/*'] } },
    optimizeDeps: { exclude: ['@electric-sql/pglite'] },
    // Its own dependency cache: test files run at once, and servers sharing one cache reload each other's pages.
    cacheDir: 'node_modules/.vite-kill-test',
  })
  await server.listen()
  const address = server.httpServer!.address()
  if (address === null || typeof address === 'string') throw new Error('no server address')
  origin = `http://127.0.0.1:${address.port}`
}, 60_000)
afterAll(() => server?.close())

/** Starts Chromium itself (Playwright's launch hides its process), on a persistent profile. */
async function startBrowser(profile: string): Promise<{ process: ChildProcess; browser: Browser }> {
  const portFile = join(profile, 'DevToolsActivePort')
  rmSync(portFile, { force: true })
  const child = spawn(chromiumExecutable(), [...CHROMIUM_ARGS, `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank'], {
    stdio: 'ignore',
  })
  // Chromium writes the file once its DevTools server listens; on a loaded 2-core machine that can take seconds.
  for (let i = 0; i < 600 && !existsSync(portFile); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  if (!existsSync(portFile)) throw new Error(`Chromium did not write ${portFile} within 30 s`)
  const port = readFileSync(portFile, 'utf8').split('\n')[0]
  const browser = await chromium.connectOverCDP(`http://127.0.0.1:${port}`)
  return { process: child, browser }
}

/** Whether any process's command line names this profile (read from /proc: Linux only, like this test). */
function processesOn(profile: string): boolean {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`--user-data-dir=${profile}`)) return true
    } catch {
      // the process ended while we looked
    }
  }
  return false
}

/**
 * SIGKILLs the browser process, then waits until every process still running on this profile
 * (the storage and network helpers notice their parent's death only later) is gone too. Starting
 * the next browser while an old storage helper still writes the profile corrupts its IndexedDB,
 * and Chromium then deletes the origin's databases: a harness artifact, not a crash outcome.
 */
async function kill(child: ChildProcess, profile: string): Promise<void> {
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })
  for (let i = 0; i < 600; i++) {
    if (!processesOn(profile)) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`processes of the killed browser on ${profile} were still running after 30 s`)
}

it.skipIf(!LINUX)(
  `loses no accepted task and duplicates no terminal record across ${KILLS} browser kills`,
  async () => {
    const profile = mkdtempSync(join(tmpdir(), 'ppl-chromium-'))
    try {
      const accepted = new Map<number, string>()
      let first = 0
      for (let run = 0; run < KILLS; run++) {
        const { process: child, browser } = await startBrowser(profile)
        const page = await browser.contexts()[0]!.newPage()
        const ready = new Promise<void>((resolve) => {
          page.on('console', (message) => {
            const text = message.text()
            if (text === 'ready') resolve()
            const match = /^accepted (\d+) (\S+)$/.exec(text)
            if (match !== null) accepted.set(Number(match[1]), match[2]!)
          })
        })
        await page.goto(`${origin}/e2e/kill-app/index.html?first=${first}`)
        await ready
        await new Promise((resolve) => setTimeout(resolve, 150 + ((run * 137) % 500)))
        await kill(child, profile)
        first = Math.max(first, ...accepted.keys()) + 2 // skip one: a submit may have been in flight
      }
      const { process: child, browser } = await startBrowser(profile)
      const page = await browser.contexts()[0]!.newPage()
      const drained = new Promise<string>((resolve) => page.on('console', (m) => m.text().startsWith('drained ') && resolve(m.text())))
      await page.goto(`${origin}/e2e/kill-app/index.html?drain`)
      const records = JSON.parse((await drained).slice('drained '.length)) as { taskId: string; status: string; attempts: number }[]
      await browser.close()
      await kill(child, profile)

      const terminal = new Map<string, number>()
      for (const record of records) terminal.set(record.taskId, (terminal.get(record.taskId) ?? 0) + 1)
      const lost = [...accepted.values()].filter((id) => !terminal.has(id))
      const duplicated = [...terminal].filter(([, n]) => n > 1)
      console.log(
        `browser kill test: ${KILLS} kills, ${accepted.size} accepted, ${records.length} terminal records, ${records.filter((r) => r.attempts > 1).length} re-run or retried`,
      )
      expect(accepted.size).toBeGreaterThan(KILLS)
      expect(lost).toEqual([])
      expect(duplicated).toEqual([])
    } finally {
      // Helper processes of the killed browser may still be writing to the profile for a moment.
      // A cleanup failure must not hide the test's own outcome: it only leaves a temp dir behind.
      try {
        rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 })
      } catch (error) {
        console.warn(`left the browser profile ${profile} behind: ${String(error)}`)
      }
    }
  },
  600_000,
)
