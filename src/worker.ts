// The `./worker` entry: the browser runtime. Web Worker pool (main side `WorkerPool`, worker side
// `defineHandlers`), device capacity, the LLM cost model, and the pool shared by every tab.
export {
  WorkerPool,
  type WorkerExit,
  type WorkerModelInstance,
  type WorkerPoolEventMap,
  type WorkerPoolOptions,
} from './runtime/worker-pool.js'
export {
  defineHandlers,
  type DefineHandlersOptions,
  type Handler,
  type HandlerContext,
  type ModelLoader,
  type ModelLoaderContext,
} from './runtime/handlers.js'
export { transfer } from './runtime/transfer.js'
export {
  detectCapacity,
  type CpuCapacity,
  type DetectCapacityOptions,
  type DeviceCapacity,
  type GpuAdapterInfo,
  type GpuCapacity,
  type NoGpu,
} from './runtime/device.js'
export { trackConnectivity, type TrackConnectivityOptions } from './runtime/connectivity.js'
export { LlmCostModel, type LlmCostModelOptions, type LlmRequest } from './runtime/llm-cost.js'
export {
  SharedPoolHost,
  type HostedPoolOf,
  type SharedPoolHostEventMap,
  type SharedPoolHostOptions,
  type SharedPoolOptions,
} from './runtime/shared/host.js'
export type { SharedPool, SharedPoolEventMap } from './runtime/shared/client.js'
export { connectSharedPool, type ConnectSharedPoolOptions } from './runtime/shared/connect.js'
