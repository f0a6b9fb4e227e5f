/**
 * Source maps for JSON text: every value's JSON Pointer → its span. Lets a
 * violation found in a JSON IR document be reported at `file:line:col`, the
 * same way as one found in DSL text. Pure; never throws (malformed JSON
 * yields the spans found before the error).
 */
import type { Position, SourceMap, Span } from "./diagnostic.js"

/** Builds the pointer → span map of a JSON document's values. */
export const jsonSourceMap = (text: string): SourceMap => {
  const map = new Map<string, Span>()
  let i = 0
  let line = 1
  let col = 1

  const pos = (): Position => ({ line, column: col, offset: i })
  const advance = (): void => {
    if (text.charCodeAt(i) === 10) {
      line++
      col = 1
    } else {
      col++
    }
    i++
  }
  const skipWs = (): void => {
    while (i < text.length) {
      const c = text.charCodeAt(i)
      if (c === 32 || c === 9 || c === 10 || c === 13) advance()
      else break
    }
  }
  const readString = (): string | undefined => {
    if (text[i] !== "\"") return undefined
    const start = i
    advance()
    while (i < text.length && text[i] !== "\"") {
      if (text[i] === "\\") advance()
      advance()
    }
    if (i >= text.length) return undefined
    advance()
    try {
      const value: unknown = JSON.parse(text.slice(start, i))
      return typeof value === "string" ? value : undefined
    } catch {
      return undefined
    }
  }
  const escape = (segment: string): string => segment.replace(/~/g, "~0").replace(/\//g, "~1")

  // An explicit stack instead of recursion, so deeply nested input cannot overflow.
  type Frame = { kind: "object" | "array"; pointer: string; index: number; start: Position }
  const stack: Array<Frame> = []

  const openValue = (pointer: string): boolean => {
    skipWs()
    const start = pos()
    const c = text[i]
    if (c === "{" || c === "[") {
      advance()
      stack.push({ kind: c === "{" ? "object" : "array", pointer, index: 0, start })
      return true
    }
    if (c === "\"") {
      if (readString() === undefined) return false
    } else {
      const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400))
      if (m === null) return false
      for (let k = 0; k < m[0].length; k++) advance()
    }
    map.set(pointer, { start, end: pos() })
    return true
  }

  if (!openValue("")) return map
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!
    skipWs()
    const c = text[i]
    if ((top.kind === "object" && c === "}") || (top.kind === "array" && c === "]")) {
      advance()
      stack.pop()
      map.set(top.pointer, { start: top.start, end: pos() })
      continue
    }
    if (top.index > 0) {
      if (c !== ",") return map
      advance()
      skipWs()
    }
    let child: string
    if (top.kind === "object") {
      const key = readString()
      if (key === undefined) return map
      skipWs()
      if (text[i] !== ":") return map
      advance()
      child = `${top.pointer}/${escape(key)}`
    } else {
      child = `${top.pointer}/${top.index}`
    }
    top.index++
    if (!openValue(child)) return map
  }
  return map
}
