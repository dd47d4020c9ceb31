// The seeded PRNG of reproducible test workloads: the library's own (bench/random.mjs is its twin for the benchmarks' plain JS).
export { mulberry32 } from '../src/core/random.js'
