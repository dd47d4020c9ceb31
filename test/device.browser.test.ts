// Capacity detection in Chromium without WebGPU (this project's flags leave it off).
import { expect, it } from 'vitest'
import { detectCapacity } from '../src/worker.js'

it('reports the CPU and a clear "no WebGPU" answer when the browser gives no adapter', async () => {
  const { cpu, gpu } = await detectCapacity()
  expect(cpu.hardwareConcurrency).toBe(navigator.hardwareConcurrency)
  expect(cpu.suggestedWorkers).toBe(Math.max(1, navigator.hardwareConcurrency - 1))
  expect(cpu.deviceMemoryGiB).toBe((navigator as { deviceMemory?: number }).deviceMemory)
  expect(gpu.available).toBe(false)
  if (gpu.available) return
  expect(gpu.reason).toMatch(/^no WebGPU: navigator\.gpu gave no adapter/)
})

it('says why when the browser has no navigator.gpu at all', async () => {
  const { gpu } = await detectCapacity({ navigator: { hardwareConcurrency: 4 } })
  expect(gpu).toEqual({ available: false, reason: expect.stringMatching(/^no WebGPU: this browser has no navigator\.gpu/) })
})

it('says why when requestAdapter throws', async () => {
  const gpu = { requestAdapter: () => Promise.reject(new Error('adapter lost')) }
  const result = await detectCapacity({ navigator: { hardwareConcurrency: 4, gpu } })
  expect(result.gpu).toEqual({ available: false, reason: 'no WebGPU: requestAdapter() failed (adapter lost)' })
})
