/**
 * Layout of a page from geometry: header and footer (text in the top or
 * bottom 10% of the page that repeats — digits ignored — on at least two
 * pages and half of them), figures (images covering at least 0.5% of the
 * page, with the text drawn over them), tables (`tables.ts`), and the rest
 * in reading order (`order.ts`) grouped into blocks: a new block starts at a
 * vertical gap wider than 0.7 font sizes, a change of font size or weight,
 * a move to another column, or a list marker. A block is a `title` when its
 * font is at least 1.25 times the body size (or it is one or two short bold
 * lines), a `list` when it starts with a marker (`•`, `-`, `1.`, `a)`), else
 * a `paragraph`. Pure.
 */
import type { Box } from "./geometry.js"
import { area, overlap1, round, union } from "./geometry.js"
import type { Item, Segment } from "./lines.js"
import { segmentsOf } from "./lines.js"
import type { Block, BlockKind, Span, Table } from "./model.js"
import { readingOrder } from "./order.js"
import { findTables } from "./tables.js"

/** A page's drawn content (what `pdfjs.ts` reads). */
export interface PageContent {
  readonly page: number
  readonly width: number
  readonly height: number
  readonly spans: ReadonlyArray<Item>
  readonly images: ReadonlyArray<Box>
  readonly rules: ReadonlyArray<Box>
}

/** A page after layout. */
export interface PageLayout {
  readonly spans: ReadonlyArray<Span>
  readonly blocks: ReadonlyArray<Block>
  readonly tables: ReadonlyArray<Table>
  readonly columns: number
}

/** The fraction of the page height where headers and footers are looked for. @default 0.1 */
const MARGIN = 0.1

const marginKey = (page: PageContent, s: Segment): string | undefined => {
  const where = s.box[3] <= MARGIN * page.height ? "top" : s.box[1] >= (1 - MARGIN) * page.height ? "bottom" : undefined
  return where === undefined ? undefined : `${where}:${s.text.replace(/\d+/g, "#").toLowerCase()}`
}

/** The margin texts that repeat across pages (keys `top:…` / `bottom:…`, digits as `#`). */
export const repeatedMargins = (pages: ReadonlyArray<PageContent>): ReadonlySet<string> => {
  const counts = new Map<string, number>()
  for (const page of pages) {
    const keys = new Set<string>()
    for (const s of segmentsOf(page.spans)) {
      const key = marginKey(page, s)
      if (key !== undefined) keys.add(key)
    }
    for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1)
  }
  const need = Math.max(2, Math.ceil(pages.length / 2))
  return new Set([...counts].filter(([, n]) => n >= need).map(([k]) => k))
}

/** The body font size of a set of pages: the size most characters are set in. */
export const bodySize = (pages: ReadonlyArray<PageContent>): number => {
  const chars = new Map<number, number>()
  for (const p of pages) {
    for (const s of p.spans) {
      chars.set(Math.round(s.size * 2) / 2, (chars.get(Math.round(s.size * 2) / 2) ?? 0) + s.text.length)
    }
  }
  let best = 10, most = -1
  for (const [size, n] of chars) if (n > most) [best, most] = [size, n]
  return best
}

const LIST_MARKER = /^(?:[•◦▪‣●○■□–—*-]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)])\s/
const isBold = (font: string) => /bold|black|heavy|semibold|demi/i.test(font)

type Unit =
  | { readonly _tag: "segment"; readonly box: Box; readonly segment: Segment }
  | { readonly _tag: "table"; readonly box: Box; readonly table: Table; readonly segments: ReadonlyArray<Segment> }
  | { readonly _tag: "figure"; readonly box: Box; readonly segments: ReadonlyArray<Segment> }

