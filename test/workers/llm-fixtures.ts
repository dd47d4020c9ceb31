/** The text the tiny test models follow (its character bigrams); tests predict their output with `expectedCompletion`. */
export const TINY_TEXT = 'the quick brown fox jumps over the lazy dog and then it sleeps. '
