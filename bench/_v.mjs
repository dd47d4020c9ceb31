import { ResourcePool } from '../dist/index.js'
const N = 200000
function mulberry32(seed) { let a = seed >>> 0; return () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296 } }
const rand = mulberry32(3)
const costs = Array.from({ length: N }, () => ({ vram: 1 + Math.floor(rand() * 6), cpu: 1 + Math.floor(rand() * 2) }))
const noop = async () => 1
async function rp() {
  const pool = new ResourcePool({ capacity: { vram: 24, cpu: 8 }, executor: noop })
  const t0 = performance.now()
  for (let i = 0; i < N; i++) pool.submit(i, { cost: costs[i] })
  await pool.onIdle()
  return Math.round(N / ((performance.now() - t0) / 1000))
}
const mode = process.argv[2]
for (let r = 0; r < 6; r++) { gc(); console.log(await rp()) }
