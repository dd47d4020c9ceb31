import { execFileSync } from 'node:child_process'

/** The flags this machine's Chromium needs (see the README's testing notes). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Tests run in several frames at once; a frame Chromium deems hidden must keep its timers.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
]

/** The same flags plus the switch that gives this Chromium a (SwiftShader) WebGPU adapter. */
export const CHROMIUM_WEBGPU_ARGS = [...CHROMIUM_ARGS, '--enable-unsafe-webgpu']

/** CHROMIUM_PATH, or Debian's `chromium`. */
export function chromiumExecutable(): string {
  const given = process.env['CHROMIUM_PATH']
  if (given !== undefined) return given
  return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim()
}
