// The `./gguf` entry: the GGUF writer and the tiny test model, with no dependency (runs in Node too).
export { buildTinyModel, tinyModelParameters, type TinyModel, type TinyModelOptions } from './tiny-model.js'
export { writeGguf, type GgufTensor, type GgufValue } from './gguf.js'
