/*
 * A GGUF v3 writer: enough of the format to write a model llama.cpp loads (metadata of the types
 * below, F32 tensors). Pure TypeScript over a DataView, so it runs in a page, a worker and Node.
 *
 * Layout: magic `GGUF`, version (u32), tensor count (u64), metadata count (u64); each metadata
 * entry is key, type (u32), value; then each tensor's name, dims (u32 count, u64 each, the first
 * contiguous), ggml type (u32) and offset (u64, from the data section); the header is padded to
 * the alignment, and so is each tensor's data.
 */

export type GgufValue =
  | { readonly type: 'u32'; readonly value: number }
  | { readonly type: 'i32'; readonly value: number }
  | { readonly type: 'f32'; readonly value: number }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'strings'; readonly value: readonly string[] }
  | { readonly type: 'f32s'; readonly value: ArrayLike<number> }
  | { readonly type: 'i32s'; readonly value: ArrayLike<number> }

export interface GgufTensor {
  readonly name: string
  /** ggml order: the first dimension is contiguous. */
  readonly dims: readonly number[]
  readonly data: Float32Array
}

const ALIGNMENT = 32
const GGML_TYPE_F32 = 0
const TYPE = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9 } as const

const utf8 = new TextEncoder()

/** The bytes of a GGUF v3 file with these metadata entries and F32 tensors. */
export function writeGguf(metadata: Readonly<Record<string, GgufValue>>, tensors: readonly GgufTensor[]): Uint8Array<ArrayBuffer> {
  if ('general.alignment' in metadata) throw new RangeError(`writeGguf writes \`general.alignment\` itself (${ALIGNMENT}); leave it out`)
  const entries = { ...metadata, 'general.alignment': { type: 'u32', value: ALIGNMENT } satisfies GgufValue }
  for (const [key, entry] of Object.entries(entries)) checkValue(key, entry)
  for (const tensor of tensors) {
    if (!tensor.dims.every((dim) => Number.isSafeInteger(dim) && dim > 0)) {
      throw new RangeError(`Tensor ${tensor.name}: dims must be positive integers, got ${tensor.dims.join('x')}`)
    }
    const count = tensor.dims.reduce((a, b) => a * b, 1)
    if (count !== tensor.data.length)
      throw new RangeError(`Tensor ${tensor.name}: dims ${tensor.dims.join('x')} hold ${count} values, got ${tensor.data.length}`)
  }
  const header = new Sink()
  header.bytes(utf8.encode('GGUF'))
  header.u32(3)
  header.u64(tensors.length)
  header.u64(Object.keys(entries).length)
  for (const [key, value] of Object.entries(entries)) {
    header.string(key)
    writeValue(header, value)
  }
  let offset = 0
  for (const tensor of tensors) {
    header.string(tensor.name)
    header.u32(tensor.dims.length)
    for (const dim of tensor.dims) header.u64(dim)
    header.u32(GGML_TYPE_F32)
    header.u64(offset)
    offset += padded(tensor.data.byteLength)
  }
  const start = padded(header.length)
  const out = new Uint8Array(start + offset)
  out.set(header.result(), 0)
  let at = start
  for (const tensor of tensors) {
    // F32 little-endian, as GGUF stores it (every platform a browser runs on is little-endian).
    out.set(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength), at)
    at += padded(tensor.data.byteLength)
  }
  return out
}

function writeValue(sink: Sink, entry: GgufValue): void {
  switch (entry.type) {
    case 'u32':
      sink.u32(TYPE.u32)
      return sink.u32(entry.value)
    case 'i32':
      sink.u32(TYPE.i32)
      return sink.i32(entry.value)
    case 'f32':
      sink.u32(TYPE.f32)
      return sink.f32(entry.value)
    case 'bool':
      sink.u32(TYPE.bool)
      return sink.bytes(Uint8Array.of(entry.value ? 1 : 0))
    case 'string':
      sink.u32(TYPE.string)
      return sink.string(entry.value)
    case 'strings':
      sink.u32(TYPE.array)
      sink.u32(TYPE.string)
      sink.u64(entry.value.length)
      for (const item of entry.value) sink.string(item)
      return
    case 'f32s':
    case 'i32s':
      sink.u32(TYPE.array)
      sink.u32(entry.type === 'f32s' ? TYPE.f32 : TYPE.i32)
      sink.u64(entry.value.length)
      for (let i = 0; i < entry.value.length; i++) {
        if (entry.type === 'f32s') sink.f32(entry.value[i]!)
        else sink.i32(entry.value[i]!)
      }
  }
}

const INTEGER_RANGE = { u32: [0, 2 ** 32 - 1], i32: [-(2 ** 31), 2 ** 31 - 1] } as const

/** Integers must be integers in their type's range: GGUF would store a wrapped or truncated value. */
function checkValue(key: string, entry: GgufValue): void {
  const check = (type: 'u32' | 'i32', value: number): void => {
    const [min, max] = INTEGER_RANGE[type]
    if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`Metadata \`${key}\`: ${value} is not a ${type}`)
  }
  if (entry.type === 'u32' || entry.type === 'i32') check(entry.type, entry.value)
  if (entry.type === 'i32s') for (let i = 0; i < entry.value.length; i++) check('i32', entry.value[i]!)
}

function padded(n: number): number {
  return Math.ceil(n / ALIGNMENT) * ALIGNMENT
}

/** A growing little-endian byte buffer. */
class Sink {
  #buffer = new Uint8Array(1024)
  #view = new DataView(this.#buffer.buffer)
  length = 0

  #reserve(n: number): number {
    if (this.length + n > this.#buffer.length) {
      const bigger = new Uint8Array(Math.max(this.#buffer.length * 2, this.length + n))
      bigger.set(this.#buffer)
      this.#buffer = bigger
      this.#view = new DataView(bigger.buffer)
    }
    const at = this.length
    this.length += n
    return at
  }

  u32(value: number): void {
    const at = this.#reserve(4) // first: reserving may replace the view
    this.#view.setUint32(at, value, true)
  }
  i32(value: number): void {
    const at = this.#reserve(4) // first: reserving may replace the view
    this.#view.setInt32(at, value, true)
  }
  f32(value: number): void {
    const at = this.#reserve(4) // first: reserving may replace the view
    this.#view.setFloat32(at, value, true)
  }
  u64(value: number): void {
    const at = this.#reserve(8) // first: reserving may replace the view
    this.#view.setBigUint64(at, BigInt(value), true)
  }
  bytes(bytes: Uint8Array): void {
    const at = this.#reserve(bytes.length)
    this.#buffer.set(bytes, at)
  }
  string(value: string): void {
    const bytes = utf8.encode(value)
    this.u64(bytes.length)
    this.bytes(bytes)
  }
  result(): Uint8Array {
    return this.#buffer.subarray(0, this.length)
  }
}
