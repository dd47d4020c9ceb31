import { resolve } from 'node:path'
import { defineConfig } from 'vitest/config'

// One entry per subpath export; each ships its own .d.ts (from tsc, see tsconfig.build.json).
const entries = {
  index: resolve(import.meta.dirname, 'src/index.ts'),
  pglite: resolve(import.meta.dirname, 'src/pglite/index.ts'),
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
      external: [/^zod/, /^yaml/, /^comlink/, /^idb/, /^@electric-sql\//, /^pg/, /^node:/],
      output: { preserveModules: false, chunkFileNames: 'chunks/[name]-[hash].js' },
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
  },
})
