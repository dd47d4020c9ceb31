import type { SqlClient } from '../sql/migrations.js'

/**
 * Opens a PGlite database (`memory://`, a Node data directory, `idb://name`, `opfs-ahp://dir`):
 * what `buildPools` uses for a `pglite` queue or mailbox. PGlite is loaded only when called.
 */
export async function openPGlite(dataDir: string): Promise<SqlClient & { close(): Promise<void> }> {
  const { PGlite } = await import('@electric-sql/pglite')
  return PGlite.create(dataDir)
}
