// npm run bench -- p-queue: our p-queue compatible class (prometheus-parking-lot/p-queue) against
// p-queue 9 itself on p-queue's common uses, the same program given either class, interleaved in
// one process: a concurrency limit and random priorities (no-op tasks, throughput), and an
// interval cap, fixed windows and strict (both wait on the same timers, so what differs is the
// scheduling CPU time per task: process.cpuUsage over the run, divided by the tasks).
import PQueue from 'p-queue'
import OurPQueue from '../dist/p-queue.js'
import { mulberry32 } from './random.mjs'

const REPS = Number(process.env.BENCH_REPS ?? 5)
const N = 200_000
const RATED = 20_000
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const fmt = (x) => (x >= 1000 ? `${Math.round(x / 1000)}k` : x.toFixed(x < 10 ? 2 : 0))
const noop = async () => 1

const CONTENDERS = { 'prometheus-parking-lot/p-queue': OurPQueue, 'p-queue 9.3.5': PQueue }

async function throughput(Queue, priorities) {
  const queue = new Queue({ concurrency: 8 })
  const rand = mulberry32(7)
  const t0 = performance.now()
  for (let i = 0; i < N; i++) void queue.add(noop, priorities ? { priority: Math.floor(rand() * 4) } : undefined)
  await queue.onIdle()
  return N / ((performance.now() - t0) / 1000)
}

/** Microseconds of CPU per task: RATED tasks through windows of 10 ms holding 1,000 starts each. */
async function cpuPerTask(Queue, strict) {
  const queue = new Queue({ concurrency: 64, interval: 10, intervalCap: 1000, strict })
  const before = process.cpuUsage()
  for (let i = 0; i < RATED; i++) void queue.add(noop)
  await queue.onIdle()
  const used = process.cpuUsage(before)
  return (used.user + used.system) / RATED
}

/** Each contender in turn, one warm-up round, then REPS measured rounds. */
async function interleave(run) {
  const samples = Object.fromEntries(Object.keys(CONTENDERS).map((name) => [name, []]))
  for (let round = 0; round <= REPS; round++) {
    for (const [name, Queue] of Object.entries(CONTENDERS)) {
      globalThis.gc?.()
      const value = await run(Queue)
      if (round > 0) samples[name].push(value)
    }
  }
  return samples
}

/** Prints each contender's median and range, and how many times better ours is (above 1: ours wins). */
function print(title, unit, samples, higherIsBetter) {
  console.log(`\n${title}`)
  const ours = median(samples['prometheus-parking-lot/p-queue'])
  const theirs = median(samples['p-queue 9.3.5'])
  for (const [name, xs] of Object.entries(samples)) {
    console.log(`  ${name.padEnd(32)} median ${fmt(median(xs)).padStart(6)} ${unit}  range ${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}`)
  }
  const ratio = higherIsBetter ? ours / theirs : theirs / ours
  console.log(`  ours vs p-queue: ${ratio.toFixed(2)}x ${higherIsBetter ? 'the throughput' : 'less CPU per task'}`)
}

export async function pqueueBenchmark() {
  print(`Concurrency 8, N = ${N} no-op tasks`, 'tasks/s', await interleave((Q) => throughput(Q, false)), true)
  print(`Concurrency 8, N = ${N} no-op tasks of random priorities 0-3`, 'tasks/s', await interleave((Q) => throughput(Q, true)), true)
  const fixed = await interleave((Q) => cpuPerTask(Q, false))
  print(`interval 10 ms, intervalCap 1,000 (fixed windows), ${RATED} tasks: CPU per task`, 'µs', fixed, false)
  const strict = await interleave((Q) => cpuPerTask(Q, true))
  print(`interval 10 ms, intervalCap 1,000, strict (sliding window), ${RATED} tasks: CPU per task`, 'µs', strict, false)
}
