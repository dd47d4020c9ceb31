import { ResourcePool } from '../dist/index.js'
import PQueue from 'p-queue'
const N = 200000
async function rp() {
  const pool = new ResourcePool({ capacity: 8, executor: async () => 1 })
  const t0 = performance.now()
  const ps = new Array(N)
  for (let i = 0; i < N; i++) ps[i] = pool.submit(i).then((h) => h.result)
  await Promise.all(ps)
  return N / ((performance.now() - t0) / 1000)
}
async function pq() {
  const q = new PQueue({ concurrency: 8 })
  const t0 = performance.now()
  const ps = new Array(N)
  for (let i = 0; i < N; i++) ps[i] = q.add(async () => 1)
  await Promise.all(ps)
  return N / ((performance.now() - t0) / 1000)
}
for (let r = 0; r < 6; r++) console.log('rp', Math.round(await rp()), 'pq', Math.round(await pq()))
