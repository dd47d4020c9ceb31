/* global importScripts, workerpool -- a classic worker: workerpool's build defines the global */
// workerpool's browser build, in a classic worker as its docs show.
importScripts('/node_modules/workerpool/dist/workerpool.min.js')
workerpool.worker({ echo: (value) => value })