/** Lays out one page. */
export const layoutPage = (page: PageContent, repeated: ReadonlySet<string>, body: number): PageLayout => {
  const segments = segmentsOf(page.spans)
  const headers: Array<Segment> = []
  const footers: Array<Segment> = []
  const rest: Array<Segment> = []
  for (const s of segments) {
    const key = marginKey(page, s)
    if (key !== undefined && repeated.has(key)) (key.startsWith("top:") ? headers : footers).push(s)
    else rest.push(s)
  }
  const figures = page.images
    .filter((b) => area(b) >= 0.005 * page.width * page.height)
    .map((box) => ({ box, segments: [] as Array<Segment> }))
  const free: Array<Segment> = []
  for (const s of rest) {
    const cx = (s.box[0] + s.box[2]) / 2
    const cy = (s.box[1] + s.box[3]) / 2
    const fig = figures.find((f) => cx >= f.box[0] && cx <= f.box[2] && cy >= f.box[1] && cy <= f.box[3])
    if (fig === undefined) free.push(s)
    else fig.segments.push(s)
  }
  const found = findTables(free, page.rules, page.page)
  const inTable = new Set(found.flatMap((t) => t.segments))
  const units: Array<Unit> = [
    ...free.filter((s) => !inTable.has(s)).map((segment) => ({ _tag: "segment", box: segment.box, segment }) as const),
    ...found.map((t) => ({ _tag: "table", box: t.table.box, table: t.table, segments: t.segments }) as const),
    ...figures.map((f) => ({ _tag: "figure", box: f.box, segments: f.segments }) as const)
  ]
  const ordered = readingOrder(units)

  const order: Array<number> = []
  const blocks: Array<{ kind: BlockKind; segments: Array<Segment>; box?: Box; text?: string }> = []
  const place = (s: Segment) => {
    for (const i of s.items) order.push(i)
  }
  const sortByLine = (ss: ReadonlyArray<Segment>) => [...ss].sort((a, b) => a.box[1] - b.box[1] || a.box[0] - b.box[0])

  for (const s of sortByLine(headers)) {
    place(s)
    blocks.push({ kind: "header", segments: [s] })
  }
  let current: { kind: BlockKind; segments: Array<Segment> } | undefined
  for (const u of ordered.units) {
    if (u._tag !== "segment") {
      current = undefined
      const inner = u._tag === "table"
        ? [...u.segments].sort((a, b) => a.box[1] - b.box[1] || a.box[0] - b.box[0])
        : sortByLine(u.segments)
      inner.forEach(place)
      blocks.push({
        kind: u._tag,
        segments: inner,
        box: u.box,
        ...(u._tag === "table" ? { text: u.table.grid.map((r) => r.join(" | ")).join("\n") } : {})
      })
      continue
    }
    const s = u.segment
    place(s)
    const marker = LIST_MARKER.test(s.text)
    const prev = current?.segments[current.segments.length - 1]
    const continues = current !== undefined && prev !== undefined &&
      s.box[1] - prev.box[3] <= 0.7 * s.size &&
      s.box[1] - prev.box[1] > 0 &&
      Math.abs(s.size - prev.size) <= 0.15 * s.size &&
      isBold(s.font) === isBold(prev.font) &&
      overlap1(prev.box[0], prev.box[2], s.box[0], s.box[2]) > 0 &&
      (!marker || current.kind === "list")
    if (continues) current!.segments.push(s)
    else {
      const big = s.size >= 1.25 * body
      current = { kind: marker ? "list" : big ? "title" : "paragraph", segments: [s] }
      blocks.push(current)
    }
  }
  for (const s of sortByLine(footers)) {
    place(s)
    blocks.push({ kind: "footer", segments: [s] })
  }
  // Short bold blocks of body size read as titles (section headings).
  for (const b of blocks) {
    if (
      b.kind === "paragraph" && b.segments.length <= 2 && b.segments.every((s) => isBold(s.font)) &&
      b.segments.reduce((n, s) => n + s.text.length, 0) <= 100
    ) b.kind = "title"
  }

  const rank = new Map(order.map((item, k) => [item, k]))
  const spans: Array<Span> = page.spans.map((it, i) => ({
    id: `p${page.page}:s${i}`,
    text: it.text,
    box: round(it.box),
    font: it.font,
    size: Math.round(it.size * 100) / 100,
    order: rank.get(i) ?? -1
  }))
  spans.sort((a, b) => a.order - b.order)
  return {
    spans,
    blocks: blocks.map((b, i) => ({
      id: `p${page.page}:b${i}`,
      kind: b.kind,
      box: round(b.box ?? union(b.segments.map((s) => s.box))!),
      text: b.text ?? b.segments.map((s) => s.text).join(b.kind === "list" ? "\n" : " "),
      spans: b.segments.flatMap((s) => s.items.map((i) => `p${page.page}:s${i}`))
    })),
    tables: found.map((t) => t.table),
    columns: ordered.columns
  }
}
