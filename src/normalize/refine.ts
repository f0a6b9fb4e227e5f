/**
 * Colour refinement (1-dimensional Weisfeiler–Leman) of one scope, for the
 * canonical order of N2. A node's first colour is its `up` structural hash
 * plus the canonical names of the outer nodes it refers to; each round
 * rehashes every colour with the colours of the siblings it uses and of
 * the siblings that use it (with the paths of those refs), until a round
 * splits no class. Colours depend only on structure, never on names or
 * input order.
 *
 * When the ordering has to pick one node out of a class of equal colours,
 * it can individualize that node (give it a colour of its own) and refine
 * again, so that the nodes tied to it (its partners in a symmetric
 * structure) are told apart from the others. That costs a refinement, so
 * it is done only when the class touches another non-singleton class, and
 * within a work budget linear in the scope's size.
 */
import { fastHash } from "../ir/hash.js"
import type { INode } from "./internal.js"
import type { StructuralHashes } from "./structuralHash.js"

/** Refinement work allowed per scope, in multiples of (nodes + refs). */
const BUDGET_FACTOR = 32

/** The refs between a node and one neighbour: the neighbour and the sorted paths of the refs. */
interface Edge {
  readonly path: string
  readonly other: number
}

/** Groups edges by neighbour, joining the paths of each group. */
const group = (edges: ReadonlyArray<Edge>): Array<Edge> => {
  if (edges.length < 2) return [...edges]
  const byOther = new Map<number, Array<string>>()
  for (const e of edges) {
    const paths = byOther.get(e.other)
    if (paths === undefined) byOther.set(e.other, [e.path])
    else paths.push(e.path)
  }
  return [...byOther].map(([other, paths]) => ({ other, path: paths.sort().join("+") }))
}

/** The colours of one scope's nodes (by position), refined on demand. */
export class ScopeColors {
  private readonly out: Array<Array<Edge>>
  private readonly into: Array<Array<Edge>>
  private readonly colors: Array<string>
  private readonly sizes = new Map<string, number>()
  private budget: number

  /**
   * `outerName` gives the canonical name of a node of an enclosing scope
   * (undefined for a node of this scope).
   */
  constructor(
    nodes: ReadonlyArray<INode>,
    hashes: StructuralHashes,
    outerName: (uid: number) => string | undefined
  ) {
    const n = nodes.length
    const position = new Map<number, number>()
    nodes.forEach((node, i) => position.set(node.uid, i))
    this.out = Array.from({ length: n }, () => [])
    this.into = Array.from({ length: n }, () => [])
    let edges = 0
    this.colors = nodes.map((node, i) => {
      const outer: Array<string> = []
      for (const ref of hashes.refs[node.uid] ?? []) {
        const j = position.get(ref.target)
        if (j !== undefined) {
          this.out[i]!.push({ path: ref.path, other: j })
          this.into[j]!.push({ path: ref.path, other: i })
          edges++
        } else outer.push(ref.path + "=" + (outerName(ref.target) ?? "?"))
      }
      const up = hashes.up[node.uid] ?? ""
      return outer.length === 0 ? up : fastHash(up + "|" + outer.sort().join(","))
    })
    for (let i = 0; i < n; i++) {
      this.out[i] = group(this.out[i]!)
      this.into[i] = group(this.into[i]!)
    }
    for (const c of this.colors) this.sizes.set(c, (this.sizes.get(c) ?? 0) + 1)
    this.budget = BUDGET_FACTOR * (n + 2 * edges) + 4096
    if (this.sizes.size < n) {
      const linked: Array<number> = []
      for (let i = 0; i < n; i++) if (this.out[i]!.length + this.into[i]!.length > 0) linked.push(i)
      this.refine(linked)
    }
  }

  /** The current colour of the node at position `i`. */
  color(i: number): string {
    return this.colors[i]!
  }

  /**
   * True when the node at `i` shares its colour with others and is linked
   * to a node that does too: picking it first may then matter for which
   * of its neighbours pair with it, so it should be individualized.
   */
  ambiguous(i: number): boolean {
    const colors = this.colors
    if (this.sizes.size === colors.length || (this.sizes.get(colors[i]!) ?? 0) < 2) return false
    for (const e of this.out[i]!) if ((this.sizes.get(colors[e.other]!) ?? 0) > 1) return true
    for (const e of this.into[i]!) if ((this.sizes.get(colors[e.other]!) ?? 0) > 1) return true
    return false
  }

  /**
   * Gives the node at `i` a colour of its own (tagged by `tag`) and
   * refines again. Returns the positions whose colour changed (none when
   * the budget is spent).
   */
  individualize(i: number, tag: string): ReadonlyArray<number> {
    if (this.budget <= 0) return []
    const old = this.colors[i]!
    this.recolor(i, old, fastHash(old + "!" + tag))
    return [i, ...this.refine(this.neighbours([i]))]
  }

  private recolor(i: number, from: string, to: string): void {
    const left = (this.sizes.get(from) ?? 1) - 1
    if (left === 0) this.sizes.delete(from)
    else this.sizes.set(from, left)
    this.sizes.set(to, (this.sizes.get(to) ?? 0) + 1)
    this.colors[i] = to
  }

  /** The distinct neighbours (either direction) of some nodes. */
  private neighbours(nodes: ReadonlyArray<number>): Array<number> {
    const seen = new Set<number>()
    for (const i of nodes) {
      this.budget -= 1 + this.out[i]!.length + this.into[i]!.length
      for (const e of this.out[i]!) seen.add(e.other)
      for (const e of this.into[i]!) seen.add(e.other)
    }
    return [...seen]
  }

  /**
   * Rounds of refinement over `candidates`: each gets a colour from its
   * own and its neighbours' colours; a class changes only where it
   * splits; the neighbours of the nodes that changed are the next round's
   * candidates. Stops when nothing splits or the budget is spent.
   * Returns the positions whose colour changed.
   */
  private refine(first: ReadonlyArray<number>): Array<number> {
    const all: Array<number> = []
    let candidates = first
    while (candidates.length > 0 && this.budget > 0) {
      const colors = this.colors
      const next = candidates.map((i) => {
        this.budget -= 1 + this.out[i]!.length + this.into[i]!.length
        const uses = this.out[i]!.map((e) => "o" + e.path + "=" + colors[e.other]!).sort()
        const users = this.into[i]!.map((e) => "i" + e.path + "=" + colors[e.other]!).sort()
        return fastHash(colors[i]! + "|" + uses.join(",") + "|" + users.join(","))
      })
      // Group the candidates by their current class; a class changes only if it splits.
      const groups = new Map<string, Array<number>>()
      candidates.forEach((i, k) => {
        const c = colors[i]!
        const group = groups.get(c)
        if (group === undefined) groups.set(c, [k])
        else group.push(k)
      })
      const changed: Array<number> = []
      for (const [c, members] of groups) {
        const fresh = new Set(members.map((k) => next[k]!))
        if (fresh.size === 1 && members.length === this.sizes.get(c)) continue
        for (const k of members) {
          const i = candidates[k]!
          this.recolor(i, c, next[k]!)
          changed.push(i)
          all.push(i)
        }
      }
      candidates = changed.length === 0 ? [] : this.neighbours(changed)
    }
    return all
  }
}
