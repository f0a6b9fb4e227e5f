/**
 * Normalization (SPEC §2, N1–N6): the canonical form of a program and its
 * identity hash. Two programs that differ only in node and binder names,
 * statement order, or foldable constants normalize to the same form and
 * hash. See README.md in this folder for every rule.
 */
import { canonicalJson } from "../ir/canonical.js"
import { sha256Hex } from "../ir/hash.js"
import type { Program } from "../ir/schema.js"
import { emitDocument, orderDocument } from "./canonicalize.js"
import { buildGraph } from "./graph.js"
import { resolveDocument } from "./resolve.js"
import { simplifyDocument } from "./simplify.js"
import { structuralHashes } from "./structuralHash.js"

export { RETRY_DEFAULTS } from "./defaults.js"
export { FOLD_LIMIT } from "./fold.js"

/**
 * The normal form of a program: defaults explicit (N1), canonical names
 * and order (N2, N3), constants folded (N4), no-ops removed (N5), and a
 * `labels` table from canonical ids and binders to the user's names.
 * Idempotent. Meant for valid programs (see `validate`); never throws.
 */
export const normalize = (program: Program): Program => {
  const doc = resolveDocument(program)
  simplifyDocument(doc)
  const graph = buildGraph(doc)
  const hashes = structuralHashes(doc, graph)
  const naming = orderDocument(doc, graph, hashes)
  return emitDocument(doc, naming)
}

/** Drops the `labels` side table (display names are not part of identity). */
const withoutLabels = (program: Program): Program => {
  const { labels: _labels, ...rest } = program
  return rest
}

/** The canonical JSON text of the normalized program without `labels`: what `hashProgram` hashes. */
export const canonicalForm = (program: Program): string => canonicalJson(withoutLabels(normalize(program)))

/** The program's identity (N6): sha256 hex of `canonicalForm(program)`. */
export const hashProgram = (program: Program): string => sha256Hex(canonicalForm(program))

/** The identity of a program that is already normalized (skips normalizing it again). */
export const hashNormalized = (normalized: Program): string => sha256Hex(canonicalJson(withoutLabels(normalized)))
