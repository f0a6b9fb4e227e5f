/**
 * The DAG's layout, apart from drawing (no DOM, so it is tested in Node):
 * the ELK graph of a program's picture (layered, top to bottom, nested
 * scopes as compound nodes, collapsed groups as one box), the boxes of a
 * computed layout in absolute coordinates, and the check that no two boxes
 * that are not nested in one another intersect.
 */
import type { ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api.js"
import type { GraphNode, GraphScope, GraphView } from "../graph.js"

/** Height of a leaf node (and of a collapsed group). */
export const LEAF_H = 46
/** Height of a group's header bar and of a scope's title. */
export const HEADER = 28
const CHAR_W = 7.2
/** Height of the box showing a body made only of expressions. */
export const EXPR_H = 30

/** Whether a node is drawn as a group (it has nested scopes). */
export const isGroup = (n: GraphNode): boolean => n.scopes.length > 0

/** Room for the label and the state note (`3/5 done, running`) on the first line, the kind and detail on the second. */
export const width = (n: GraphNode): number =>
  Math.min(
    300,
    Math.max(
      170,
      Math.min(n.label.length, 32) * CHAR_W + 30 + (isGroup(n) ? 20 : 0) + 120,
      Math.min(`${n.kind} ${n.detail}`.length, 40) * 6.6 + 24
    )
  )

/** The header of an expanded group: its name, then what it does (`items · map x in xs`). */
export const groupTitle = (n: GraphNode): string =>
  `${n.label} · ${n.kind === "map" ? `map ${n.detail}` : n.kind === "call" ? `run ${n.detail}` : n.detail}`

/** The least width of an expanded group: its header (after the −/+ button, before the state note), up to 420. */
export const groupWidth = (n: GraphNode): number =>
  Math.max(width(n), Math.min(420, 30 + Math.min(groupTitle(n).length, 40) * CHAR_W + 110))

/**
 * The `elk.nodeSize.minimum` option of a compound node at least `w` wide and `h` tall. elkjs's layered layout,
 * laid out downwards with `INCLUDE_CHILDREN`, applies a compound node's minimum size turned a quarter (asked
 * `(250, 83)`, it drew a box 110 wide and 250 tall), so the pair is written height first; `minimumOf` reads it
 * back, and the layout law checks every box against it in both layouts.
 */
const minimumOption = (w: number, h: number): string => `(${h}, ${w})`

/** The least width and height a node of an ELK graph asks for (zero when it asks none). */
export const minimumOf = (node: ElkNode): { readonly w: number; readonly h: number } => {
  const m = /\(([\d.]+), ([\d.]+)\)/.exec(node.layoutOptions?.["elk.nodeSize.minimum"] ?? "")
  return { w: Number(m?.[2] ?? 0), h: Number(m?.[1] ?? 0) }
}

/** The text of the box standing for a body made only of expressions. */
export const exprText = (sc: GraphScope): string => {
  const r = sc.result.length > 44 ? sc.result.slice(0, 43) + "…" : sc.result
  return `= ${r}`
}

/** The extra height of a choose's option title: its second line (propensity and policy). */
export const CHOICE_LINE = 15
/** Width of a character of an arm's title and a choice's second line (11 px). */
export const ARM_CHAR_W = 6.9
/** The least width of a choose's option: its second line (`p=0.50 · policy epsilon-greedy(0.1)`). */
const CHOICE_W = 38 * ARM_CHAR_W + 16
/** The width of a scope's title as marked at run time (the longest: `✓ … (taken)`, `… (not taken)`). */
const exprTitleWidth = (title: string): number => (Math.min(title.length, 40) + 14) * ARM_CHAR_W + 16

const exprWidth = (sc: GraphScope): number => Math.max(90, exprText(sc).length * 6.8 + 18)

/** The id of a scope's compound node (`scope:<owner key>/<segment>`). */
export const scopeId = (owner: GraphNode, sc: GraphScope): string => `scope:${owner.key}/${sc.segment}`

/** The groups that start collapsed: deeper than two levels, or holding more than 12 nodes. */
export const defaultCollapsed = (graph: GraphView): Set<string> => {
  const out = new Set<string>()
  const walk = (nodes: ReadonlyArray<GraphNode>, depth: number) => {
    for (const n of nodes) {
      if (!isGroup(n)) continue
      const size = n.scopes.reduce((a, sc) => a + sc.nodes.length, 0)
      if (depth >= 2 || size > 12) out.add(n.key)
      for (const sc of n.scopes) walk(sc.nodes, depth + 1)
    }
  }
  walk(graph.nodes, 0)
  return out
}

/** The ELK graph of `graph` with the groups in `collapsed` drawn as one box. */
export const toElk = (graph: GraphView, collapsed: ReadonlySet<string>): ElkNode => {
  const edgesOf = (nodes: ReadonlyArray<GraphNode>, prefix: string): Array<ElkExtendedEdge> =>
    nodes.flatMap((n) =>
      n.deps.map((d) => ({ id: `e:${prefix}${d}->${n.key}`, sources: [`${prefix}${d}`], targets: [n.key] }))
    )
  const scopeNode = (n: GraphNode, sc: GraphScope): ElkNode => {
    const id = scopeId(n, sc)
    const prefix = sc.segment === "" ? `${n.key}/` : `${n.key}/${sc.segment}/`
    // Room for the title as marked at run time (`✓ then (taken)`, `else (not taken)`), and for a choose's
    // second line (`p=0.50 · policy epsilon-greedy(0.1)`).
    const top = n.kind === "choose" ? HEADER + CHOICE_LINE : HEADER
    const minW = Math.max(exprTitleWidth(sc.title), n.kind === "choose" ? CHOICE_W : 0)
    return {
      id,
      labels: [{ text: sc.title }],
      layoutOptions: {
        "elk.padding": `[top=${top},left=10,bottom=10,right=10]`,
        "elk.nodeSize.constraints": "MINIMUM_SIZE",
        "elk.nodeSize.minimum": minimumOption(minW, top + EXPR_H + 10)
      },
      children: sc.nodes.length === 0
        ? [{ id: `expr:${id}`, width: exprWidth(sc), height: EXPR_H }]
        : sc.nodes.map(nodeOf),
      edges: edgesOf(sc.nodes, prefix)
    }
  }
  const nodeOf = (n: GraphNode): ElkNode => {
    if (!isGroup(n) || collapsed.has(n.key)) return { id: n.key, width: width(n), height: LEAF_H }
    return {
      id: n.key,
      labels: [{ text: n.label }],
      layoutOptions: {
        "elk.padding": `[top=${HEADER + 8},left=12,bottom=12,right=12]`,
        "elk.nodeSize.constraints": "MINIMUM_SIZE",
        "elk.nodeSize.minimum": minimumOption(groupWidth(n), LEAF_H)
      },
      // Every scope is a compound node of its own (titled, and marked taken or not), even a map's one body.
      children: n.scopes.map((sc) => scopeNode(n, sc)),
      edges: []
    }
  }
  return {
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "DOWN",
      "elk.hierarchyHandling": "INCLUDE_CHILDREN",
      "elk.layered.spacing.nodeNodeBetweenLayers": "36",
      "elk.spacing.nodeNode": "22",
      "elk.edgeRouting": "ORTHOGONAL",
      "elk.padding": "[top=10,left=10,bottom=10,right=10]"
    },
    children: graph.nodes.map(nodeOf),
    edges: edgesOf(graph.nodes, "")
  }
}

