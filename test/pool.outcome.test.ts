import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { afterAll, describe } from 'vitest'
import { PGliteMailboxStore, PGliteQueue } from '../src/pglite/index.js'
import { outcomeBody } from './conformance/outcome.js'

const root = mkdtempSync(join(tmpdir(), 'ppl-outcome-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('one true outcome per task (PGlite on a data directory)', () => {
  let databases = 0
  outcomeBody({
    newDatabase() {
      const dataDir = join(root, `db-${++databases}`)
      return async () => {
        const db = await PGlite.create(dataDir)
        return {
          queue: new PGliteQueue<string>(db, { name: 'outcome' }),
          store: new PGliteMailboxStore(db, { name: 'outcome' }),
          close: () => db.close(),
        }
      }
    },
    unstorable: { value: { n: 1, big: 10n }, path: 'result.big' },
  })
})
