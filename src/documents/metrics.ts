/**
 * Document metrics, pure: IoU of boxes, precision/recall/F1 of detected
 * boxes against ground truth at an IoU threshold (greedy one-to-one
 * matching, best IoU first; optionally only boxes of the same kind), edit
 * distance, CER and WER, and the cell-level accuracy of a table grid.
 */
import type { Box } from "./geometry.js"
import { area, intersection } from "./geometry.js"

/** Intersection over union of two boxes (0 when apart; 1 for equal boxes of positive area). */
export const iou = (a: Box, b: Box): number => {
  const i = intersection(a, b)
  if (i === undefined) return 0
  const inter = area(i)
  const u = area(a) + area(b) - inter
  return u <= 0 ? 0 : inter / u
}

/** A box with an optional kind (a block kind, "table", …). */
export interface Labeled {
  readonly box: Box
  readonly kind?: string | undefined
}

/** Precision, recall and F1 of a detection at an IoU threshold, with the matches. */
export interface DetectionScore {
  readonly truePositives: number
  readonly predicted: number
  readonly truth: number
  /** matched / predicted (1 when nothing was predicted and nothing was expected). */
  readonly precision: number
  /** matched / truth (1 when nothing was expected). */
  readonly recall: number
  readonly f1: number
  /** Mean IoU over the matches (0 with none). */
  readonly meanIou: number
  /** Pairs `[predicted index, truth index, iou]`. */
  readonly matches: ReadonlyArray<readonly [number, number, number]>
}

/**
 * Matches predicted boxes to ground-truth boxes one to one (highest IoU
 * first, each pair at least `threshold`; with `sameKind`, only boxes of the
 * same kind) and scores the detection.
 */
export const detectionScore = (
  predicted: ReadonlyArray<Labeled>,
  truth: ReadonlyArray<Labeled>,
  options: { readonly threshold?: number; readonly sameKind?: boolean } = {}
): DetectionScore => {
  const threshold = options.threshold ?? 0.5
  const pairs: Array<readonly [number, number, number]> = []
  predicted.forEach((p, i) =>
    truth.forEach((t, j) => {
      if (options.sameKind === true && p.kind !== t.kind) return
      const v = iou(p.box, t.box)
      if (v >= threshold && v > 0) pairs.push([i, j, v])
    })
  )
  pairs.sort((a, b) => b[2] - a[2] || a[0] - b[0] || a[1] - b[1])
  const usedP = new Set<number>()
  const usedT = new Set<number>()
  const matches: Array<readonly [number, number, number]> = []
  for (const pair of pairs) {
    if (usedP.has(pair[0]) || usedT.has(pair[1])) continue
    usedP.add(pair[0])
    usedT.add(pair[1])
    matches.push(pair)
  }
  const tp = matches.length
  const precision = predicted.length === 0 ? (truth.length === 0 ? 1 : 0) : tp / predicted.length
  const recall = truth.length === 0 ? 1 : tp / truth.length
  return {
    truePositives: tp,
    predicted: predicted.length,
    truth: truth.length,
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    meanIou: tp === 0 ? 0 : matches.reduce((s, m) => s + m[2], 0) / tp,
    matches
  }
}

/** The Levenshtein distance between two sequences (insertions, deletions, substitutions cost 1). */
export const editDistance = <A>(a: ReadonlyArray<A>, b: ReadonlyArray<A>): number => {
  if (a.length === 0) return b.length
  if (b.length === 0) return a.length
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]!
}

/** Code points of a text, after collapsing whitespace runs to one space and trimming. */
const chars = (text: string): Array<string> => Array.from(text.replace(/\s+/g, " ").trim())
/** Words of a text (split on whitespace). */
const words = (text: string): Array<string> => text.split(/\s+/).filter((w) => w !== "")

/** Character error rate: edit distance over code points / reference length (whitespace runs count as one space). */
export const cer = (reference: string, hypothesis: string): number => {
  const r = chars(reference)
  const h = chars(hypothesis)
  return r.length === 0 ? (h.length === 0 ? 0 : 1) : editDistance(r, h) / r.length
}

/** Word error rate: edit distance over words / reference word count. */
export const wer = (reference: string, hypothesis: string): number => {
  const r = words(reference)
  const h = words(hypothesis)
  return r.length === 0 ? (h.length === 0 ? 0 : 1) : editDistance(r, h) / r.length
}

/**
 * Cell-level accuracy of a table: the fraction of grid positions (of the
 * larger of the two grids) whose trimmed texts are equal; 1 for two empty grids.
 */
export const cellAccuracy = (
  truth: ReadonlyArray<ReadonlyArray<string>>,
  predicted: ReadonlyArray<ReadonlyArray<string>>
): number => {
  const rows = Math.max(truth.length, predicted.length)
  let cols = 0
  for (const r of [...truth, ...predicted]) cols = Math.max(cols, r.length)
  if (rows * cols === 0) return 1
  let equal = 0
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const t = truth[r]?.[c]
      const p = predicted[r]?.[c]
      if (t !== undefined && p !== undefined && t.trim() === p.trim()) equal++
    }
  }
  return equal / (rows * cols)
}
