import { defineHandlers } from '../../src/worker.js'

defineHandlers({ echo: (value: unknown) => value })
