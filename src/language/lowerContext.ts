/**
 * State shared by the lowering functions: the source map being built, the
 * violations found, and the synthetic-id counter of the current program.
 */
import type { Path, SourceMap, Span, Violation, ViolationCode } from "../ir/diagnostic.js"

/**
 * A path into the IR built one segment at a time: its JSON pointer (as
 * `pathToPointer` renders it) grows with it, and the segment list is only
 * materialized for a violation — so lowering stays linear in program size.
 */
export class IrPath {
  private constructor(
    private readonly parent: IrPath | undefined,
    private readonly segment: string | number,
    readonly pointer: string
  ) {}

  /** The document root (pointer ""). */
  static readonly root: IrPath = new IrPath(undefined, "", "")

  /** The path one segment deeper. */
  child(segment: string | number): IrPath {
    const text = typeof segment === "number" || (!segment.includes("~") && !segment.includes("/"))
      ? String(segment)
      : segment.replace(/~/g, "~0").replace(/\//g, "~1")
    return new IrPath(this, segment, this.pointer + "/" + text)
  }

  /** The segments from the root. */
  toPath(): Path {
    const out: Array<string | number> = []
    for (let p: IrPath = this; p.parent !== undefined; p = p.parent) out.push(p.segment)
    return out.reverse()
  }
}

/**
 * A source map that records `(path, span)` pairs cheaply and builds its
 * pointer → span table only when first read. Most lowerings are never
 * asked for a span (no violations), so the pointers' strings are never
 * flattened and hashed. The first record of a pointer wins.
 */
class LazySourceMap implements ReadonlyMap<string, Span> {
  private readonly paths: Array<IrPath> = []
  private readonly spans: Array<Span> = []
  private table: Map<string, Span> | undefined

  /** Records a pair (before the table is built). */
  record(path: IrPath, span: Span): void {
    if (this.table !== undefined) {
      if (!this.table.has(path.pointer)) this.table.set(path.pointer, span)
      return
    }
    this.paths.push(path)
    this.spans.push(span)
  }

  private built(): Map<string, Span> {
    if (this.table === undefined) {
      const table = new Map<string, Span>()
      for (let i = 0; i < this.paths.length; i++) {
        const pointer = this.paths[i]!.pointer
        if (!table.has(pointer)) table.set(pointer, this.spans[i]!)
      }
      this.table = table
      this.paths.length = 0
      this.spans.length = 0
    }
    return this.table
  }

  get size(): number {
    return this.built().size
  }
  get(key: string): Span | undefined {
    return this.built().get(key)
  }
  has(key: string): boolean {
    return this.built().has(key)
  }
  forEach(f: (value: Span, key: string, map: ReadonlyMap<string, Span>) => void): void {
    this.built().forEach((value, key) => f(value, key, this))
  }
  entries(): MapIterator<[string, Span]> {
    return this.built().entries()
  }
  keys(): MapIterator<string> {
    return this.built().keys()
  }
  values(): MapIterator<Span> {
    return this.built().values()
  }
  [Symbol.iterator](): MapIterator<[string, Span]> {
    return this.built()[Symbol.iterator]()
  }
}

/** Accumulates the source map and violations of one lowering. */
export class LowerContext {
  private readonly spans = new LazySourceMap()
  readonly violations: Array<Violation> = []
  /** The next synthetic id number of the program being lowered. */
  synthetic = 0

  /** Records where the IR element at `path` came from (the first record wins). */
  mark(path: IrPath, span: Span): void {
    this.spans.record(path, span)
  }

  /** Records a violation found while lowering. */
  report(code: ViolationCode, message: string, path: IrPath, span: Span): void {
    this.violations.push({ code, message, path: path.toPath(), span })
  }

  /** The finished source map. */
  sourceMap(): SourceMap {
    return this.spans
  }
}

/** Sets an own, enumerable property (safe for keys such as `__proto__`). */
export const setOwn = <V>(record: { [key: string]: V }, key: string, value: V): void => {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true })
}

/** True when `record` has `key` as an own property. */
export const hasOwn = (record: object, key: string): boolean => Object.prototype.hasOwnProperty.call(record, key)
