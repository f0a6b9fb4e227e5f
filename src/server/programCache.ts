/**
 * The programs the server has checked, by the hash of the request's program
 * text: a client submitting the same program again (the usual case: one
 * program, many inputs) skips parsing, validation, normalization and
 * planning. Only programs that passed are kept (a bad one is checked again,
 * so its diagnostics are always fresh); at most `capacity`, the least
 * recently used leaving first. The tools a program is checked against are
 * the server's, fixed for its life, so the text alone decides the result.
 */
import { createHash } from "node:crypto"
import type { Program } from "../ir/schema.js"

/** A program that passed the checks, ready to run. */
export interface CheckedProgram {
  /** The program that runs (the normal form). */
  readonly program: Program
  readonly hash: string
  /** The entry program's name. */
  readonly name: string
}

/** A bounded least-recently-used map from program text to its checked form. */
export class ProgramCache {
  private readonly entries = new Map<string, CheckedProgram>()
  hits = 0
  misses = 0

  constructor(private readonly capacity = 256) {}

  /** The key of a request's program: `dsl:` or `json:` plus the SHA-256 of its text. */
  static keyOf(format: "dsl" | "json", text: string): string {
    return `${format}:${createHash("sha256").update(text).digest("base64url")}`
  }

  get(key: string): CheckedProgram | undefined {
    const found = this.entries.get(key)
    if (found === undefined) {
      this.misses++
      return undefined
    }
    this.hits++
    // Most recently used last.
    this.entries.delete(key)
    this.entries.set(key, found)
    return found
  }

  set(key: string, value: CheckedProgram): void {
    this.entries.delete(key)
    this.entries.set(key, value)
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!)
  }

  get size(): number {
    return this.entries.size
  }
}
