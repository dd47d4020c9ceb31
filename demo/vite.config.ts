// The demo page: `npm run demo` serves it. Cross-origin isolated (COOP/COEP) so timers are fine-grained.
import { defineConfig } from 'vite'

const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
}

export default defineConfig({
  root: import.meta.dirname,
  publicDir: '../public',
  // `PORT=5291 npm start`, or `npm start -- --port 5291` (flags after `--` reach vite).
  server: { host: '127.0.0.1', port: Number(process.env['PORT'] ?? 5173), headers: isolation, fs: { allow: ['..'] } },
  preview: { host: '127.0.0.1', port: 4173, headers: isolation },
  optimizeDeps: { include: ['comlink', 'idb', 'zod', 'yaml', '@wllama/wllama'] },
  worker: { format: 'es' },
  build: { target: 'es2022', outDir: '../dist-demo', emptyOutDir: true },
})
