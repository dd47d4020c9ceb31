import { ResourcePool } from '../dist/index.js'
const N = 200000
for (let r = 0; r < 4; r++) {
  const pool = new ResourcePool({ capacity: 8, executor: async () => 1 })
  const t0 = performance.now()
  for (let i = 0; i < N; i++) pool.submit(i)
  await pool.onIdle()
  console.log(Math.round(N / ((performance.now() - t0) / 1000)))
}
