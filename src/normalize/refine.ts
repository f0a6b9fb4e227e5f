/**
 * Colour refinement (1-dimensional Weisfeiler–Leman) of one scope, for the
 * canonical order of N2. A node's first colour is its `up` structural hash
 * plus the canonical names of the outer nodes it refers to; each round
 * rehashes every colour with the colours of the siblings it uses and of
 * the siblings that use it (with the paths of those refs), until a round
 * splits no class. Colours depend only on structure, never on names or
 * input order, so nodes that keep equal colours are interchangeable as
 * far as this refinement can tell.
 */
import type { StructuralHashes } from "./hash.js"
import { fastHash } from "./hash.js"
import type { INode } from "./internal.js"

/** Most refinement rounds per scope (each is linear in the scope's refs). */
export const MAX_ROUNDS = 64

const countDistinct = (colors: ReadonlyArray<string>): number => new Set(colors).size

/**
 * The refined colour of each node of a scope (by position). `outerName`
 * gives the canonical name of a node of an enclosing scope, or undefined
 * for a node of this scope.
 */
export const refineColors = (
  nodes: ReadonlyArray<INode>,
  hashes: StructuralHashes,
  outerName: (uid: number) => string | undefined
): Array<string> => {
  const n = nodes.length
  const position = new Map<number, number>()
  nodes.forEach((node, i) => position.set(node.uid, i))
  const out: Array<Array<{ readonly path: string; readonly to: number }>> = Array.from({ length: n }, () => [])
  const into: Array<Array<{ readonly path: string; readonly from: number }>> = Array.from({ length: n }, () => [])
  let colors = nodes.map((node, i) => {
    const outer: Array<string> = []
    for (const ref of hashes.refs[node.uid] ?? []) {
      const j = position.get(ref.target)
      if (j !== undefined) {
        out[i]!.push({ path: ref.path, to: j })
        into[j]!.push({ path: ref.path, from: i })
      } else outer.push(ref.path + "=" + (outerName(ref.target) ?? "?"))
    }
    const up = hashes.up[node.uid] ?? ""
    return outer.length === 0 ? up : fastHash(up + "|" + outer.sort().join(","))
  })
  let classes = countDistinct(colors)
  for (let round = 0; round < MAX_ROUNDS && classes < n; round++) {
    const current = colors
    const next = nodes.map((_, i) => {
      const uses = out[i]!.map((e) => "o" + e.path + "=" + current[e.to]!).sort()
      const users = into[i]!.map((e) => "i" + e.path + "=" + current[e.from]!).sort()
      return fastHash(current[i]! + "|" + uses.join(",") + "|" + users.join(","))
    })
    const count = countDistinct(next)
    if (count === classes) break
    colors = next
    classes = count
  }
  return colors
}
