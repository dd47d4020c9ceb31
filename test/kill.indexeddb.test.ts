/**
 * Kill test (Chromium): a page submits to a pool on IndexedDB (default and journaled durability)
 * or on PGlite in OPFS; the browser is killed with SIGKILL mid-run and started again on the same
 * profile directory, 10 times (BROWSER_KILL_RUNS). Kills alternate between the browser's main
 * process and its whole process group. Every task whose `submit` resolved (logged by the page,
 * recorded here) ends with exactly one terminal record. Chromium may wipe an IndexedDB database
 * (google/leveldb#1287: a kill between the two writes of a log record; it then deletes the
 * origin's database): wipes are counted apart. On plain IndexedDB a loss is allowed only inside a
 * wipe the library reported, bounded by what it reported; journaled, and on PGlite, none at all.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright'
import { createServer, type ViteDevServer } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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
  // Its own process group, so a kill can take the whole browser at once.
  const child = spawn(chromiumExecutable(), [...CHROMIUM_ARGS, `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank'], {
    stdio: 'ignore',
    detached: true,
  })
  // Chromium writes the file once its DevTools server listens; on a loaded 2-core machine that can
  // take seconds. It may be seen created but not yet written: wait for the port number itself.
  const portIn = (): string | undefined => {
    const line = existsSync(portFile) ? readFileSync(portFile, 'utf8').split('\n')[0] : undefined
    return line !== undefined && /^\d+$/.test(line) ? line : undefined
  }
  for (let i = 0; i < 600 && portIn() === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 50))
  const port = portIn()
  if (port === undefined) throw new Error(`Chromium did not write its DevTools port to ${portFile} within 30 s`)
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
async function kill(child: ChildProcess, profile: string, whole: 'main process' | 'process group'): Promise<void> {
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    if (whole === 'process group') process.kill(-child.pid!, 'SIGKILL')
    else child.kill('SIGKILL')
  })
  for (let i = 0; i < 600; i++) {
    if (!processesOn(profile)) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`processes of the killed browser on ${profile} were still running after 30 s`)
}

/** Deletes the profile's IndexedDB files of the test origin, as Chromium's recovery does; 1 if there were any. */
function deleteIndexedDB(profile: string): number {
  const directory = join(profile, 'Default', 'IndexedDB')
  if (!existsSync(directory)) return 0
  const ours = readdirSync(directory).filter((name) => name.startsWith('http_127.0.0.1_'))
  for (const name of ours) rmSync(join(directory, name), { recursive: true, force: true })
  return ours.length > 0 ? 1 : 0
}

interface Wipe {
  /** The start that found the database wiped: tasks accepted in earlier starts may be gone. */
  readonly run: number
  readonly tasks: string
  readonly messages: string
  readonly rebuilt: boolean
}

/** Listens for the page's `accepted`, `wiped` and `drained` lines. */
function listen(page: Page, run: number, accepted: Map<number, { id: string; run: number }>, wipes: Wipe[]) {
  let ready!: () => void
  let drained!: (records: string) => void
  const lines = {
    ready: new Promise<void>((resolve) => (ready = resolve)),
    drained: new Promise<string>((resolve) => (drained = resolve)),
  }
  page.on('console', (message) => {
    const text = message.text()
    if (text === 'ready') ready()
    if (text.startsWith('drained ')) drained(text.slice('drained '.length))
    const match = /^accepted (\d+) (\S+)$/.exec(text)
    if (match !== null) accepted.set(Number(match[1]), { id: match[2]!, run })
    const wiped = /^wiped (\S+) (\S+) (true|false)$/.exec(text)
    if (wiped !== null) wipes.push({ run, tasks: wiped[1]!, messages: wiped[2]!, rebuilt: wiped[3] === 'true' })
  })
  return lines
}

const CONFIGURATIONS = [
  { name: 'IndexedDB', durability: 'default', store: 'indexeddb', promise: 'loses no accepted task outside a reported wipe' },
  { name: 'IndexedDB journaled', durability: 'journaled', store: 'indexeddb', promise: 'loses no accepted task, wipes included' },
  { name: 'PGlite on OPFS', durability: 'default', store: 'pglite-opfs', promise: 'loses no accepted task' },
] as const

