// Capacity detection in Chromium started with --enable-unsafe-webgpu: a SwiftShader adapter.
import { expect, it } from 'vitest'
import { detectCapacity } from '../src/worker.js'

it('reports the WebGPU adapter: SwiftShader, a fallback adapter with 1 GiB buffers', async () => {
  const { cpu, gpu } = await detectCapacity()
  expect(cpu.hardwareConcurrency).toBeGreaterThan(0)
  expect(gpu.available).toBe(true)
  if (!gpu.available) return
  expect(gpu.info.architecture).toBe('swiftshader')
  expect(gpu.isFallbackAdapter).toBe(true)
  expect(gpu.maxBufferSize).toBeGreaterThanOrEqual(256 * 1024 * 1024)
  expect(gpu.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024)
  expect(Array.isArray(gpu.features)).toBe(true)
})

it('gives a working device from the detected adapter', async () => {
  const gpu = (navigator as unknown as { gpu: { requestAdapter(): Promise<{ requestDevice(): Promise<unknown> } | null> } }).gpu
  const adapter = await gpu.requestAdapter()
  expect(adapter).not.toBeNull()
  const device = await adapter!.requestDevice()
  expect(device).toBeTruthy()
})
