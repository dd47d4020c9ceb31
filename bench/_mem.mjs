import { ResourcePool } from '../dist/index.js'
import PQueue from 'p-queue'
const N = 100000
function heap() { gc(); gc(); return process.memoryUsage().heapUsed }
const which = process.argv[2]
if (which === 'rp') {
  const pool = new ResourcePool({ capacity: 1, executor: () => new Promise(() => {}) })
  pool.submit(0)
  const before = heap()
  for (let i = 0; i < N; i++) pool.submit(i)
  const after = heap()
  console.log('rp bytes/task', Math.round((after - before) / N), pool.size)
} else {
  const q = new PQueue({ concurrency: 1 })
  q.add(() => new Promise(() => {}))
  const before = heap()
  for (let i = 0; i < N; i++) q.add(() => new Promise(() => {}))
  const after = heap()
  console.log('pq bytes/task', Math.round((after - before) / N), q.size)
}
