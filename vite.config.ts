import { resolve } from 'node:path'
import { playwright } from '@vitest/browser-playwright'
import { defineConfig } from 'vitest/config'
import { CHROMIUM_ARGS, CHROMIUM_WEBGPU_ARGS, chromiumExecutable } from './test/chromium.js'

// One entry per subpath export; each ships its own .d.ts (from tsc, see tsconfig.build.json).
const entries = {
  index: resolve(import.meta.dirname, 'src/index.ts'),
  models: resolve(import.meta.dirname, 'src/model-pool.ts'),
  config: resolve(import.meta.dirname, 'src/config/index.ts'),
  indexeddb: resolve(import.meta.dirname, 'src/indexeddb/index.ts'),
  pglite: resolve(import.meta.dirname, 'src/pglite/index.ts'),
  worker: resolve(import.meta.dirname, 'src/worker.ts'),
  wllama: resolve(import.meta.dirname, 'src/wllama/index.ts'),
  gguf: resolve(import.meta.dirname, 'src/wllama/gguf-entry.ts'),
  postgres: resolve(import.meta.dirname, 'src/postgres/index.ts'),
  pgmq: resolve(import.meta.dirname, 'src/pgmq/index.ts'),
  'p-queue': resolve(import.meta.dirname, 'src/p-queue/index.ts'),
}

function chromiumPath(): string | undefined {
  try {
    return chromiumExecutable() || undefined
  } catch {
    return undefined // scripts/test.mjs installs it, or says what is missing
  }
}

export default defineConfig({
  // public/ belongs to the demo page, not to the library build.
  publicDir: false,
  build: {
    target: 'es2022',
    sourcemap: true,
    minify: false,
    lib: { entry: entries, formats: ['es'] },
    rollupOptions: {
      // Dependencies stay imports: the app's bundler dedupes them.
      external: [/^zod/, /^yaml/, /^comlink/, /^idb/, /^@electric-sql\//, /^@wllama\//, /^pg/, /^eventemitter3/, /^node:/],
      output: { preserveModules: false, chunkFileNames: 'chunks/[name]-[hash].js' },
    },
  },
  // Pre-bundled up front: discovering them mid-run reloads the page under test.
  optimizeDeps: { exclude: ['@electric-sql/pglite'], include: ['comlink', 'idb', 'yaml', 'zod', '@wllama/wllama'] },
  test: {
    testTimeout: 20_000,
    // Artefacts of a run go to an ignored folder: `npm test` leaves the tree clean.
    attachmentsDir: 'test-results/attachments',
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/**/*.test.ts', 'e2e/**/*.test.ts'],
          exclude: ['test/**/*.browser.test.ts', 'test/**/*.serial.test.ts'],
          environment: 'node',
          // A throwaway Postgres 15 cluster for the server-tier tests (test/postgres/cluster.ts).
          globalSetup: ['test/postgres/global-setup.ts'],
        },
      },
      {
        // Heavy files (worker processes, chaos): run apart, one file at a time (scripts/test.mjs
        // passes --no-file-parallelism), so they do not starve each other on 2 cores.
        extends: true,
        test: {
          name: 'serial',
          include: ['test/**/*.serial.test.ts'],
          environment: 'node',
          globalSetup: ['test/postgres/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'chromium',
          include: ['test/**/*.browser.test.ts'],
          exclude: ['test/**/*.webgpu.browser.test.ts'],
          browser: {
            enabled: true,
            headless: true,
            screenshotDirectory: resolve(import.meta.dirname, 'test-results/browser-screenshots'),
            provider: playwright({ launchOptions: { executablePath: chromiumPath(), args: CHROMIUM_ARGS } }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
      {
        // The same Chromium with WebGPU switched on (a SwiftShader adapter on this machine).
        extends: true,
        test: {
          name: 'chromium-webgpu',
          include: ['test/**/*.webgpu.browser.test.ts'],
          browser: {
            enabled: true,
            headless: true,
            screenshotDirectory: resolve(import.meta.dirname, 'test-results/browser-screenshots'),
            provider: playwright({ launchOptions: { executablePath: chromiumPath(), args: CHROMIUM_WEBGPU_ARGS } }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
})
