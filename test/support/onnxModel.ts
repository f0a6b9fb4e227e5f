/**
 * Tiny BERT-shaped ONNX models written from JS (no network, no Python): a
 * minimal protobuf encoder for the few ONNX messages needed, a WordPiece
 * `tokenizer.json`, and a reference forward pass in plain JS over the same
 * weights, so tests can check the runtime path against it.
 *
 * The embedding model: inputs `input_ids`, `attention_mask`,
 * `token_type_ids` ([batch, seq], int64) → `last_hidden_state` [batch, seq,
 * hidden]:
 *
 *     X   = E[input_ids] + T[token_type_ids]
 *     ctx = Σ_t X·mask / Σ_t mask                  (a masked "attention" over the sequence)
 *     H   = tanh((X + ctx) · W + bias)
 *
 * so a padded position changes nothing only when the mask is honoured. The
 * cross-encoder adds `logits` = H[:, 0] · w ([batch, 1]).
 */
import * as Fs from "node:fs"
import * as Path from "node:path"

// ---- protobuf (proto3 wire format) ----
const varint = (n: number | bigint): Array<number> => {
  let v = BigInt(n)
  if (v < 0n) v += 1n << 64n
  const out: Array<number> = []
  do {
    let byte = Number(v & 0x7fn)
    v >>= 7n
    if (v > 0n) byte |= 0x80
    out.push(byte)
  } while (v > 0n)
  return out
}
type Bytes = ReadonlyArray<number> | Uint8Array
const key = (field: number, wire: number) => varint((field << 3) | wire)
const vint = (field: number, n: number | bigint): Array<number> => [...key(field, 0), ...varint(n)]
const bytes = (field: number, b: Bytes): Array<number> => [...key(field, 2), ...varint(b.length), ...b]
const str = (field: number, s: string) => bytes(field, new TextEncoder().encode(s))
const msg = (field: number, parts: ReadonlyArray<Bytes>) => bytes(field, parts.flatMap((p) => [...p]))

const FLOAT = 1
const INT64 = 7

const floatTensor = (name: string, dims: ReadonlyArray<number>, data: ReadonlyArray<number>) =>
  msg(5, [
    ...dims.map((d) => vint(1, d)),
    vint(2, FLOAT),
    str(8, name),
    bytes(9, new Uint8Array(Float32Array.from(data).buffer))
  ])
const int64Tensor = (name: string, dims: ReadonlyArray<number>, data: ReadonlyArray<number>) =>
  msg(5, [
    ...dims.map((d) => vint(1, d)),
    vint(2, INT64),
    str(8, name),
    bytes(9, new Uint8Array(BigInt64Array.from(data.map(BigInt)).buffer))
  ])
const node = (
  op: string,
  inputs: ReadonlyArray<string>,
  outputs: ReadonlyArray<string>,
  attrs: ReadonlyArray<Bytes> = []
) =>
  msg(1, [
    ...inputs.map((i) => str(1, i)),
    ...outputs.map((o) => str(2, o)),
    str(3, `${op}_${outputs[0]}`),
    str(4, op),
    ...attrs
  ])
const intAttr = (name: string, i: number) => msg(5, [str(1, name), vint(3, i), vint(20, 2)])
const valueInfo = (field: number, name: string, elem: number, dims: ReadonlyArray<string | number>) =>
  msg(field, [
    str(1, name),
    msg(2, [msg(1, [vint(1, elem), msg(2, dims.map((d) => msg(1, [typeof d === "number" ? vint(1, d) : str(2, d)])))])])
  ])

// ---- weights ----
/** Deterministic pseudo-random numbers in [-1, 1) (mulberry32). */
const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1
}

/** The vocabulary: special tokens, then words and `##` pieces. */
export const VOCAB: ReadonlyArray<string> = [
  "[PAD]",
  "[UNK]",
  "[CLS]",
  "[SEP]",
  "the",
  "wing",
  "lift",
  "flow",
  "air",
  "boundary",
  "layer",
  "heat",
  "shock",
  "wave",
  "of",
  "a",
  "in",
  "is",
  "on",
  "super",
  "sonic",
  "speed",
  "drag",
  "plate",
  "jet",
  "##s",
  "##ing",
  "##ed",
  "##er",
  "##sonic",
  "##ic",
  "##al",
  "##ly"
]

