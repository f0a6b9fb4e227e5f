/**
 * A program specialized to a run's patches (issue 21, item 3; see patches.ts and docs/history.md).
 *
 * Wrapping an existing step in `if patched("id") { new } else { old }` moves it under the branch's node
 * path, and node paths are what a record is matched by. So a run never executes a program with `patched`
 * calls as such: it executes the program *specialized* to its patch ids — every `patched("id")` replaced by
 * `true` when the run has `id` (a fresh run has every id of its program), else by `false`, and every branch
 * whose condition is then a constant replaced by the body it takes (its nodes hoisted into the enclosing
 * scope, the node its result names renamed to the branch's id), the whole normalized again. A run recorded
 * before the marker therefore executes the program it was recorded with (same canonical node ids, same
 * hash), a fresh run executes the new code only, and a later program that keeps only the new code (the
 * marker and the old branch removed) is the one its runs already executed.
 *
 * `changeRefusal` is the check of a program given to go on with a recorded run: it must be the run's own
 * program, or specialize to the program the run executed. Pure.
 */
import { Either } from "effect"
import type { Body, Expr, Node, Program } from "../ir/schema.js"
import { hashProgram, normalize } from "../normalize/index.js"
import { RunError } from "./errors.js"
import * as Plan from "./plan.js"

type Mutable = { [k: string]: unknown }

const patchedId = (v: Mutable): string | undefined => {
  if (v.kind !== "call" || v.fn !== "patched" || !Array.isArray(v.args) || v.args.length !== 1) return undefined
  const arg = v.args[0] as { readonly kind?: unknown; readonly value?: unknown } | undefined
  return arg?.kind === "lit" && typeof arg.value === "string" ? arg.value : undefined
}

/** A deep copy of `v` with every `patched("id")` call replaced by the literal `patches.has(id)`. */
const substitute = (v: unknown, patches: ReadonlySet<string>): unknown => {
  if (typeof v !== "object" || v === null) return v
  if (Array.isArray(v)) return v.map((item) => substitute(item, patches))
  const record = v as Mutable
  const id = patchedId(record)
  if (id !== undefined) return { kind: "lit", value: patches.has(id) }
  const out: Mutable = {}
  for (const k of Object.keys(record)) out[k] = substitute(record[k], patches)
  return out
}

/** A deep copy of `v` with node id `from` renamed `to` (ids, refs, `after` lists). */
const rename = (v: unknown, from: string, to: string, key = ""): unknown => {
  if (typeof v !== "object" || v === null) return v
  if (Array.isArray(v)) {
    return key === "after"
      ? v.map((item) => (item === from ? to : item))
      : v.map((item) => rename(item, from, to))
  }
  const record = v as Mutable
  const out: Mutable = {}
  for (const k of Object.keys(record)) out[k] = rename(record[k], from, to, k)
  if (record.kind === "ref" && record.name === from) out.name = to
  if (key === "" && typeof record.id === "string" && record.id === from && "kind" in record) out.id = to
  return out
}

const EMPTY: Body = { nodes: [], result: { kind: "lit", value: null } }

/** Whether a branch node's policy holds nothing but a label (a branch with more policy is kept as it is). */
const bare = (node: Node): boolean => node.policy === undefined || Object.keys(node.policy).every((k) => k === "label")

/** The body with every branch of constant condition replaced by the body it takes (nested bodies too). */
const hoistBody = (body: Body, dropped: Set<string>): Body => {
  const nodes: Array<Node> = []
  for (const node of body.nodes) {
    const inner = hoistNode(node, dropped)
    if (inner.kind !== "branch" || inner.cond.kind !== "lit" || typeof inner.cond.value !== "boolean" || !bare(inner)) {
      nodes.push(inner)
      continue
    }
    const taken = inner.cond.value ? inner.then : inner.else ?? EMPTY
    const result: Expr = taken.result
    const named = result.kind === "ref" && taken.nodes.some((n) => n.id === result.name) ? result.name : undefined
    if (named !== undefined) {
      dropped.add(named)
      for (const n of taken.nodes) nodes.push(rename(n, named, inner.id) as Node)
    } else {
      for (const n of taken.nodes) nodes.push(n)
      nodes.push({
        id: inner.id,
        kind: "expr",
        expr: result,
        ...(inner.policy === undefined ? {} : { policy: inner.policy })
      })
    }
  }
  return { ...body, nodes }
}

