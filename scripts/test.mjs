#!/usr/bin/env node
// Every check a change must pass, in order: lint, format, import circles, typecheck, build (ESM +
// .d.ts per subpath), an import check of the built package, then every test (the packed package
// in a temp project among them). Ends with one line "Tests: N passed, N failed" for CI.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const run = (label, command, args, env = {}) => {
  console.log(`\n── ${label}: ${command} ${args.join(' ')}`)
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } })
  if (result.status !== 0) {
    console.error(`\n${label} failed (exit ${result.status ?? result.signal}).`)
    console.log('Tests: 0 passed, 1 failed')
    process.exit(1)
  }
}

// The browser tests need Chromium: CHROMIUM_PATH, or Debian's `chromium` (installed here when root).
function ensureChromium() {
  const given = process.env.CHROMIUM_PATH
  if (given !== undefined) {
    if (!existsSync(given)) fail(`CHROMIUM_PATH is ${given}, which does not exist.`)
    return
  }
  if (spawnSync('sh', ['-c', 'command -v chromium']).status === 0) return
  if (process.getuid?.() !== 0) {
    fail("Chromium is missing. Install Debian's package (sudo apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium binary.")
  }
  console.log("\n── Chromium not found: installing Debian's chromium package")
  run('apt-get update', 'apt-get', ['update', '-qq'])
  run('install chromium', 'apt-get', ['install', '-y', '-qq', 'chromium'], { DEBIAN_FRONTEND: 'noninteractive' })
}

// The server-tier tests start a throwaway Postgres 15 cluster: Debian's postgresql-15 (installed here when root).
function ensurePostgres() {
  if (process.env.PPL_POSTGRES_URL !== undefined || process.env.PPL_POSTGRES_BIN !== undefined) return
  const installed = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql') : []
  if (installed.some((version) => Number(version) >= 13 && existsSync(`/usr/lib/postgresql/${version}/bin/initdb`))) return
  if (process.getuid?.() !== 0) {
    fail(
      "Postgres 15 is missing. Install Debian's package (sudo apt-get install -y postgresql-15), set PPL_POSTGRES_BIN to its bin directory, or PPL_POSTGRES_URL to a server the tests may use.",
    )
  }
  console.log("\n── Postgres 15 not found: installing Debian's postgresql-15 package")
  run('apt-get update', 'apt-get', ['update', '-qq'])
  run('install postgresql-15', 'apt-get', ['install', '-y', '-qq', 'postgresql-15'], { DEBIAN_FRONTEND: 'noninteractive' })
}

function fail(message) {
  console.error(`\n${message}`)
  console.log('Tests: 0 passed, 1 failed')
  process.exit(1)
}

ensureChromium()
ensurePostgres()
run('lint', 'npx', ['eslint', '.'])
run('format', 'npx', ['prettier', '--check', '--log-level', 'warn', '.'])
run('import circles', 'npx', ['madge', '--circular', '--extensions', 'ts', '--ts-config', 'tsconfig.json', 'src'])
run('typecheck', 'npx', ['tsc', '-p', 'tsconfig.test.json', '--noEmit'])
run('build', 'npm', ['run', 'build', '--silent'])
// The root entry must import with no browser globals and no side effects (SSR-safe).
run('import check', 'node', [
  '--input-type=module',
  '-e',
  "const m = await import('./dist/index.js'); if (typeof m.ResourcePool !== 'function') process.exit(1)",
])
// The browser runtime entry must import without starting anything (workers start on construction only).
run('import check (./worker)', 'node', [
  '--input-type=module',
  '-e',
  "const m = await import('./dist/worker.js'); if (typeof m.WorkerPool !== 'function' || typeof m.connectSharedPool !== 'function') process.exit(1)",
])
// The config entry loads its libraries (zod, yaml), and no backend, at import.
run('import check (./config)', 'node', [
  '--input-type=module',
  '-e',
  "const m = await import('./dist/config.js'); if (typeof m.buildPools !== 'function' || typeof m.loadConfig !== 'function') process.exit(1)",
])

const out = mkdtempSync(join(tmpdir(), 'ppl-vitest-'))
let passed = 0
let failed = 0
/** One vitest run with a JSON report; adds its counts. */
function vitestRun(label, args) {
  console.log(`\n── ${label}: vitest run ${args.join(' ')}`)
  const report = join(out, `${label}.json`)
  const vitest = spawnSync('npx', ['vitest', 'run', ...args, '--reporter=default', '--reporter=json', `--outputFile.json=${report}`], {
    cwd: root,
    stdio: 'inherit',
  })
  let runFailed = 0
  try {
    const json = JSON.parse(readFileSync(report, 'utf8'))
    passed += json.numPassedTests
    runFailed = json.numFailedTests + (json.numRuntimeErrorTestSuites ?? 0)
  } catch (error) {
    console.error(`Could not read the vitest report: ${error.message}`)
    runFailed = 1
  }
  if (vitest.status !== 0 && runFailed === 0) runFailed = 1
  failed += runFailed
}
const started = Date.now()
vitestRun('tests', ['--project', '!serial'])
// The heavy files (worker processes, chaos) one at a time, after the rest.
vitestRun('heavy tests', ['--project', 'serial', '--no-file-parallelism'])
rmSync(out, { recursive: true, force: true })
console.log(`\nvitest took ${Math.round((Date.now() - started) / 1000)} s`)
console.log(`Tests: ${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
