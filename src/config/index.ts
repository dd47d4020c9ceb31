// prometheus-parking-lot/config: JSON or YAML scheduler configs (validated with zod, parsed with
// yaml) and the builder that turns one into pools. Kept out of the root entry so an app that
// builds its pools in code ships neither library.
export { loadConfig } from './load.js'
export { buildPools, type BackendModules, type BuildPoolsOptions } from './build.js'
export type { MailboxNotifierConfig, MailboxStorageConfig, PoolConfig, QueueConfig, SchedulerConfig } from './schema.js'