/** The weights of a tiny model (all float32-representable). */
export interface TinyWeights {
  readonly vocab: number
  readonly hidden: number
  readonly E: ReadonlyArray<number>
  readonly T: ReadonlyArray<number>
  readonly W: ReadonlyArray<number>
  readonly bias: ReadonlyArray<number>
  readonly head: ReadonlyArray<number>
}

const f32 = (x: number) => Math.fround(x)

/** Random weights for a model of width `hidden`. */
export const tinyWeights = (hidden = 8, seed = 7): TinyWeights => {
  const r = rng(seed)
  const fill = (n: number, scale: number) => Array.from({ length: n }, () => f32(r() * scale))
  return {
    vocab: VOCAB.length,
    hidden,
    E: fill(VOCAB.length * hidden, 1),
    T: fill(2 * hidden, 0.5),
    W: fill(hidden * hidden, 0.8),
    bias: fill(hidden, 0.2),
    head: fill(hidden, 1)
  }
}

/** The ONNX model (bytes). */
export const tinyModel = (w: TinyWeights, kind: "embedding" | "cross-encoder"): Uint8Array => {
  const h = w.hidden
  const nodes = [
    node("Gather", ["E", "input_ids"], ["xe"]),
    node("Gather", ["T", "token_type_ids"], ["xt"]),
    node("Add", ["xe", "xt"], ["x"]),
    node("Cast", ["attention_mask"], ["mf"], [intAttr("to", FLOAT)]),
    node("Unsqueeze", ["mf", "axis2"], ["m3"]),
    node("Mul", ["x", "m3"], ["xm"]),
    node("ReduceSum", ["xm", "axis1"], ["s"], [intAttr("keepdims", 1)]),
    node("ReduceSum", ["m3", "axis1"], ["c"], [intAttr("keepdims", 1)]),
    node("Div", ["s", "c"], ["ctx"]),
    node("Add", ["x", "ctx"], ["y"]),
    node("MatMul", ["y", "W"], ["z"]),
    node("Add", ["z", "bias"], ["zb"]),
    node("Tanh", ["zb"], ["last_hidden_state"]),
    ...(kind === "cross-encoder"
      ? [
        node("Gather", ["last_hidden_state", "zero"], ["cls"], [intAttr("axis", 1)]),
        node("MatMul", ["cls", "head"], ["logits"])
      ]
      : [])
  ]
  const graph = [
    ...nodes,
    str(2, "tiny-bert"),
    floatTensor("E", [w.vocab, h], w.E),
    floatTensor("T", [2, h], w.T),
    floatTensor("W", [h, h], w.W),
    floatTensor("bias", [h], w.bias),
    int64Tensor("axis1", [1], [1]),
    int64Tensor("axis2", [1], [2]),
    ...(kind === "cross-encoder" ? [floatTensor("head", [h, 1], w.head), int64Tensor("zero", [], [0])] : []),
    valueInfo(11, "input_ids", INT64, ["batch", "seq"]),
    valueInfo(11, "attention_mask", INT64, ["batch", "seq"]),
    valueInfo(11, "token_type_ids", INT64, ["batch", "seq"]),
    kind === "cross-encoder"
      ? valueInfo(12, "logits", FLOAT, ["batch", 1])
      : valueInfo(12, "last_hidden_state", FLOAT, ["batch", "seq", h])
  ]
  return Uint8Array.from([
    ...vint(1, 8), // ir_version
    ...str(2, "trellis-test"),
    ...msg(7, graph),
    ...msg(8, [str(1, ""), vint(2, 13)]) // opset 13
  ])
}

// ---- tokenizer ----
const special = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true
})