/** A laid-out box in absolute coordinates; `parent` is the id of the box it sits in (undefined at the top). */
export interface Box {
  readonly id: string
  readonly x: number
  readonly y: number
  readonly w: number
  readonly h: number
  readonly parent: string | undefined
}

/** Every box of a computed layout, in absolute coordinates. */
export const boxesOf = (layout: ElkNode): Array<Box> => {
  const out: Array<Box> = []
  const walk = (node: ElkNode, ox: number, oy: number, parent: string | undefined) => {
    for (const c of node.children ?? []) {
      const x = ox + (c.x ?? 0)
      const y = oy + (c.y ?? 0)
      out.push({ id: c.id, x, y, w: c.width ?? 0, h: c.height ?? 0, parent })
      walk(c, x, y, c.id)
    }
  }
  walk(layout, 0, 0, undefined)
  return out
}

const intersect = (a: Box, b: Box): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h

/**
 * The faults of a layout: pairs of boxes that intersect though neither holds the other, and boxes that stick out
 * of the box they sit in, or have no area. Empty for a good layout.
 */
export const layoutFaults = (boxes: ReadonlyArray<Box>): Array<string> => {
  const byId = new Map(boxes.map((b) => [b.id, b]))
  const ancestors = (b: Box): Set<string> => {
    const out = new Set<string>()
    for (let p = b.parent; p !== undefined; p = byId.get(p)?.parent) out.add(p)
    return out
  }
  const faults: Array<string> = []
  const sorted = [...boxes].sort((a, b) => a.x - b.x)
  const anc = new Map(boxes.map((b) => [b.id, ancestors(b)]))
  for (const b of boxes) {
    if (!(b.w > 0 && b.h > 0)) faults.push(`${b.id} has no area`)
    const p = b.parent === undefined ? undefined : byId.get(b.parent)
    if (p !== undefined && (b.x < p.x || b.y < p.y || b.x + b.w > p.x + p.w + 0.5 || b.y + b.h > p.y + p.h + 0.5)) {
      faults.push(`${b.id} sticks out of ${p.id}`)
    }
  }
  // Sweep on x: only boxes whose x ranges meet are compared.
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i]!
    for (let j = i + 1; j < sorted.length && sorted[j]!.x < a.x + a.w; j++) {
      const b = sorted[j]!
      if (anc.get(a.id)!.has(b.id) || anc.get(b.id)!.has(a.id)) continue
      if (intersect(a, b)) faults.push(`${a.id} overlaps ${b.id}`)
    }
  }
  return faults
}

