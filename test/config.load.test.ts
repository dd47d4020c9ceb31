import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config/index.js'
import { ConfigError } from '../src/index.js'

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')

const base = `pools:
  p:
    max_units: 4
    queue: { type: in_memory }
    mailbox: { storage: { type: in_memory } }
`

describe('loadConfig', () => {
  it("validates the seed's example scheduler-config.json", () => {
    const config = loadConfig(fixture('scheduler-config.json'))
    expect(Object.keys(config.pools)).toEqual(['llm_inference', 'tauri_local_llm'])
    expect(config.pools['llm_inference']).toMatchObject({ max_units: 20, queue: { type: 'postgres_pgmq', queue_name: 'llm_inference' } })
  })

  it('reads YAML with capacity vectors and policy', () => {
    const config = loadConfig(fixture('scheduler-config.yaml'))
    expect(config.pools['rag_preprocess']).toMatchObject({ capacity: { vram: 24, cpu: 4 }, policy: { backfill: true, fair_share: true } })
  })

  // Twenty malformed configs: each must give a ConfigError naming the path, or line and column.
  const cases: [string, string, { path?: string; line?: number }][] = [
    ['max_units a string', base.replace('max_units: 4', 'max_units: "four"'), { path: 'pools.p.max_units' }],
    ['negative max_units', base.replace('max_units: 4', 'max_units: -1'), { path: 'pools.p.max_units' }],
    ['fractional max_units', base.replace('max_units: 4', 'max_units: 1.5'), { path: 'pools.p.max_units' }],
    ['negative capacity component', base.replace('max_units: 4', 'capacity: { vram: -2 }'), { path: 'pools.p.capacity.vram' }],
    ['both max_units and capacity', base.replace('max_units: 4', 'max_units: 4\n    capacity: 3'), { path: 'pools.p.max_units' }],
    ['neither max_units nor capacity', base.replace('    max_units: 4\n', ''), { path: 'pools.p.max_units' }],
    ['unknown queue backend', base.replace('type: in_memory }\n    mailbox', 'type: redis }\n    mailbox'), { path: 'pools.p.queue.type' }],
    ['missing queue', base.replace('    queue: { type: in_memory }\n', ''), { path: 'pools.p.queue' }],
    ['missing mailbox', base.replace('    mailbox: { storage: { type: in_memory } }\n', ''), { path: 'pools.p.mailbox' }],
    ['missing mailbox storage', base.replace('{ storage: { type: in_memory } }', '{}'), { path: 'pools.p.mailbox.storage' }],
    ['unknown storage', base.replace('storage: { type: in_memory }', 'storage: { type: s3 }'), { path: 'pools.p.mailbox.storage.type' }],
    [
      'yaque without path',
      base.replace('{ type: in_memory }\n    mailbox', '{ type: yaque, stream: s }\n    mailbox'),
      { path: 'pools.p.queue.path' },
    ],
    [
      'SQL injection in a table name',
      base.replace('storage: { type: in_memory }', 'storage: { type: postgres, table: "x; DROP TABLE y" }'),
      { path: 'pools.p.mailbox.storage.table' },
    ],
    [
      'bad notifier URL',
      base.replace('{ storage: { type: in_memory } }', '{ storage: { type: in_memory }, notifier: { type: http, base_url: "not a url" } }'),
      { path: 'pools.p.mailbox.notifier.base_url' },
    ],
    ['unknown field (typo)', base.replace('max_units: 4', 'max_units: 4\n    max_queue_dpeth: 5'), { path: 'pools.p' }],
    ['bad on_full policy', base.replace('max_units: 4', 'max_units: 4\n    policy: { on_full: drop }'), { path: 'pools.p.policy.on_full' }],
    ['pools not a map', 'pools: [1, 2]\n', { path: 'pools' }],
    ['YAML syntax: unclosed flow sequence', 'pools:\n  p: [1, 2\n  q: 3\n', { line: 3 }],
    ['YAML syntax: bad indentation', 'pools:\n  p:\n    max_units: 4\n   queue: 1\n', { line: 4 }],
    ['JSON syntax: trailing garbage', '{ "pools": { "p": { "max_units": 4 } } } }', { line: 1 }],
  ]

  it.each(cases)('%s', (_name, text, where) => {
    let error: unknown
    try {
      loadConfig(text)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    const issues = (error as ConfigError).issues
    if (where.path !== undefined) {
      expect(issues.map((i) => i.path)).toContain(where.path)
      expect((error as Error).message).toContain(`\`${where.path}\``)
    }
    if (where.line !== undefined) {
      expect(issues[0]).toMatchObject({ line: where.line, column: expect.any(Number) })
      expect((error as Error).message).toMatch(/line \d+, column \d+/)
    }
  })

  it('has twenty malformed cases', () => {
    expect(cases).toHaveLength(20)
  })
})
