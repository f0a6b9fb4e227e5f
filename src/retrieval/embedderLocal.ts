/**
 * The built-in local embedder: **feature hashing, not a neural model.** A
 * text becomes a sparse bag of features — word unigrams (stopwords dropped,
 * a light suffix stemmer), word bigrams, and character 3- to 5-grams of each
 * word — each hashed (FNV-1a) into one of `dimension` buckets with a hashed
 * sign, weighted `(1 + ln tf) × feature weight`, and the vector is
 * L2-normalized. Deterministic, offline, fast; it captures lexical overlap
 * and spelling variants, not meaning (no synonyms, no paraphrase). It is
 * the default so retrieval works with no model and no network.
 */
import { Effect, Layer } from "effect"
import { Embedder } from "./embedder.js"
import type { EmbedderShape } from "./embedder.js"
import { RetrievalError } from "./errors.js"

/** Options of the local embedder. */
export interface LocalEmbedderOptions {
  /** Vector length. @default 384 */
  readonly dimension?: number
  /** Weight of a word bigram relative to a word. @default 0.3 */
  readonly bigramWeight?: number
  /** Total weight of one word's character n-grams relative to the word. @default 0.6 */
  readonly charWeight?: number
}

/** The version of the feature set; bump it whenever features or weights change. */
const LOCAL_EMBEDDER_VERSION = "1"

const STOPWORDS = new Set(
  ("a about above after again against all also am an and any are as at be been before being below between both but by can " +
    "could did do does doing down during each few for from further had has have having he her here hers him his how i if in " +
    "into is it its itself just may me might more most must my no nor not now of off on once only or other our out over own " +
    "same shall she should so some such than that the their them then there these they this those through to too under until " +
    "up upon very was we were what when where which while who whom why will with would you your").split(" ")
)

/** A light English suffix stemmer (plurals, -ing, -ed, -ly, -ation…), enough to match word variants. */
const stem = (w: string): string => {
  if (w.length <= 4) return w
  for (const [suffix, keep] of SUFFIXES) {
    if (w.endsWith(suffix) && w.length - suffix.length >= keep) return w.slice(0, w.length - suffix.length)
  }
  return w
}
const SUFFIXES: ReadonlyArray<readonly [string, number]> = [
  ["ational", 3],
  ["ations", 3],
  ["ation", 3],
  ["ities", 3],
  ["ity", 3],
  ["ings", 3],
  ["ing", 3],
  ["ness", 3],
  ["ments", 3],
  ["ment", 3],
  ["ally", 3],
  ["ies", 3],
  ["ied", 3],
  ["ly", 3],
  ["ed", 3],
  ["es", 3],
  ["al", 4],
  ["s", 3]
]

/** The words of a text: lowercase letter/digit runs, stopwords and one-letter words dropped, stemmed. */
export const words = (text: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const m of text.toLowerCase().matchAll(/[\p{L}\p{N}]+/gu)) {
    const w = m[0]
    if (w.length > 1 && !STOPWORDS.has(w)) out.push(stem(w))
  }
  return out
}

const fnv1a = (s: string, seed: number): number => {
  let h = (0x811c9dc5 ^ seed) >>> 0
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** Embeds one text (pure). */
export const hashEmbed = (text: string, options: LocalEmbedderOptions = {}): Array<number> => {
  const d = options.dimension ?? 384
  const wb = options.bigramWeight ?? 0.3
  const wc = options.charWeight ?? 0.6
  const features = new Map<string, { tf: number; weight: number }>()
  const add = (f: string, weight: number) => {
    if (weight <= 0) return
    const e = features.get(f)
    if (e === undefined) features.set(f, { tf: 1, weight })
    else e.tf++
  }
  const ws = words(text)
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!
    add(`w\u0000${w}`, 1)
    if (i > 0) add(`b\u0000${ws[i - 1]}\u0000${w}`, wb)
    const padded = `<${w}>`
    const grams: Array<string> = []
    for (let n = 3; n <= 5; n++) for (let j = 0; j + n <= padded.length; j++) grams.push(padded.slice(j, j + n))
    for (const g of grams) add(`c\u0000${g}`, wc / Math.sqrt(grams.length))
  }
  const v = new Array<number>(d).fill(0)
  for (const [f, { tf, weight }] of features) {
    const sign = (fnv1a(f, 0x9e3779b9) & 1) === 1 ? 1 : -1
    v[fnv1a(f, 0) % d]! += sign * (1 + Math.log(tf)) * weight
  }
  let norm = 0
  for (const x of v) norm += x * x
  norm = Math.sqrt(norm)
  if (norm > 0) { for (let i = 0; i < d; i++) v[i] = v[i]! / norm }
  return v
}

/** The local hashing embedder as a plain value. */
export const makeLocal = (options: LocalEmbedderOptions = {}): EmbedderShape => {
  const dimension = options.dimension ?? 384
  if (!Number.isInteger(dimension) || dimension < 1 || dimension > 16000) {
    throw new RetrievalError({
      reason: "bad-config",
      message: `the embedding dimension must be an integer from 1 to 16000, got ${dimension}`
    })
  }
  return {
    name: "local-hash",
    version: `${LOCAL_EMBEDDER_VERSION}-d${dimension}`,
    dimension,
    maxBatch: 256,
    embed: (texts) => Effect.sync(() => texts.map((t) => hashEmbed(t, { ...options, dimension })))
  }
}

/** The local hashing embedder as the `Embedder` service; fails with `bad-config` on a bad dimension. */
export const layerLocal = (options: LocalEmbedderOptions = {}): Layer.Layer<Embedder, RetrievalError> =>
  Layer.effect(Embedder, Effect.try({ try: () => makeLocal(options), catch: (e) => e as RetrievalError }))
