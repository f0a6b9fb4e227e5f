/**
 * A candidate of an optimization: for some signatures of a program, new
 * instructions and demos. Applying it gives a new program (normalized and
 * hashed: an optimized program is a new, pinned version).
 */
import type { Demo, Node, Program } from "../ir/schema.js"
import { hashNormalized, normalize } from "../normalize/index.js"

/** What a candidate sets for one signature. */
export interface SignatureSetting {
  readonly instructions?: string
  readonly demos: ReadonlyArray<Demo>
}

/** Settings by signature name; signatures not named keep theirs. */
export type Candidate = { readonly [signature: string]: SignatureSetting }

/** A program with a candidate applied, normalized, and its hash. */
export interface Applied {
  readonly program: Program
  readonly programHash: string
}

/** Applies a candidate to a program. */
export const applyCandidate = (program: Program, candidate: Candidate): Applied => {
  const signatures: { [name: string]: Program["signatures"][string] } = { ...program.signatures }
  for (const [name, setting] of Object.entries(candidate)) {
    const sig = signatures[name]
    if (sig === undefined) continue
    const { demos: _old, doc: _doc, ...rest } = sig
    const doc = setting.instructions ?? sig.doc
    signatures[name] = {
      ...(doc === undefined ? {} : { doc }),
      ...rest,
      ...(setting.demos.length === 0 ? {} : { demos: setting.demos })
    }
  }
  const normalized = normalize({ ...program, signatures })
  return { program: normalized, programHash: hashNormalized(normalized) }
}

/** The nested bodies' nodes of a node. */
const childNodes = (node: Node): ReadonlyArray<Node> => {
  switch (node.kind) {
    case "map":
      return node.body.nodes
    case "branch":
      return node.else === null ? node.then.nodes : [...node.then.nodes, ...node.else.nodes]
    case "choose":
    case "race":
      return node.options.flatMap((o) => o.body.nodes)
    case "llm":
    case "tool":
    case "call":
    case "expr":
    case "wait":
      return []
  }
}

/** Every node of the program, in pre-order. */
const allNodes = (program: Program): ReadonlyArray<Node> => {
  const out: Array<Node> = []
  const walk = (nodes: ReadonlyArray<Node>): void => {
    for (const n of nodes) {
      out.push(n)
      walk(childNodes(n))
    }
  }
  for (const p of Object.values(program.programs)) walk(p.nodes)
  return out
}

/** The signatures an llm step of the program calls, in first-use order. */
export const llmSignatures = (program: Program): ReadonlyArray<string> => {
  const seen: Array<string> = []
  for (const node of allNodes(program)) {
    if (node.kind === "llm" && !seen.includes(node.signature) && program.signatures[node.signature] !== undefined) {
      seen.push(node.signature)
    }
  }
  return seen
}

/** How many llm calls one run makes at most before repairs and retries (a map's body counts once). */
export const llmStepsPerRun = (program: Program): number =>
  Math.max(1, allNodes(program).filter((n) => n.kind === "llm").length)

/** The candidate that keeps a program as it is. */
export const currentCandidate = (program: Program): Candidate =>
  Object.fromEntries(
    llmSignatures(program).map((name) => {
      const sig = program.signatures[name]!
      return [name, { ...(sig.doc === undefined ? {} : { instructions: sig.doc }), demos: sig.demos ?? [] }]
    })
  )
