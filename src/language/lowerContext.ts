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
    const text =
      typeof segment === "number" || (!segment.includes("~") && !segment.includes("/"))
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

/** Accumulates the source map and violations of one lowering. */
export class LowerContext {
  private readonly spans = new Map<string, Span>()
  readonly violations: Array<Violation> = []
  /** The next synthetic id number of the program being lowered. */
  synthetic = 0

  /** Records where the IR element at `path` came from (the first record wins). */
  mark(path: IrPath, span: Span): void {
    if (!this.spans.has(path.pointer)) this.spans.set(path.pointer, span)
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
