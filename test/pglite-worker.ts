// A dedicated worker that hosts PGlite on OPFS (sync access handles exist only in workers).
import { PGlite } from '@electric-sql/pglite'
import { worker } from '@electric-sql/pglite/worker'

void worker({
  init: (options) =>
    PGlite.create({ ...options, dataDir: `opfs-ahp://${String((options as { meta?: { name?: string } }).meta?.name ?? 'ppl')}` }),
})
