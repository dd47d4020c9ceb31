// Vite's worker imports (`?worker&inline`: the worker's code inlined in the importing module).
declare module '*?worker&inline' {
  const WorkerScript: new (options?: { name?: string }) => Worker
  export default WorkerScript
}