const hoistNode = (node: Node, dropped: Set<string>): Node => {
  switch (node.kind) {
    case "map":
      return { ...node, body: hoistBody(node.body, dropped) }
    case "branch":
      return {
        ...node,
        then: hoistBody(node.then, dropped),
        else: node.else === null ? null : hoistBody(node.else, dropped)
      }
    case "choose":
    case "race":
      return { ...node, options: node.options.map((o) => ({ ...o, body: hoistBody(o.body, dropped) })) }
    default:
      return node
  }
}

/**
 * `program` specialized to `patches`: `patched(id)` answered, branches of constant condition replaced by
 * the body they take, normalized. A program without `patched` calls comes back normalized, else unchanged.
 */
export const specialize = (program: Program, patches: ReadonlySet<string>): Program => {
  const folded = normalize(substitute(program, patches) as Program)
  const dropped = new Set<string>()
  const programs: { [name: string]: Program["programs"][string] } = {}
  for (const [name, def] of Object.entries(folded.programs)) programs[name] = { ...def, ...hoistBody(def, dropped) }
  const labels = folded.labels === undefined
    ? undefined
    : Object.fromEntries(Object.entries(folded.labels).filter(([id]) => !dropped.has(id)))
  return normalize({ ...folded, programs, ...(labels === undefined ? {} : { labels }) })
}

const specialized = new WeakMap<Plan.Plan, Map<string, Either.Either<Plan.Plan, RunError>>>()

/**
 * The plan a run executes: `plan` itself when its program has no `patched` calls, else the plan of its
 * program specialized to `patches` (the run's recorded ones; a fresh run's are the program's own), keeping
 * the program's identity (`program`, `hash`) and patch ids. Cached per plan and patch set.
 */
export const planFor = (plan: Plan.Plan, patches: ReadonlySet<string>): Either.Either<Plan.Plan, RunError> => {
  if (plan.patches.length === 0) return Either.right(plan)
  const key = plan.patches.filter((id) => patches.has(id)).join("\n")
  let byKey = specialized.get(plan)
  if (byKey === undefined) specialized.set(plan, byKey = new Map())
  const known = byKey.get(key)
  if (known !== undefined) return known
  const made = Either.match(Plan.make(specialize(plan.program, patches)), {
    onLeft: (e) =>
      Either.left(
        new RunError({
          kind: "InvalidProgram",
          message: `specialized to its patches, the program cannot run: ${e.message}`,
          ...(e.node === undefined ? {} : { node: e.node })
        })
      ),
    onRight: (p) => Either.right({ ...p, program: plan.program, hash: plan.hash, patches: plan.patches })
  })
  byKey.set(key, made)
  return made
}

const listed = (patches: ReadonlySet<string>) =>
  patches.size === 0 ? "none" : [...patches].sort().map((id) => `"${id}"`).join(", ")

/**
 * Why `given` may not go on with a run recorded with the program of hash `recordedHash` (`recorded`, when
 * it is known) and the patch ids `patches`; undefined when it may: it is the same program, or both
 * specialize to the same program (the change is guarded by `patched` markers the run's patches answer).
 */
export const changeRefusal = (
  runId: string,
  given: Program,
  recordedHash: string,
  recorded: Program | undefined,
  patches: ReadonlySet<string>
): string | undefined => {
  const hash = hashProgram(given)
  if (hash === recordedHash) return undefined
  const mine = hashProgram(specialize(given, patches))
  // A run recorded without patch ids by a program without markers executed its program as recorded.
  if (mine === recordedHash) return undefined
  if (recorded !== undefined && mine === hashProgram(specialize(recorded, patches))) return undefined
  return recorded === undefined
    ? `the program's hash ${hash} is not the recorded ${recordedHash}, and the store does not have the ` +
      `recorded program to compare them; allow it to go on (allowProgramChange: true)`
    : `run ${runId} cannot go on with this program: specialized to the run's patches (${listed(patches)}) it ` +
      `is ${mine}, not the program the run executed (${recordedHash} specialized likewise) — a change not ` +
      `guarded by patched("id"), or the old branch of a patch removed while runs recorded without the patch ` +
      `are kept; allow it to go on (allowProgramChange: true)`
}
