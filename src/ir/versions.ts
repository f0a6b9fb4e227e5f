/**
 * Versioned documents: a document names its format version in one field (`ir: "trellis/1"` for programs), and
 * an older document is brought to the current version on read by a chain of pure upgraders, one step per
 * version (`from` → `to`). An upgrader returns a new document and never changes its input. A document already
 * at the current version is returned as it is (so upgrading twice is upgrading once); one at a version no
 * upgrader starts from is returned unchanged for the decoder to refuse with its own message ("Unsupported IR
 * version …"). The IR's chain (`IR_UPGRADERS`) is empty while `trellis/1` is the only released version; the
 * event schema's is in `trace/versions.ts`. Pure: no I/O.
 */
import { IR_VERSION } from "./schema.js"

/** A JSON object document. */
export type JsonDocument = { readonly [key: string]: unknown }

/** One step of a chain: a document at version `from` becomes one at version `to`. */
export interface Upgrader<V> {
  readonly from: V
  readonly to: V
  readonly upgrade: (document: JsonDocument) => JsonDocument
}

/** What an upgrade did: the document at the end of the chain and the versions it passed through. */
export interface Upgraded {
  readonly document: unknown
  /** The versions the document went through, oldest first (empty: nothing to do). */
  readonly steps: ReadonlyArray<string>
}

const isDocument = (u: unknown): u is JsonDocument => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Brings `document` to `current` along `chain`, reading its version with `versionOf`. Stops (returning what it
 * has) at a version no upgrader starts from, and after `chain.length` steps (a cyclic chain cannot loop).
 * Throws only when an upgrader breaks its promise (its output is not at its `to` version): a bug of the chain,
 * which the chain's tests catch.
 */
export const upgradeWith = <V>(
  document: unknown,
  chain: ReadonlyArray<Upgrader<V>>,
  current: V,
  versionOf: (document: JsonDocument) => V | undefined
): Upgraded => {
  if (!isDocument(document)) return { document, steps: [] }
  let doc: JsonDocument = document
  const steps: Array<string> = []
  for (let i = 0; i <= chain.length; i++) {
    const version = versionOf(doc)
    if (version === undefined || version === current) break
    const step = chain.find((u) => u.from === version)
    if (step === undefined) break
    const next = step.upgrade(doc)
    if (versionOf(next) !== step.to) {
      throw new Error(`upgrader ${String(step.from)} → ${String(step.to)} produced version ${String(versionOf(next))}`)
    }
    steps.push(String(version))
    doc = next
  }
  return { document: doc, steps }
}

/** The upgraders of the IR, oldest first. `trellis/1` is the first released version: none yet. */
export const IR_UPGRADERS: ReadonlyArray<Upgrader<string>> = []

/** The `ir` field of a document, when it is a string. */
export const irVersionOf = (document: JsonDocument): string | undefined =>
  typeof document["ir"] === "string" ? document["ir"] : undefined

/** Brings a program document to `trellis/1` (or to `current` along `chain`, for tests of other chains). */
export const upgradeProgramDocument = (
  document: unknown,
  chain: ReadonlyArray<Upgrader<string>> = IR_UPGRADERS,
  current: string = IR_VERSION
): Upgraded => upgradeWith(document, chain, current, irVersionOf)
