/**
 * Kill test (Node): a child process running a pool on PGlite on a data directory is killed with
 * SIGKILL at seeded random moments, 30 times, while submitting and running. Afterwards every task
 * whose `submit` resolved (as the child reported before dying) has exactly one terminal record in
 * the mailbox, and no task has two.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { expect, it } from 'vitest'
import { mulberry32 } from './random.js'

const KILLS = Number(process.env['KILL_RUNS'] ?? 30)
const CHILD = new URL('./kill/pglite-child.ts', import.meta.url).pathname

/** Runs the child until it has been up for `lifeMs` after opening, then SIGKILLs it. */
function runAndKill(dataDir: string, first: number, seed: number, lifeMs: number, accepted: Map<number, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, String(first), String(seed)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let next = first
    const lines = createInterface({ input: child.stdout })
    lines.on('line', (line) => {
      if (line === 'ready') {
        setTimeout(() => child.kill('SIGKILL'), lifeMs)
        return
      }
      const match = /^accepted (\d+) (\S+)$/.exec(line)
      if (match !== null) {
        accepted.set(Number(match[1]), match[2]!)
        next = Math.max(next, Number(match[1]) + 1)
      }
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL')
        resolve(next + 1) // leave a gap: the last submit may have been in flight
      else reject(new Error(`child exited on its own (code ${code}, signal ${signal})`))
    })
  })
}

it(`loses no accepted task and duplicates no terminal record across ${KILLS} SIGKILLs`, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ppl-kill-'))
  try {
    const rand = mulberry32(2026)
    const accepted = new Map<number, string>()
    let first = 0
    for (let run = 0; run < KILLS; run++) {
      first = await runAndKill(dataDir, first, run + 1, 30 + Math.floor(rand() * 600), accepted)
    }
    const drain = spawnSync(process.execPath, ['--import', 'tsx', CHILD, dataDir, 'drain'], { encoding: 'utf8', timeout: 120_000 })
    expect(drain.status, drain.stderr).toBe(0)
    const records = JSON.parse(drain.stdout.trim().split('\n').at(-1)!) as { taskId: string; status: string; attempts: number }[]
    const terminal = new Map<string, string[]>()
    for (const record of records) terminal.set(record.taskId, [...(terminal.get(record.taskId) ?? []), record.status])
    const duplicates = [...terminal].filter(([, statuses]) => statuses.length > 1)
    const lost = [...accepted.values()].filter((id) => !terminal.has(id))
    console.log(
      `kill test: ${KILLS} kills, ${accepted.size} accepted, ${records.length} terminal records, ${records.filter((r) => r.attempts > 1).length} re-run or retried`,
    )
    expect(accepted.size).toBeGreaterThan(KILLS)
    expect(lost).toEqual([])
    expect(duplicates).toEqual([])
    // A task re-run after every kill can run out of attempts (failed); nothing else ends them here.
    expect(records.every((r) => r.status === 'completed' || r.status === 'failed')).toBe(true)
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}, 900_000)
