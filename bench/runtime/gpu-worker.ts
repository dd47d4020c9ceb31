import { defineHandlers } from '../../src/worker.js'
import { gpuPasses } from './gpu.js'

defineHandlers({ gpu: (passes: number) => gpuPasses(passes) })
