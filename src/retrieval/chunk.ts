/**
 * Chunking strategies with provenance. Every chunk carries `[start, end)`
 * offsets (UTF-16 code units, never inside a surrogate pair) into the text it
 * was cut from, and `text.slice(start, end)` is exactly the chunk's text (a
 * law, `laws/retrieval-chunk.test.ts`). Chunks are trimmed of surrounding
 * whitespace, never empty, at most `size` code units long (except a lone
 * surrogate pair when `size` is 1), and in order.
 */

/** How to cut a text into chunks. Sizes and overlaps count UTF-16 code units. */
export type ChunkStrategy =
  /** Windows of `size`, each starting `size - overlap` after the previous one. */
  | { readonly kind: "fixed"; readonly size: number; readonly overlap: number }
  /** Whole sentences packed up to `size`; the next chunk repeats trailing sentences that fit in `overlap`. */
  | { readonly kind: "sentence"; readonly size: number; readonly overlap: number }
  /** Split at paragraphs, then lines, sentences, words, characters — as far as needed — and pack up to `size`. */
  | { readonly kind: "recursive"; readonly size: number; readonly overlap: number }

/** A chunk: its position in the document, offsets, text, and the section (nearest preceding Markdown heading, or ""). */
export interface Chunk {
  readonly index: number
  readonly start: number
  readonly end: number
  readonly text: string
  readonly section: string
}

/** The default strategy: recursive, 1,000 code units, no overlap. */
export const DEFAULT_CHUNKING: ChunkStrategy = { kind: "recursive", size: 1000, overlap: 0 }

/** What is wrong with a strategy (empty when valid). */
export const strategyProblems = (s: ChunkStrategy): ReadonlyArray<string> => {
  const problems: Array<string> = []
  if (!Number.isInteger(s.size) || s.size < 1) problems.push(`chunk size must be a positive integer, got ${s.size}`)
  if (!Number.isInteger(s.overlap) || s.overlap < 0) {
    problems.push(`chunk overlap must be a non-negative integer, got ${s.overlap}`)
  } else if (problems.length === 0 && s.overlap >= s.size) {
    problems.push(`chunk overlap (${s.overlap}) must be less than the chunk size (${s.size})`)
  }
  return problems
}

interface Span {
  readonly start: number
  readonly end: number
}

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff

/** Moves a cut point off the middle of a surrogate pair (backwards, unless that reaches `min`). */
const safeCut = (text: string, at: number, min: number): number => {
  if (at <= 0 || at >= text.length) return at
  if (isLow(text.charCodeAt(at)) && isHigh(text.charCodeAt(at - 1))) return at - 1 > min ? at - 1 : at + 1
  return at
}

/** Whitespace as `String.prototype.trim` and `\s` see it (ECMAScript WhiteSpace and LineTerminator). */
const isSpace = (c: number) =>
  c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 ||
  c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff

/** Windows of at most `size` over `[start, end)` stepping `size - overlap`. */
const windows = (text: string, span: Span, size: number, overlap: number): Array<Span> => {
  const out: Array<Span> = []
  let s = span.start
  while (s < span.end) {
    const e = Math.min(span.end, safeCut(text, s + size, s))
    out.push({ start: s, end: e })
    if (e >= span.end) break
    s = Math.max(s + 1, safeCut(text, e - overlap, s))
    if (isLow(text.charCodeAt(s)) && s > 0 && isHigh(text.charCodeAt(s - 1))) s += 1
  }
  return out
}

/** Splits `[start, end)` after each match of `sep`; the pieces are contiguous and cover the span. */
const splitAfter = (text: string, span: Span, sep: RegExp): Array<Span> => {
  const out: Array<Span> = []
  const re = new RegExp(sep.source, "g")
  re.lastIndex = span.start
  let s = span.start
  for (let m = re.exec(text); m !== null && m.index < span.end; m = re.exec(text)) {
    const cut = Math.min(span.end, m.index + m[0].length)
    if (m[0].length === 0) re.lastIndex++
    if (cut > s && cut < span.end) {
      out.push({ start: s, end: cut })
      s = cut
    }
  }
  out.push({ start: s, end: span.end })
  return out
}

