/**
 * From drawn text items to segments: items on one baseline form a line, and
 * a line splits into segments where the gap between items is wider than the
 * font size (a column gutter or a table's cell gap). Pure.
 */
import type { Box } from "./geometry.js"
import { overlap1, union } from "./geometry.js"

/** A text item with a box, font and size (what `pdfjs.ts` reads). */
export interface Item {
  readonly text: string
  readonly box: Box
  readonly font: string
  readonly size: number
}

/** Items side by side on one line, without a wide gap between them. */
export interface Segment {
  /** Indices into the page's items, left to right. */
  readonly items: ReadonlyArray<number>
  readonly box: Box
  readonly text: string
  /** The size of the segment's largest item. */
  readonly size: number
  /** The font of its first item. */
  readonly font: string
}

/** A gap wider than this many font sizes splits a line into segments. @default 0.9 */
const SEGMENT_GAP = 0.9

/** Joins the texts of items left to right, with a space where there is a visible gap. */
const joinItems = (items: ReadonlyArray<Item>, order: ReadonlyArray<number>): string => {
  let text = ""
  let prev: Item | undefined
  for (const i of order) {
    const item = items[i]!
    if (prev !== undefined) {
      const gap = item.box[0] - prev.box[2]
      if (gap > 0.15 * Math.min(item.size, prev.size) && !text.endsWith(" ") && !item.text.startsWith(" ")) text += " "
    }
    text += item.text
    prev = item
  }
  return text.replace(/\s+/g, " ").trim()
}

/** Groups items into lines (shared vertical band) and splits lines into segments at wide gaps. */
export const segmentsOf = (items: ReadonlyArray<Item>): ReadonlyArray<Segment> => {
  const byTop = items.map((_, i) => i).sort((a, b) =>
    items[a]!.box[1] - items[b]!.box[1] || items[a]!.box[0] - items[b]!.box[0]
  )
  const lines: Array<{ box: [number, number, number, number]; members: Array<number> }> = []
  for (const i of byTop) {
    const b = items[i]!.box
    const h = b[3] - b[1]
    const line = lines.find((l) => {
      const lh = l.box[3] - l.box[1]
      return overlap1(l.box[1], l.box[3], b[1], b[3]) >= 0.5 * Math.min(lh, h)
    })
    if (line === undefined) lines.push({ box: [b[0], b[1], b[2], b[3]], members: [i] })
    else {
      line.members.push(i)
      line.box = [
        Math.min(line.box[0], b[0]),
        Math.min(line.box[1], b[1]),
        Math.max(line.box[2], b[2]),
        Math.max(line.box[3], b[3])
      ]
    }
  }
  const segments: Array<Segment> = []
  for (const line of lines) {
    const members = [...line.members].sort((a, b) => items[a]!.box[0] - items[b]!.box[0])
    let current: Array<number> = []
    const flush = () => {
      if (current.length === 0) return
      const its = current.map((i) => items[i]!)
      segments.push({
        items: current,
        box: union(its.map((it) => it.box))!,
        text: joinItems(items, current),
        size: Math.max(...its.map((it) => it.size)),
        font: its[0]!.font
      })
      current = []
    }
    for (const i of members) {
      const last = current[current.length - 1]
      if (last !== undefined) {
        const gap = items[i]!.box[0] - items[last]!.box[2]
        if (gap > SEGMENT_GAP * Math.max(items[i]!.size, items[last]!.size)) flush()
      }
      current.push(i)
    }
    flush()
  }
  return segments.sort((a, b) => a.box[1] - b.box[1] || a.box[0] - b.box[0])
}

/** Segments grouped into rows: segments whose vertical extents overlap by half the smaller height. */
export const rowsOf = (segments: ReadonlyArray<Segment>): ReadonlyArray<ReadonlyArray<Segment>> => {
  const rows: Array<{ top: number; bottom: number; members: Array<Segment> }> = []
  for (const s of [...segments].sort((a, b) => a.box[1] - b.box[1])) {
    const h = s.box[3] - s.box[1]
    const row = rows.find((r) => overlap1(r.top, r.bottom, s.box[1], s.box[3]) >= 0.5 * Math.min(r.bottom - r.top, h))
    if (row === undefined) rows.push({ top: s.box[1], bottom: s.box[3], members: [s] })
    else {
      row.members.push(s)
      row.top = Math.min(row.top, s.box[1])
      row.bottom = Math.max(row.bottom, s.box[3])
    }
  }
  return rows.sort((a, b) => a.top - b.top).map((r) => r.members.sort((a, b) => a.box[0] - b.box[0]))
}
