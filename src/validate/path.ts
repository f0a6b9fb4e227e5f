/**
 * Lazy paths into the IR: a linked list of segments that is turned into an
 * array only when a violation needs it, so walking deep programs stays
 * linear in their size.
 */
import type { Path } from "../ir/diagnostic.js"

/** One segment of a path, linked to its parent segment. */
export class PathRef {
  /** The empty path (the document itself). */
  static readonly root: PathRef = new PathRef(undefined, "")

  private constructor(
    /** The enclosing path, or undefined for the root. */
    readonly parent: PathRef | undefined,
    /** The last segment (unused on the root). */
    readonly key: string | number
  ) {}

  /** Extends this path by one or more segments. */
  child(...keys: ReadonlyArray<string | number>): PathRef {
    let out: PathRef = this
    for (const key of keys) out = new PathRef(out, key)
    return out
  }

  /** The segments from the document root to here. */
  toArray(): Path {
    const out: Array<string | number> = []
    for (let p: PathRef | undefined = this; p !== undefined && p.parent !== undefined; p = p.parent) out.push(p.key)
    return out.reverse()
  }
}
