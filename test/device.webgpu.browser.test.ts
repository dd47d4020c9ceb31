// Capacity detection in Chromium started with --enable-unsafe-webgpu. On this machine that gives
// a SwiftShader (CPU) adapter; on one with a GPU the SwiftShader-specific checks skip, saying why.
import { expect, it } from 'vitest'
import { detectCapacity } from '../src/worker.js'

const detected = await detectCapacity()
const architecture = detected.gpu.available ? detected.gpu.info.architecture : undefined
const swiftShader = architecture === 'swiftshader'
if (!detected.gpu.available) console.warn(`skipped: no WebGPU adapter in this Chromium (${detected.gpu.reason})`)
else if (!swiftShader) console.warn(`skipped: the SwiftShader checks (this adapter is '${architecture ?? 'unknown'}')`)

it.skipIf(!detected.gpu.available)('reports the WebGPU adapter: its info, limits and features', () => {
  const { cpu, gpu } = detected
  expect(cpu.hardwareConcurrency).toBeGreaterThan(0)
  if (!gpu.available) return
  expect(typeof gpu.info.vendor).toBe('string')
  expect(gpu.maxBufferSize).toBeGreaterThanOrEqual(128 * 1024 * 1024)
  expect(gpu.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024)
  expect(Array.isArray(gpu.features)).toBe(true)
})

it.skipIf(!swiftShader)('is SwiftShader here: a fallback adapter with 1 GiB buffers', () => {
  const { gpu } = detected
  if (!gpu.available) return
  expect(gpu.isFallbackAdapter).toBe(true)
  expect(gpu.maxBufferSize).toBe(1024 * 1024 * 1024)
})

it.skipIf(!detected.gpu.available)('gives a working device from the detected adapter', async () => {
  const gpu = (navigator as unknown as { gpu: { requestAdapter(): Promise<{ requestDevice(): Promise<unknown> } | null> } }).gpu
  const adapter = await gpu.requestAdapter()
  expect(adapter).not.toBeNull()
  const device = await adapter!.requestDevice()
  expect(device).toBeTruthy()
})
