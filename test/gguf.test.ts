// The GGUF writer and the tiny model, read back by an independent parser (@huggingface/gguf). That
// llama.cpp loads the file and generates the predicted text is checked in Chromium (wllama.browser.test.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gguf } from '@huggingface/gguf'
import { afterAll, describe, expect, it } from 'vitest'
import { buildTinyModel, tinyModelParameters, writeGguf } from '../src/wllama/gguf-entry.js'

const dir = mkdtempSync(join(tmpdir(), 'ppl-gguf-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function parse(bytes: Uint8Array, name: string) {
  const path = join(dir, name)
  writeFileSync(path, bytes)
  return gguf(path, { allowLocalFile: true, computeParametersCount: true })
}

describe('buildTinyModel', () => {
  it('writes a GGUF v3 llama model that a GGUF parser reads: metadata, vocabulary and tensors as declared', async () => {
    const model = buildTinyModel({ blocks: 3, feedForward: 64 })
    const { metadata: typed, tensorInfos, parameterCount } = await parse(model.bytes, 'tiny.gguf')
    // Read as plain entries: the parser's types list only the keys of known architectures' fields.
    const metadata = new Map<string, unknown>(Object.entries(typed))
    expect(metadata.get('version')).toBe(3)
    expect(metadata.get('general.architecture')).toBe('llama')
    expect(metadata.get('general.alignment')).toBe(32)
    expect(metadata.get('llama.block_count')).toBe(3)
    expect(metadata.get('llama.feed_forward_length')).toBe(64)
    expect(metadata.get('llama.embedding_length')).toBe(128)
    const tokens = metadata.get('tokenizer.ggml.tokens') as string[]
    expect(tokens.slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<0x00>'])
    expect(tokens).toContain('▁')
    expect(metadata.get('llama.vocab_size')).toBe(tokens.length)
    expect(tensorInfos.map((t) => t.name)).toContain('blk.2.ffn_down.weight')
    expect(tensorInfos.find((t) => t.name === 'blk.0.ffn_down.weight')?.shape).toEqual([64n, 128n])
    expect(tensorInfos.every((t) => t.dtype === 0)).toBe(true) // F32
    expect(parameterCount).toBe(model.parameters)
    expect(tinyModelParameters({ blocks: 3, feedForward: 64 })).toBe(model.parameters) // sized without building it
  })

  it('is deterministic: the same options give the same bytes; another seed or size gives others', () => {
    const same = (x: Uint8Array, y: Uint8Array): boolean => Buffer.from(x).equals(Buffer.from(y))
    const a = buildTinyModel({ seed: 3 }).bytes
    expect(same(buildTinyModel({ seed: 3 }).bytes, a)).toBe(true)
    expect(same(buildTinyModel({ seed: 4 }).bytes, a)).toBe(false)
    expect(buildTinyModel({ seed: 3, blocks: 4 }).bytes.length).toBeGreaterThan(a.length)
  })

  it('predicts greedy output from the bigrams of its text; `.` and unknown characters end it', () => {
    const model = buildTinyModel({ text: 'abcd. xyz' })
    expect(model.expectedCompletion('a', 10)).toBe('bcd.')
    expect(model.expectedCompletion('xa', 2)).toBe('bc')
    expect(model.expectedCompletion('x', 10)).toBe('yz')
    expect(model.expectedCompletion('é', 10)).toBe('')
    expect(model.expectedCompletion('.', 10)).toBe('')
    expect(model.expectedCompletion('d', 10)).toBe('.')
  })

  it('writeGguf refuses values GGUF would store wrong, naming them', () => {
    const data = new Float32Array(2)
    expect(() => writeGguf({ 'general.alignment': { type: 'u32', value: 64 } }, [])).toThrow(/writes `general.alignment` itself/)
    expect(() => writeGguf({ n: { type: 'u32', value: -1 } }, [])).toThrow(/`n`: -1 is not a u32/)
    expect(() => writeGguf({ n: { type: 'i32s', value: [1, 1.5] } }, [])).toThrow(/`n`: 1.5 is not a i32/)
    expect(() => writeGguf({}, [{ name: 't', dims: [2.5], data }])).toThrow(/dims must be positive integers/)
    expect(() => writeGguf({}, [{ name: 't', dims: [3], data }])).toThrow(/hold 3 values, got 2/)
  })

  it('refuses sizes that are not positive integers, naming the option', () => {
    expect(() => buildTinyModel({ blocks: 0 })).toThrow(/`blocks` must be a positive integer, got 0/)
    expect(() => buildTinyModel({ feedForward: 1.5 })).toThrow(/`feedForward`/)
  })
})