/**
 * The boxes of `layout` smaller than `input` (the ELK graph it was computed from) asks: a leaf narrower or lower
 * than its size, a compound node than its `minimumOf` (room for a title as marked at run time, or a choice's
 * second line). Empty for a good layout.
 */
export const sizeFaults = (input: ElkNode, layout: ElkNode): Array<string> => {
  const asked = new Map<string, { readonly w: number; readonly h: number }>()
  const walk = (node: ElkNode) => {
    for (const c of node.children ?? []) {
      const min = minimumOf(c)
      asked.set(c.id, { w: Math.max(c.width ?? 0, min.w), h: Math.max(c.height ?? 0, min.h) })
      walk(c)
    }
  }
  walk(input)
  return boxesOf(layout).flatMap((b) => {
    const a = asked.get(b.id)
    return a !== undefined && (b.w < a.w - 0.5 || b.h < a.h - 0.5)
      ? [`${b.id} is ${Math.round(b.w)}×${Math.round(b.h)}, smaller than ${Math.round(a.w)}×${Math.round(a.h)}`]
      : []
  })
}

const GAP_X = 22
const GAP_Y = 40

const paddingOf = (n: ElkNode): { top: number; left: number; bottom: number; right: number } => {
  const p = n.layoutOptions?.["elk.padding"] ?? ""
  const get = (k: string, d: number) => Number(new RegExp(`${k}=(\\d+)`).exec(p)?.[1] ?? d)
  return { top: get("top", 10), left: get("left", 10), bottom: get("bottom", 10), right: get("right", 10) }
}

/**
 * A layered layout computed in linear time, for pictures too big for ELK to lay out while the reader waits
 * (ELK takes tens of seconds on 900 nodes): per compound node, children in layers by longest dependency path,
 * ordered by the mean position of what they wait for, packed in rows; nested compound nodes first, side by side.
 * Boxes never overlap by construction. The result has ELK's shape (`x`, `y`, sizes, edge sections).
 */