const SENTENCE_END = /[.!?]+["')\]]*\s+|\n+/
const RECURSIVE_SEPARATORS: ReadonlyArray<RegExp> = [/\n\s*\n\s*/, /\n\s*/, SENTENCE_END, /\s+/]

/** Atoms no longer than `size`, contiguous, covering the span: split at each separator level as needed. */
const recursiveAtoms = (text: string, span: Span, size: number, level: number): Array<Span> => {
  if (span.end - span.start <= size) return [span]
  const sep = RECURSIVE_SEPARATORS[level]
  if (sep === undefined) return windows(text, span, size, 0)
  const pieces = splitAfter(text, span, sep)
  if (pieces.length === 1) return recursiveAtoms(text, span, size, level + 1)
  return pieces.flatMap((p) => recursiveAtoms(text, p, size, level + 1))
}

/** Sentences (split at sentence ends and line breaks); a sentence longer than `size` is cut into windows. */
const sentenceAtoms = (text: string, span: Span, size: number): Array<Span> =>
  splitAfter(text, span, SENTENCE_END).flatMap((s) => (s.end - s.start <= size ? [s] : windows(text, s, size, 0)))

/** Packs contiguous atoms greedily up to `size`; each next chunk starts with trailing atoms that fit in `overlap`. */
const pack = (atoms: ReadonlyArray<Span>, size: number, overlap: number): Array<Span> => {
  const out: Array<Span> = []
  let i = 0
  while (i < atoms.length) {
    const start = atoms[i]!.start
    let j = i
    while (j + 1 < atoms.length && atoms[j + 1]!.end - start <= size) j++
    const end = atoms[j]!.end
    out.push({ start, end })
    if (j + 1 >= atoms.length) break
    let next = j + 1
    for (let m = j; m > i && end - atoms[m]!.start <= overlap && atoms[j + 1]!.end - atoms[m]!.start <= size; m--) {
      next = m
    }
    i = next
  }
  return out
}

/** Shrinks a span to exclude surrounding whitespace; undefined when nothing is left. */
const trim = (text: string, span: Span): Span | undefined => {
  let s = span.start
  let e = span.end
  while (s < e && isSpace(text.charCodeAt(s))) s++
  while (e > s && isSpace(text.charCodeAt(e - 1))) e--
  return s < e ? { start: s, end: e } : undefined
}

const HEADING = /^#{1,6}[ \t]+(.+?)[ \t#]*$/gm

/** Cuts `text` into chunks with the given (valid, see `strategyProblems`) strategy. */
export const chunkText = (text: string, strategy: ChunkStrategy): ReadonlyArray<Chunk> => {
  const all: Span = { start: 0, end: text.length }
  if (text.length === 0) return []
  const spans = strategy.kind === "fixed"
    ? windows(text, all, strategy.size, strategy.overlap)
    : pack(
      strategy.kind === "sentence"
        ? sentenceAtoms(text, all, strategy.size)
        : recursiveAtoms(text, all, strategy.size, 0),
      strategy.size,
      strategy.overlap
    )
  const headings: Array<{ readonly at: number; readonly title: string }> = []
  for (const m of text.matchAll(HEADING)) headings.push({ at: m.index, title: m[1] ?? "" })
  const chunks: Array<Chunk> = []
  let h = -1
  for (const span of spans) {
    const t = trim(text, span)
    if (t === undefined) continue
    // Trimming can make a window start where the previous chunk starts, or end inside it: keep the longer one.
    const prev = chunks[chunks.length - 1]
    if (prev !== undefined && t.end <= prev.end) continue
    if (prev !== undefined && t.start <= prev.start) chunks.pop()
    while (h + 1 < headings.length && headings[h + 1]!.at <= t.start) h++
    chunks.push({
      index: chunks.length,
      start: t.start,
      end: t.end,
      text: text.slice(t.start, t.end),
      section: h >= 0 ? headings[h]!.title : ""
    })
  }
  return chunks
}