describe.each(CONFIGURATIONS)('$name', ({ name, durability, store, promise }) => {
  it.skipIf(!LINUX)(
    `${promise}, and duplicates no terminal record, across ${KILLS} browser kills`,
    async () => {
      const profile = mkdtempSync(join(tmpdir(), 'ppl-chromium-'))
      const app = `${origin}/e2e/kill-app/index.html?durability=${durability}&store=${store}`
      try {
        const accepted = new Map<number, { id: string; run: number }>()
        const wipes: Wipe[] = []
        let forced = 0
        let first = 0
        for (let run = 0; run < KILLS; run++) {
          // Journaled: every third start finds the database gone, as after a LevelDB wipe, so the
          // rebuild is put through kills even in runs where Chromium wipes nothing by itself.
          if (durability === 'journaled' && run % 3 === 2) forced += deleteIndexedDB(profile)
          const { process: child, browser } = await startBrowser(profile)
          const page = await browser.contexts()[0]!.newPage()
          const lines = listen(page, run, accepted, wipes)
          await page.goto(`${app}&first=${first}`)
          await lines.ready
          // PGlite spends its first second starting; give it as long again to submit.
          const submitting = (store === 'pglite-opfs' ? 1000 : 0) + 150 + ((run * 137) % 500)
          await new Promise((resolve) => setTimeout(resolve, submitting))
          await kill(child, profile, run % 2 === 0 ? 'main process' : 'process group')
          first = Math.max(first, ...accepted.keys()) + 2 // skip one: a submit may have been in flight
        }
        const { process: child, browser } = await startBrowser(profile)
        const page = await browser.contexts()[0]!.newPage()
        const lines = listen(page, KILLS, accepted, wipes)
        await page.goto(`${app}&drain`)
        const records = JSON.parse(await lines.drained) as { taskId: string; status: string; attempts: number }[]
        await browser.close()
        await kill(child, profile, 'process group')

        const terminal = new Map<string, number>()
        for (const record of records) terminal.set(record.taskId, (terminal.get(record.taskId) ?? 0) + 1)
        const missing = [...accepted.values()].filter(({ id }) => !terminal.has(id))
        // A task accepted before a start that reported a wipe may have gone with the database: as
        // many as the wipe says it held (tasks and messages, noted up to a second before the kill),
        // plus what the start before it accepted (the second the note may lag).
        const inWipe = ({ run }: { run: number }): boolean => name === 'IndexedDB' && wipes.some((wipe) => run < wipe.run)
        const lost = missing.filter((task) => !inWipe(task))
        const acceptedIn = (run: number): number => [...accepted.values()].filter((task) => task.run === run).length
        const excusable = wipes.reduce((sum, wipe) => sum + Number(wipe.tasks) + Number(wipe.messages) + acceptedIn(wipe.run - 1), 0)
        const duplicated = [...terminal].filter(([, n]) => n > 1)
        console.log(
          `browser kill test, ${name}: ${KILLS} kills (main process and process group alternating), ${accepted.size} accepted, ` +
            `${records.length} terminal records, ${records.filter((r) => r.attempts > 1).length} re-run or retried; ` +
            `${wipes.length} wipes reported (${wipes.map((w) => `start ${w.run}: ${w.tasks} tasks, ${w.messages} messages ${w.rebuilt ? 'rebuilt' : 'noted'}`).join('; ') || 'none'}), ` +
            `${missing.length - lost.length} accepted tasks went with them` +
            (durability === 'journaled' ? `; ${forced} of the wipes forced by deleting the database between kills` : ''),
        )
        expect(accepted.size).toBeGreaterThan(KILLS)
        expect(lost).toEqual([])
        expect(missing.length - lost.length).toBeLessThanOrEqual(excusable)
        expect(duplicated).toEqual([])
        if (durability === 'journaled') {
          expect(wipes.filter((wipe) => !wipe.rebuilt)).toEqual([])
          expect(wipes.length).toBeGreaterThanOrEqual(forced)
        }
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
    Math.max(600_000, KILLS * 6_000),
  )
})