export const quickLayout = (graph: ElkNode): ElkNode => {
  const place = (node: ElkNode): ElkNode => {
    const kids = (node.children ?? []).map((c) => ((c.children?.length ?? 0) > 0 ? place(c) : { ...c }))
    const pad = paddingOf(node)
    const min = minimumOf(node)
    const minW = Math.max(node.width ?? 0, min.w)
    const minH = Math.max(node.height ?? 0, min.h)
    if (kids.length === 0) return { ...node, width: minW, height: minH }
    const index = new Map(kids.map((k, i) => [k.id, i]))
    const preds: Array<Array<number>> = kids.map(() => [])
    for (const e of node.edges ?? []) {
      const s = index.get(e.sources[0]!)
      const t = index.get(e.targets[0]!)
      if (s !== undefined && t !== undefined && s !== t) preds[t]!.push(s)
    }
    // Longest path from the roots (children come in dependency order: a node's deps are listed before it).
    const layer = kids.map(() => 0)
    const order = topo(preds)
    for (const i of order) for (const p of preds[i]!) layer[i] = Math.max(layer[i]!, layer[p]! + 1)
    const layers: Array<Array<number>> = []
    for (const i of order) (layers[layer[i]!] ??= []).push(i)
    const pos = kids.map(() => 0)
    for (const row of layers) {
      if (row === undefined) continue
      const mean = (i: number) => {
        const ps = preds[i]!
        return ps.length === 0 ? i : ps.reduce((a, p) => a + pos[p]!, 0) / ps.length
      }
      const keyed = row.map((i) => [mean(i), i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1])
      keyed.forEach(([, i], k) => (pos[i] = k))
      row.splice(0, row.length, ...keyed.map(([, i]) => i))
    }
    const rowW = layers.map((row) =>
      (row ?? []).reduce((a, i) => a + (kids[i]!.width ?? 0), 0) + GAP_X * ((row?.length ?? 1) - 1)
    )
    const inner = Math.max(0, ...rowW)
    let y = pad.top
    layers.forEach((row, r) => {
      if (row === undefined) return
      let x = pad.left + (inner - rowW[r]!) / 2
      const hMax = Math.max(...row.map((i) => kids[i]!.height ?? 0))
      for (const i of row) {
        kids[i]!.x = x
        kids[i]!.y = y
        x += (kids[i]!.width ?? 0) + GAP_X
      }
      y += hMax + GAP_Y
    })
    const height = y - GAP_Y + pad.bottom
    const edges = (node.edges ?? []).flatMap((e) => {
      const s = kids[index.get(e.sources[0]!) ?? -1]
      const t = kids[index.get(e.targets[0]!) ?? -1]
      if (s === undefined || t === undefined) return []
      const start = { x: s.x! + s.width! / 2, y: s.y! + s.height! }
      const end = { x: t.x! + t.width! / 2, y: t.y! }
      const midY = t.y! - GAP_Y / 2
      const bends = start.x === end.x ? [] : [{ x: start.x, y: midY }, { x: end.x, y: midY }]
      return [{ ...e, sections: [{ id: `${e.id}:s`, startPoint: start, endPoint: end, bendPoints: bends }] }]
    })
    return {
      ...node,
      children: kids,
      edges,
      width: Math.max(minW, inner + pad.left + pad.right),
      height: Math.max(minH, height)
    }
  }
  const out = place(graph)
  return { ...out, x: 0, y: 0 }
}

/** A topological order of `preds` (indices; a cycle, which a plan never has, falls back to index order). */
const topo = (preds: ReadonlyArray<ReadonlyArray<number>>): Array<number> => {
  const seen = new Uint8Array(preds.length)
  const out: Array<number> = []
  const visit = (i: number) => {
    const stack: Array<[number, number]> = [[i, 0]]
    seen[i] = 1
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!
      const ps = preds[top[0]]!
      if (top[1] < ps.length) {
        const p = ps[top[1]++]!
        if (seen[p] === 0) {
          seen[p] = 1
          stack.push([p, 0])
        }
      } else {
        stack.pop()
        out.push(top[0])
      }
    }
  }
  for (let i = 0; i < preds.length; i++) if (seen[i] === 0) visit(i)
  return out
}

/** How many boxes an ELK graph has (the size past which the viewer lays out with `quickLayout`). */
export const boxCount = (graph: ElkNode): number => (graph.children ?? []).reduce((a, c) => a + 1 + boxCount(c), 0)

/** Past this many boxes the viewer uses `quickLayout` instead of ELK. */
export const QUICK_LAYOUT_BOXES = 150
