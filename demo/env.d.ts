// Set by demo/vite.config.ts: true in a build (`npm start`), false on the dev server (`npm run demo`).
declare const __PPL_SERVICE_WORKER__: boolean
