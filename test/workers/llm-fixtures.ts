/** The text the tiny test models follow (its character bigrams); tests predict their output with `expectedCompletion`. */
export const TINY_TEXT = 'the quick brown fox jumps over the lazy dog and then it sleeps. '
/** The tiny test model: a long context, so a generation can run for seconds (a cancel test needs that). */
export const TINY_OPTIONS = { text: TINY_TEXT, contextLength: 4096 } as const
/** Where the loader test puts the tiny model as a file to download (written and removed by the test). */
export const MODEL_FILE_URL = '/test-results/model-cache/tiny.gguf'
