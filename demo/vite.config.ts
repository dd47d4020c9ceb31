// The demo page: `npm run demo` serves it for development (no service worker); `npm start` builds
// it and serves the build (`vite preview`) with its service worker and Content-Security-Policy.
// Cross-origin isolated (COOP/COEP) so timers are fine-grained.
import { createHash } from 'node:crypto'
import { readFileSync, readdirSync } from 'node:fs'
import { defineConfig, type Plugin } from 'vite'
import { syncEndpoint } from './sync-endpoint.js'

const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
}

/**
 * The production page's policy: nothing inline, nothing from elsewhere. `'wasm-unsafe-eval'` only
 * because the engine (wllama) compiles WebAssembly, and `blob:` workers because it starts its
 * threads from one.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "img-src 'self' data:",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

const publicDir = new URL('../public/', import.meta.url)

/** Fills the service worker's precache list (every file of the build and of public/) and its version (a hash of their contents). */
function precache(): Plugin {
  return {
    name: 'ppl-demo-precache',
    apply: 'build',
    generateBundle(_options, bundle) {
      const worker = bundle['sw.js']
      if (worker?.type !== 'chunk') throw new Error('The build has no service worker chunk sw.js')
      const built = Object.keys(bundle).filter((name) => name !== 'sw.js' && name !== 'index.html' && !name.endsWith('.map'))
      const publicFiles = readdirSync(publicDir)
      const urls = ['/', ...[...built, ...publicFiles].map((name) => `/${name}`)].sort()
      // Any change of any file (index.html, the manifest, an icon) makes a new version.
      const hash = createHash('sha256')
      for (const [name, item] of Object.entries(bundle).sort(([a], [b]) => a.localeCompare(b)))
        if (name !== 'sw.js') hash.update(name).update(item.type === 'chunk' ? item.code : item.source)
      for (const name of publicFiles.sort()) hash.update(name).update(readFileSync(new URL(name, publicDir)))
      const version = hash.digest('hex').slice(0, 16)
      const list = /(["'`])__PPL_PRECACHE__\1/
      if (!list.test(worker.code) || !worker.code.includes('__PPL_VERSION__')) throw new Error('sw.js lost its precache placeholders')
      worker.code = worker.code.replace(list, JSON.stringify(JSON.stringify(urls))).replaceAll('__PPL_VERSION__', version)
    },
  }
}

export default defineConfig(({ command }) => ({
  root: import.meta.dirname,
  // Only a build has a service worker (and a test process's NODE_ENV must not decide it).
  define: { __PPL_SERVICE_WORKER__: JSON.stringify(command === 'build') },
  publicDir: '../public',
  plugins: [syncEndpoint(), precache()],
  // `PORT=5291 npm start`, or `npm run demo -- --port 5291` (flags after `--` reach vite).
  server: { host: '127.0.0.1', port: Number(process.env['PORT'] ?? 5173), headers: isolation, fs: { allow: ['..'] } },
  preview: {
    host: '127.0.0.1',
    port: Number(process.env['PORT'] ?? 4173),
    headers: { ...isolation, 'Content-Security-Policy': CONTENT_SECURITY_POLICY },
  },
  optimizeDeps: { include: ['comlink', 'idb', 'zod', 'yaml', '@wllama/wllama'] },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    outDir: '../dist-demo',
    emptyOutDir: true,
    rollupOptions: {
      input: { index: `${import.meta.dirname}/index.html`, sw: `${import.meta.dirname}/sw.ts` },
      // The service worker at the root, so its scope is the whole app.
      output: { entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js') },
    },
  },
}))