/** A WordPiece `tokenizer.json` (BERT normalizer and pre-tokenizer, [CLS] … [SEP] template). */
export const tinyTokenizerJson = () => ({
  version: "1.0",
  truncation: null,
  padding: null,
  added_tokens: [special(0, "[PAD]"), special(1, "[UNK]"), special(2, "[CLS]"), special(3, "[SEP]")],
  normalizer: {
    type: "BertNormalizer",
    clean_text: true,
    handle_chinese_chars: true,
    strip_accents: null,
    lowercase: true
  },
  pre_tokenizer: { type: "BertPreTokenizer" },
  post_processor: {
    type: "TemplateProcessing",
    single: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, {
      SpecialToken: { id: "[SEP]", type_id: 0 }
    }],
    pair: [
      { SpecialToken: { id: "[CLS]", type_id: 0 } },
      { Sequence: { id: "A", type_id: 0 } },
      { SpecialToken: { id: "[SEP]", type_id: 0 } },
      { Sequence: { id: "B", type_id: 1 } },
      { SpecialToken: { id: "[SEP]", type_id: 1 } }
    ],
    special_tokens: {
      "[CLS]": { id: "[CLS]", ids: [2], tokens: ["[CLS]"] },
      "[SEP]": { id: "[SEP]", ids: [3], tokens: ["[SEP]"] }
    }
  },
  decoder: { type: "WordPiece", prefix: "##", cleanup: true },
  model: {
    type: "WordPiece",
    unk_token: "[UNK]",
    continuing_subword_prefix: "##",
    max_input_chars_per_word: 100,
    vocab: Object.fromEntries(VOCAB.map((t, i) => [t, i]))
  }
})

/** An independent WordPiece (lowercase, words and punctuation, greedy longest match) → ids without specials. */
export const wordPiece = (text: string): Array<number> => {
  const ids: Array<number> = []
  const index = new Map(VOCAB.map((t, i) => [t, i]))
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? []) {
    const pieces: Array<number> = []
    let start = 0
    let ok = true
    while (start < word.length) {
      let end = word.length
      let found: number | undefined
      while (end > start) {
        const piece = (start > 0 ? "##" : "") + word.slice(start, end)
        found = index.get(piece)
        if (found !== undefined) break
        end--
      }
      if (found === undefined) {
        ok = false
        break
      }
      pieces.push(found)
      start = end
    }
    for (const id of ok ? pieces : [1]) ids.push(id)
  }
  return ids
}

// ---- reference forward pass (float64 over the float32 weights) ----
/** Token states `[seq][hidden]` of one unpadded sequence. */
export const referenceStates = (w: TinyWeights, ids: ReadonlyArray<number>, types: ReadonlyArray<number>) => {
  const h = w.hidden
  const x = ids.map((id, t) => Array.from({ length: h }, (_, j) => w.E[id * h + j]! + w.T[types[t]! * h + j]!))
  const ctx = Array.from({ length: h }, (_, j) => x.reduce((s, row) => s + row[j]!, 0) / x.length)
  return x.map((row) =>
    Array.from({ length: h }, (_, k) => {
      let z = w.bias[k]!
      for (let j = 0; j < h; j++) z += (row[j]! + ctx[j]!) * w.W[j * h + k]!
      return Math.tanh(z)
    })
  )
}

/** The reference sentence embedding: [CLS] ids [SEP], pooled, optionally normalized. */
export const referenceEmbedding = (w: TinyWeights, text: string, pooling: "mean" | "cls", normalize: boolean) => {
  const ids = [2, ...wordPiece(text), 3]
  const states = referenceStates(w, ids, ids.map(() => 0))
  const v = pooling === "cls"
    ? states[0]!
    : Array.from({ length: w.hidden }, (_, j) => states.reduce((s, row) => s + row[j]!, 0) / states.length)
  const n = Math.hypot(...v)
  return normalize ? v.map((x) => x / n) : v
}

/** The reference cross-encoder score of (query, passage). */
export const referenceScore = (w: TinyWeights, query: string, passage: string) => {
  const a = [2, ...wordPiece(query), 3]
  const b = [...wordPiece(passage), 3]
  const states = referenceStates(w, [...a, ...b], [...a.map(() => 0), ...b.map(() => 1)])
  return states[0]!.reduce((s, x, j) => s + x * w.head[j]!, 0)
}

/** Writes a model directory (model.onnx, tokenizer.json, trellis-model.json) and returns it. */
export const writeModelDir = (
  dir: string,
  w: TinyWeights,
  config: {
    readonly kind?: "embedding" | "cross-encoder"
    readonly pooling?: "mean" | "cls"
    readonly normalize?: boolean
    readonly maxLength?: number
  }
): string => {
  Fs.mkdirSync(dir, { recursive: true })
  Fs.writeFileSync(Path.join(dir, "model.onnx"), tinyModel(w, config.kind ?? "embedding"))
  Fs.writeFileSync(Path.join(dir, "tokenizer.json"), JSON.stringify(tinyTokenizerJson()))
  Fs.writeFileSync(Path.join(dir, "trellis-model.json"), JSON.stringify(config))
  return dir
}
