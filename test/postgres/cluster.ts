/*
 * A throwaway Postgres 15 cluster for the tests: `initdb` in a temp dir (as the `postgres` user
 * when we are root, since initdb refuses root), started with `pg_ctl` on a free loopback port,
 * stopped and removed after. Debian's `postgresql-15` package provides the binaries; the test
 * command (scripts/test.mjs) installs it when missing and root.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import {
  accessSync,
  appendFileSync,
  chmodSync,
  constants,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

export interface Cluster {
  readonly url: string
  /** Why pgmq could not be installed into this server, or undefined when `CREATE EXTENSION pgmq` works. */
  readonly pgmqMissing: string | undefined
  readonly dataDir: string
  /** `pg_ctl restart -m immediate`: a crash and recovery, as after a power cut. */
  restart(): void
  stop(): void
}

/**
 * The directory with initdb, pg_ctl and postgres: `PPL_POSTGRES_BIN`, else the newest Debian or
 * Ubuntu install of Postgres 13 or later; undefined when there is none.
 */
export function postgresBinDir(): string | undefined {
  const given = process.env['PPL_POSTGRES_BIN']
  if (given !== undefined) return given
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root)
    .map(Number)
    .filter((version) => version >= 13 && existsSync(join(root, String(version), 'bin/initdb')))
    .sort((a, b) => b - a)
  return versions.length === 0 ? undefined : join(root, String(versions[0]), 'bin')
}

/**
 * Installs pgmq into the server's extension directory (`pg_config --sharedir`/extension) from
 * `@electric-sql/pglite-pgmq`'s tarball (pgmq is SQL only: its control file and scripts are the
 * whole extension). Answers why it could not, or undefined once it is there.
 */
export function installPgmq(bin: string): string | undefined {
  const extension = join(execFileSync(join(bin, 'pg_config'), ['--sharedir'], { encoding: 'utf8' }).trim(), 'extension')
  const tarball = join(dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite-pgmq')), 'pgmq.tar.gz')
  const unpacked = mkdtempSync(join(tmpdir(), 'ppl-pgmq-'))
  try {
    execFileSync('tar', ['-xzf', tarball, '-C', unpacked])
    const from = join(unpacked, 'share/postgresql/extension')
    const files = readdirSync(from).filter((file) => file === 'pgmq.control' || /^pgmq--[0-9.]+(--[0-9.]+)?\.sql$/.test(file))
    if (files.every((file) => existsSync(join(extension, file)))) return undefined
    try {
      accessSync(extension, constants.W_OK)
    } catch {
      return `pgmq is not installed in ${extension} and this user cannot write there: run the tests as root, or copy pgmq.control and pgmq--*.sql from ${tarball} there`
    }
    for (const file of files) copyFileSync(join(from, file), join(extension, file))
    return undefined
  } finally {
    rmSync(unpacked, { recursive: true, force: true })
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

export async function startCluster(): Promise<Cluster> {
  const bin = postgresBinDir()
  if (bin === undefined) {
    throw new Error(
      "Postgres (13 or later) is missing: install Debian's package (sudo apt-get install -y postgresql-15), set PPL_POSTGRES_BIN to its bin directory, or PPL_POSTGRES_URL to a server the tests may use",
    )
  }
  const root = process.getuid?.() === 0
  const dir = mkdtempSync(join(tmpdir(), 'ppl-pg-'))
  const dataDir = join(dir, 'data')
  // Run as `postgres` when root: the temp dir must be theirs.
  const as = (command: string, args: string[]): string[] =>
    root ? ['runuser', '-u', 'postgres', '--', command, ...args] : [command, ...args]
  if (root) execFileSync('chown', ['postgres:postgres', dir])
  else chmodSync(dir, 0o700)
  const run = (command: string, args: string[]): void => {
    const [file, ...rest] = as(join(bin, command), args)
    const result = spawnSync(file!, rest, { encoding: 'utf8' })
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.stdout}`)
  }
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true })
  const port = await freePort()
  const pgmqMissing = installPgmq(bin)
  try {
    run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'])
    const conf = [
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      'max_connections = 200',
      'fsync = on',
      'shared_buffers = 128MB',
      'log_min_messages = warning',
    ].join('\n')
    writeFileSync(join(dir, 'extra.conf'), conf + '\n')
    if (root) execFileSync('chown', ['postgres:postgres', join(dir, 'extra.conf')])
    appendFileSync(join(dataDir, 'postgresql.conf'), `include '${join(dir, 'extra.conf')}'\n`)
  } catch (error) {
    removeDir()
    throw error
  }
  const log = join(dir, 'server.log')
  try {
    run('pg_ctl', ['-D', dataDir, '-l', log, '-w', '-t', '60', 'start'])
  } catch (error) {
    removeDir()
    throw error
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    pgmqMissing,
    dataDir,
    restart: () => run('pg_ctl', ['-D', dataDir, '-l', log, '-w', '-t', '60', '-m', 'immediate', 'restart']),
    stop: () => {
      try {
        run('pg_ctl', ['-D', dataDir, '-w', '-m', 'fast', 'stop'])
      } finally {
        removeDir()
      }
    },
  }
}
