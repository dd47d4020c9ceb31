/*
 * A tiny llama-architecture model we write ourselves, so tests and the demo generate real tokens
 * through llama.cpp with no download and no model file in the repository.
 *
 * It is not trained: each text character (and the space, as SentencePiece's `▁`) gets its own
 * axis of the embedding, the attention and feed-forward weights are tiny random numbers (so the
 * residual stream still carries the current token), and `output.weight` scores each character's
 * successor highest. The successors are the most frequent next character in `text` (its bigrams);
 * `.` ends the sequence. Greedy decoding (temperature 0) then follows that table, which
 * `expectedCompletion` reproduces, so a test can assert the exact text a prompt generates.
 */
import { mulberry32 } from '../core/random.js'
import { writeGguf, type GgufTensor } from './gguf.js'

export interface TinyModelOptions {
  /** The text whose character bigrams the model follows. @default a sentence about parking */
  readonly text?: string
  /** Seeds the random weights: the same options give the same bytes. @default 1 */
  readonly seed?: number
  /** Transformer blocks; more make a bigger, slower model. @default 2 */
  readonly blocks?: number
  /** Width of the feed-forward layers; more make a bigger, slower model. @default 256 */
  readonly feedForward?: number
  /** The context the model declares (llama.cpp may round what it allocates up). @default 256 */
  readonly contextLength?: number
}

export interface TinyModel {
  /** The GGUF file. */
  readonly bytes: Uint8Array<ArrayBuffer>
  /** What greedy decoding of `prompt` generates, for at most `maxTokens` tokens. */
  expectedCompletion(prompt: string, maxTokens: number): string
  /** Parameters in its tensors. */
  readonly parameters: number
}

const DEFAULT_TEXT = 'the parking lot runs what fits and parks the rest until there is room for it. '
const SPACE = '▁'
/** Printable ASCII without the space (the space is `▁`). */
const CHARS = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i))
const EMBED = 128 // one axis per text token (95) and one shared by all other tokens
const HEADS = 4
const UNK = 0
const BOS = 1
const EOS = 2
const FIRST_TEXT_TOKEN = 3 + 256
const OTHER_AXIS = EMBED - 1

/** Parameters (all F32) a tiny model with these options has, without building it: its weights are 4 bytes each. */
export function tinyModelParameters(options: Pick<TinyModelOptions, 'blocks' | 'feedForward'> = {}): number {
  const blocks = positiveInteger(options.blocks ?? 2, 'blocks')
  const feedForward = positiveInteger(options.feedForward ?? 256, 'feedForward')
  const vocab = FIRST_TEXT_TOKEN + 1 + CHARS.length
  const perBlock = 2 * EMBED + 4 * EMBED * EMBED + 3 * EMBED * feedForward
  return 2 * EMBED * vocab + EMBED + blocks * perBlock
}

