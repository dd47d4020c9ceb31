// The SharedWorker every tab of the demo connects to (see hosting.ts for what it holds).
import { demoHost } from './hosting.js'

demoHost().listen() // tabs that connect while the queue opens wait for it