/** Writes a tiny GGUF model that follows the character bigrams of `options.text`. Deterministic. */
export function buildTinyModel(options: TinyModelOptions = {}): TinyModel {
  const text = options.text ?? DEFAULT_TEXT
  const blocks = positiveInteger(options.blocks ?? 2, 'blocks')
  const feedForward = positiveInteger(options.feedForward ?? 256, 'feedForward')
  const contextLength = positiveInteger(options.contextLength ?? 256, 'contextLength')
  const random = mulberry32(options.seed ?? 1)
  const successors = successorTable(text)

  const tokens = ['<unk>', '<s>', '</s>']
  const types = [2, 3, 3]
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)
    types.push(6)
  }
  for (const piece of [SPACE, ...CHARS]) {
    tokens.push(piece)
    types.push(1)
  }
  const vocab = tokens.length
  const axisOf = (token: number): number => (token >= FIRST_TEXT_TOKEN ? token - FIRST_TEXT_TOKEN : OTHER_AXIS)

  const embedding = new Float32Array(EMBED * vocab)
  for (let t = 0; t < vocab; t++) embedding[t * EMBED + axisOf(t)] = 1
  const output = new Float32Array(EMBED * vocab)
  // Row t of output.weight holds the axes of the tokens t follows: their successor scores highest.
  for (let t = FIRST_TEXT_TOKEN; t < vocab; t++) output[tokenOf(successors.get(tokens[t]!)) * EMBED + axisOf(t)] = 1
  output[EOS * EMBED + OTHER_AXIS] = 1 // bytes and control tokens end the sequence

  const small = (count: number): Float32Array => {
    const data = new Float32Array(count)
    for (let i = 0; i < count; i++) data[i] = (random() - 0.5) * 2e-3
    return data
  }
  const ones = (count: number): Float32Array => new Float32Array(count).fill(1)
  const tensors: GgufTensor[] = [
    { name: 'token_embd.weight', dims: [EMBED, vocab], data: embedding },
    { name: 'output_norm.weight', dims: [EMBED], data: ones(EMBED) },
    { name: 'output.weight', dims: [EMBED, vocab], data: output },
  ]
  for (let b = 0; b < blocks; b++) {
    const p = `blk.${b}.`
    tensors.push(
      { name: `${p}attn_norm.weight`, dims: [EMBED], data: ones(EMBED) },
      { name: `${p}attn_q.weight`, dims: [EMBED, EMBED], data: small(EMBED * EMBED) },
      { name: `${p}attn_k.weight`, dims: [EMBED, EMBED], data: small(EMBED * EMBED) },
      { name: `${p}attn_v.weight`, dims: [EMBED, EMBED], data: small(EMBED * EMBED) },
      { name: `${p}attn_output.weight`, dims: [EMBED, EMBED], data: small(EMBED * EMBED) },
      { name: `${p}ffn_norm.weight`, dims: [EMBED], data: ones(EMBED) },
      { name: `${p}ffn_gate.weight`, dims: [EMBED, feedForward], data: small(EMBED * feedForward) },
      { name: `${p}ffn_up.weight`, dims: [EMBED, feedForward], data: small(EMBED * feedForward) },
      { name: `${p}ffn_down.weight`, dims: [feedForward, EMBED], data: small(feedForward * EMBED) },
    )
  }
  const bytes = writeGguf(
    {
      'general.architecture': { type: 'string', value: 'llama' },
      'general.name': { type: 'string', value: 'prometheus-parking-lot tiny model' },
      'general.file_type': { type: 'u32', value: 0 }, // all F32
      'llama.vocab_size': { type: 'u32', value: vocab },
      'llama.context_length': { type: 'u32', value: contextLength },
      'llama.embedding_length': { type: 'u32', value: EMBED },
      'llama.block_count': { type: 'u32', value: blocks },
      'llama.feed_forward_length': { type: 'u32', value: feedForward },
      'llama.attention.head_count': { type: 'u32', value: HEADS },
      'llama.attention.head_count_kv': { type: 'u32', value: HEADS },
      'llama.rope.dimension_count': { type: 'u32', value: EMBED / HEADS },
      'llama.rope.freq_base': { type: 'f32', value: 10_000 },
      'llama.attention.layer_norm_rms_epsilon': { type: 'f32', value: 1e-5 },
      'tokenizer.ggml.model': { type: 'string', value: 'llama' },
      'tokenizer.ggml.tokens': { type: 'strings', value: tokens },
      'tokenizer.ggml.scores': { type: 'f32s', value: tokens.map((_, i) => -i) },
      'tokenizer.ggml.token_type': { type: 'i32s', value: types },
      'tokenizer.ggml.bos_token_id': { type: 'u32', value: BOS },
      'tokenizer.ggml.eos_token_id': { type: 'u32', value: EOS },
      'tokenizer.ggml.unknown_token_id': { type: 'u32', value: UNK },
      'tokenizer.ggml.add_bos_token': { type: 'bool', value: true },
      'tokenizer.ggml.add_eos_token': { type: 'bool', value: false },
    },
    tensors,
  )
  const parameters = tensors.reduce((n, tensor) => n + tensor.data.length, 0)
  return { bytes, parameters, expectedCompletion: (prompt, maxTokens) => follow(successors, prompt, maxTokens) }
}

/** Each text token's most frequent successor in `text` (ties: the first seen); `.` and unknown characters end the sequence. */
function successorTable(text: string): Map<string, string | undefined> {
  const counts = new Map<string, Map<string, number>>()
  const pieces = [...text].map(pieceOf)
  for (let i = 0; i + 1 < pieces.length; i++) {
    const from = pieces[i]!
    const to = pieces[i + 1]!
    if (from === undefined || to === undefined) continue
    let next = counts.get(from)
    if (next === undefined) counts.set(from, (next = new Map()))
    next.set(to, (next.get(to) ?? 0) + 1)
  }
  const table = new Map<string, string | undefined>()
  for (const piece of [SPACE, ...CHARS]) {
    let best: string | undefined
    let most = 0
    for (const [to, n] of counts.get(piece) ?? []) {
      if (n > most) [best, most] = [to, n]
    }
    table.set(piece, piece === '.' ? undefined : best)
  }
  return table
}

function follow(successors: Map<string, string | undefined>, prompt: string, maxTokens: number): string {
  const pieces = [...prompt].map(pieceOf)
  let current = pieces.at(-1)
  let out = ''
  for (let i = 0; i < maxTokens && current !== undefined; i++) {
    current = successors.get(current)
    if (current !== undefined) out += current === SPACE ? ' ' : current
  }
  return out
}

/** The token piece of a character: `▁` for a space, itself for printable ASCII, undefined (a byte token) otherwise. */
function pieceOf(char: string): string | undefined {
  if (char === ' ') return SPACE
  const code = char.charCodeAt(0)
  return char.length === 1 && code >= 0x21 && code <= 0x7e ? char : undefined
}

function tokenOf(piece: string | undefined): number {
  if (piece === undefined) return EOS
  return piece === SPACE ? FIRST_TEXT_TOKEN : FIRST_TEXT_TOKEN + 1 + (piece.charCodeAt(0) - 0x21)
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`buildTinyModel: \`${name}\` must be a positive integer, got ${String(value)}`)
  return value
}
