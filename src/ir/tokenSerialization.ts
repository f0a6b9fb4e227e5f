/**
 * The structural token stream of a Program (SPEC §2, `trellis tokens`):
 * one token per IR element, for training and constrained decoding of
 * plan-writing models. The vocabulary and grammar are documented in
 * `src/ir/README.md`; both directions are driven by the field tables of
 * `visit.ts` and use explicit stacks (no recursion).
 */
import { Either, Schema } from "effect"
import { pathToPointer } from "./diagnostic.js"
import type { Path } from "./diagnostic.js"
import { decodeProgram } from "./json.js"
import { BUILTINS, type Program } from "./schema.js"
import { EXPR_FIELDS, NODE_FIELDS, parseShape, STRUCT_FIELDS, TYPE_FIELDS } from "./visit.js"
import type { FieldShape, FieldSpec } from "./visit.js"

/** A token stream that does not decode to a valid Program. */
export class TokenDecodeError extends Schema.TaggedError<TokenDecodeError>()("TokenDecodeError", {
  /** Index of the offending token (the stream's length at its end). */
  index: Schema.Number,
  /** What the decoder expected there. */
  expected: Schema.String,
  /** The token found, or `end of stream`. */
  found: Schema.String
}) {
  /** `Token 12: expected <field:result>, found <close>`. */
  override get message(): string {
    return `Token ${this.index}: expected ${this.expected}, found ${this.found}`
  }
}

// ---------------------------------------------------------------------------
// Token spelling
// ---------------------------------------------------------------------------

const BARE_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/
const JSON_NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/
const PRIMITIVE_TYPES: ReadonlySet<string> = new Set(["string", "number", "boolean", "null", "any"])
const UNARY_OPS: ReadonlySet<string> = new Set(["not", "-"])
const BINARY_OPS: ReadonlySet<string> = new Set([
  "or",
  "and",
  "==",
  "!=",
  "<",
  "<=",
  ">",
  ">=",
  "+",
  "-",
  "*",
  "/",
  "%"
])
const BUILTIN_SET: ReadonlySet<string> = new Set(BUILTINS)

/** The JSON value a `json` leaf's string holds, or `NONE` when it is not JSON. */
const parseJsonLeaf = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return NONE
  }
}

/** A name as written in `<ref:…>` and `<key:…>`: bare when identifier-like, else a JSON string. */
const spellName = (name: string): string => (BARE_NAME.test(name) ? name : JSON.stringify(name))

/** A number as written in `<num:…>`: JSON spelling, plus `-0`, `Infinity`, `-Infinity`, `NaN`. */
const spellNumber = (n: number): string => (Object.is(n, -0) ? "-0" : String(n))

const scalarToken = (v: unknown): string => {
  if (v === null) return "<null>"
  if (typeof v === "boolean") return `<bool:${v}>`
  if (typeof v === "number") return `<num:${spellNumber(v)}>`
  return `<str:${JSON.stringify(v)}>`
}

/** The `<open:…>` name of each element shape that is written as a struct. */
const OPEN_NAME: { readonly [K in keyof typeof STRUCT_FIELDS]: string } = {
  document: "document",
  programDef: "program",
  param: "param",
  signature: "signature",
  sigField: "sigfield",
  body: "body",
  policy: "policy",
  retry: "retry",
  budget: "budget",
  cache: "cache"
}

/** Dict-like shapes: their value shape, and for ordered pair lists the key and value field names. */
const DICTS: {
  readonly [K in "args" | "programs" | "signatures" | "labels" | "entries" | "options" | "typeFields"]: {
    readonly value: FieldShape
    readonly pair?: readonly [key: string, value: string]
  }
} = {
  args: { value: "expr" },
  programs: { value: "programDef" },
  signatures: { value: "signature" },
  labels: { value: "string" },
  entries: { value: "expr", pair: ["key", "value"] },
  options: { value: "body", pair: ["label", "body"] },
  typeFields: { value: "type", pair: ["name", "type"] }
}
type DictName = keyof typeof DICTS

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

type Work = string | { readonly value: unknown; readonly shape: FieldShape }

type Obj = { readonly [k: string]: unknown }

/** The work items of an element's fields (absent optional and null fields are left out). */
const fieldWork = (specs: ReadonlyArray<FieldSpec>, obj: Obj): Array<Work> => {
  const out: Array<Work> = []
  for (const [name, spec] of specs) {
    const { base, optional, nullable } = parseShape(spec)
    const v = obj[name]
    if ((optional && v === undefined) || (nullable && v === null)) continue
    out.push(`<field:${name}>`, { value: v, shape: base })
  }
  return out
}

/** Expands one value of a shape into tokens and further work. */
const expand = (value: unknown, shape: FieldShape): ReadonlyArray<Work> => {
  const obj = value as Obj
  switch (shape) {
    case "string":
    case "number":
    case "scalar":
      return [scalarToken(value)]
    case "json":
      return [scalarToken(JSON.stringify(value))]
    case "name":
      return [`<ref:${spellName(value as string)}>`]
    case "op":
      return [`<op:${value as string}>`]
    case "fn":
      return [`<fn:${value as string}>`]
    case "expr": {
      const kind = obj["kind"] as keyof typeof EXPR_FIELDS
      if (kind === "lit") return [scalarToken(obj["value"])]
      if (kind === "ref") return [`<ref:${spellName(obj["name"] as string)}>`]
      return [`<open:${kind}>`, ...fieldWork(EXPR_FIELDS[kind], obj), "<close>"]
    }
    case "type": {
      const kind = obj["kind"] as string
      if (kind === "list" || kind === "record") {
        return [`<open:${kind}>`, ...fieldWork(TYPE_FIELDS[kind], obj), "<close>"]
      }
      return [`<type:${kind}>`]
    }
    case "node": {
      const kind = obj["kind"] as keyof typeof NODE_FIELDS
      return [`<open:${kind}>`, ...fieldWork(NODE_FIELDS[kind], obj), "<close>"]
    }
    case "cache":
      if (value === false) return ["<bool:false>"]
      return ["<open:cache>", ...fieldWork(STRUCT_FIELDS.cache, obj), "<close>"]
    case "document":
    case "programDef":
    case "param":
    case "signature":
    case "sigField":
    case "body":
    case "policy":
    case "retry":
    case "budget":
      return [`<open:${OPEN_NAME[shape]}>`, ...fieldWork(STRUCT_FIELDS[shape], obj), "<close>"]
    case "string[]":
    case "expr[]":
    case "node[]":
    case "param[]":
    case "sigField[]": {
      const element = shape.slice(0, -2) as FieldShape
      return [
        "<open:array>",
        ...(value as ReadonlyArray<unknown>).map((v) => ({ value: v, shape: element })),
        "<close>"
      ]
    }
    case "args":
    case "programs":
    case "signatures":
    case "labels":
    case "entries":
    case "options":
    case "typeFields": {
      const { value: valueShape, pair } = DICTS[shape]
      const pairs: ReadonlyArray<readonly [string, unknown]> = pair === undefined
        ? Object.entries(obj)
        : (value as ReadonlyArray<Obj>).map((p) => [p[pair[0]] as string, p[pair[1]]] as const)
      const out: Array<Work> = ["<open:dict>"]
      for (const [k, v] of pairs) out.push(`<key:${spellName(k)}>`, { value: v, shape: valueShape })
      out.push("<close>")
      return out
    }
  }
}

/** The token stream of a Program (one token per element; see `src/ir/README.md`). */
export const toTokens = (program: Program): ReadonlyArray<string> => {
  const out: Array<string> = []
  const stack: Array<Work> = [{ value: program, shape: "document" }]
  while (stack.length > 0) {
    const work = stack.pop()!
    if (typeof work === "string") {
      out.push(work)
      continue
    }
    const items = expand(work.value, work.shape)
    for (let i = items.length - 1; i >= 0; i--) stack.push(items[i]!)
  }
  return out
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

/** A token split into its tag and payload (`<tag:payload>`, or `<tag>`). */
interface Lexed {
  readonly tag: string
  readonly payload: string | undefined
}

const lex = (token: string | undefined): Lexed | undefined => {
  if (token === undefined || token.length < 3 || !token.startsWith("<") || !token.endsWith(">")) return undefined
  const inner = token.slice(1, -1)
  const colon = inner.indexOf(":")
  return colon < 0
    ? { tag: inner, payload: undefined }
    : { tag: inner.slice(0, colon), payload: inner.slice(colon + 1) }
}

/** Reads a JSON string literal, or undefined. */
const jsonString = (text: string): string | undefined => {
  if (!text.startsWith("\"")) return undefined
  try {
    const v: unknown = JSON.parse(text)
    return typeof v === "string" ? v : undefined
  } catch {
    return undefined
  }
}

const readName = (payload: string | undefined): string | undefined =>
  payload === undefined ? undefined : BARE_NAME.test(payload) ? payload : jsonString(payload)

const readNumber = (payload: string | undefined): number | undefined => {
  if (payload === undefined) return undefined
  if (payload === "Infinity" || payload === "-Infinity" || payload === "NaN") return Number(payload)
  return JSON_NUMBER.test(payload) ? Number(payload) : undefined
}

/** Reads a scalar token (`<str:…>`, `<num:…>`, `<bool:…>`, `<null>`); `none` when it is not one. */
const NONE: unique symbol = Symbol("none")
const readScalar = (t: Lexed | undefined): unknown => {
  if (t === undefined) return NONE
  switch (t.tag) {
    case "null":
      return t.payload === undefined ? null : NONE
    case "bool":
      return t.payload === "true" ? true : t.payload === "false" ? false : NONE
    case "num":
      return readNumber(t.payload) ?? NONE
    case "str":
      return t.payload === undefined ? NONE : (jsonString(t.payload) ?? NONE)
    default:
      return NONE
  }
}

/** A partly decoded element waiting for its next token. */
type Frame =
  | {
    readonly type: "struct"
    readonly specs: ReadonlyArray<FieldSpec>
    readonly obj: { [k: string]: unknown }
    readonly path: Path
    /** Index of the next field spec to look at. */
    next: number
    /** The field whose value is being decoded by a child frame. */
    pending: string | undefined
  }
  | { readonly type: "array"; readonly element: FieldShape; readonly items: Array<unknown>; readonly path: Path }
  | {
    readonly type: "dict"
    readonly shape: DictName
    readonly pairs: Array<readonly [string, unknown]>
    readonly path: Path
    pending: string | undefined
  }

/** What a decoding step returns: nothing when it went well, else the error. */
type Step = TokenDecodeError | undefined

/** Decodes a token stream; `decodeProgram` then checks what the grammar cannot (enums, the IR version). */
class Decoder {
  private i = 0
  private readonly stack: Array<Frame> = []
  /** JSON Pointer of each decoded value → index of its first token. */
  readonly starts = new Map<string, number>()
  private result: unknown = undefined

  constructor(private readonly tokens: ReadonlyArray<string>) {}

  private fail(expected: string): TokenDecodeError {
    const found = this.tokens[this.i]
    return new TokenDecodeError({ index: this.i, expected, found: found ?? "end of stream" })
  }

  private peek(): Lexed | undefined {
    return lex(this.tokens[this.i])
  }

  private expectClose(): Step {
    if (this.peek()?.tag !== "close" || this.peek()?.payload !== undefined) return this.fail("<close>")
    this.i++
    return undefined
  }

  /** Hands a finished value to the frame on top of the stack (or makes it the result). */
  private deliver(value: unknown): void {
    const top = this.stack[this.stack.length - 1]
    if (top === undefined) {
      this.result = value
      return
    }
    switch (top.type) {
      case "struct":
        top.obj[top.pending!] = value
        top.pending = undefined
        top.next++
        return
      case "array":
        top.items.push(value)
        return
      case "dict":
        top.pairs.push([top.pending!, value])
        top.pending = undefined
        return
    }
  }

  private openStruct(specs: ReadonlyArray<FieldSpec>, obj: { [k: string]: unknown }, path: Path): Step {
    this.stack.push({ type: "struct", specs, obj, path, next: 0, pending: undefined })
    return undefined
  }

  /** Starts decoding a value of `shape` at the current token: leaves are delivered at once, elements push a frame. */
  private begin(shape: FieldShape, path: Path): Step {
    this.starts.set(pathToPointer(path), this.i)
    const t = this.peek()
    const leaf = (ok: boolean, value: unknown, expected: string): Step => {
      if (!ok) return this.fail(expected)
      this.i++
      this.deliver(value)
      return undefined
    }
    const open = (name: string): boolean => t?.tag === "open" && t.payload === name
    switch (shape) {
      case "string": {
        const v = readScalar(t)
        return leaf(typeof v === "string", v, "<str:…>")
      }
      case "number": {
        const v = readScalar(t)
        return leaf(typeof v === "number", v, "<num:…>")
      }
      case "scalar": {
        const v = readScalar(t)
        return leaf(v !== NONE, v, "a literal token")
      }
      case "json": {
        const v = readScalar(t)
        const parsed = typeof v === "string" ? parseJsonLeaf(v) : NONE
        return leaf(parsed !== NONE, parsed, "<str:…> holding JSON")
      }
      case "name":
      case "op":
      case "fn":
        return this.fail(`a ${shape} in its element`)
      case "expr": {
        const v = readScalar(t)
        if (v !== NONE) {
          if (typeof v === "number" && !Number.isFinite(v)) return this.fail("a finite number")
          return leaf(true, { kind: "lit", value: v }, "")
        }
        if (t?.tag === "ref") {
          const name = readName(t.payload)
          return leaf(name !== undefined, { kind: "ref", name }, "<ref:NAME>")
        }
        const kind = t?.tag === "open" ? t.payload : undefined
        if (
          kind === undefined || kind === "lit" || kind === "ref" ||
          !Object.prototype.hasOwnProperty.call(EXPR_FIELDS, kind)
        ) {
          return this.fail("an expression")
        }
        this.i++
        return this.openStruct(EXPR_FIELDS[kind as keyof typeof EXPR_FIELDS], { kind }, path)
      }
      case "type": {
        if (t?.tag === "type") {
          return leaf(PRIMITIVE_TYPES.has(t.payload ?? ""), { kind: t.payload }, "a primitive type")
        }
        if (open("list") || open("record")) {
          this.i++
          const kind = t!.payload as "list" | "record"
          return this.openStruct(TYPE_FIELDS[kind], { kind }, path)
        }
        return this.fail("a type")
      }
      case "node": {
        const kind = t?.tag === "open" ? t.payload : undefined
        if (kind === undefined || !Object.prototype.hasOwnProperty.call(NODE_FIELDS, kind)) return this.fail("a node")
        this.i++
        return this.openStruct(NODE_FIELDS[kind as keyof typeof NODE_FIELDS], { kind }, path)
      }
      case "cache":
        if (t?.tag === "bool" && t.payload === "false") return leaf(true, false, "")
        if (!open("cache")) return this.fail("<bool:false> or <open:cache>")
        this.i++
        return this.openStruct(STRUCT_FIELDS.cache, {}, path)
      case "document":
      case "programDef":
      case "param":
      case "signature":
      case "sigField":
      case "body":
      case "policy":
      case "retry":
      case "budget":
        if (!open(OPEN_NAME[shape])) return this.fail(`<open:${OPEN_NAME[shape]}>`)
        this.i++
        return this.openStruct(STRUCT_FIELDS[shape], {}, path)
      case "string[]":
      case "expr[]":
      case "node[]":
      case "param[]":
      case "sigField[]":
        if (!open("array")) return this.fail("<open:array>")
        this.i++
        this.stack.push({ type: "array", element: shape.slice(0, -2) as FieldShape, items: [], path })
        return undefined
      case "args":
      case "programs":
      case "signatures":
      case "labels":
      case "entries":
      case "options":
      case "typeFields":
        if (!open("dict")) return this.fail("<open:dict>")
        this.i++
        this.stack.push({ type: "dict", shape, pairs: [], path, pending: undefined })
        return undefined
    }
  }

  /** Leaf fields of kinded elements that are spelled with their own token (`<op:…>`, `<fn:…>`, `<ref:…>`). */
  private beginSpecial(shape: "name" | "op" | "fn", kind: unknown, path: Path): Step {
    this.starts.set(pathToPointer(path), this.i)
    const t = this.peek()
    if (shape === "name") {
      const name = t?.tag === "ref" ? readName(t.payload) : undefined
      if (name === undefined) return this.fail("<ref:NAME>")
      this.i++
      this.deliver(name)
      return undefined
    }
    const set = shape === "fn" ? BUILTIN_SET : kind === "unary" ? UNARY_OPS : BINARY_OPS
    if (t?.tag !== shape || !set.has(t.payload ?? "")) return this.fail(`<${shape}:…> (${[...set].join(" ")})`)
    this.i++
    this.deliver(t.payload)
    return undefined
  }

  /** Advances the frame on top of the stack by one step. */
  private step(frame: Frame): Step {
    switch (frame.type) {
      case "struct": {
        while (frame.next < frame.specs.length) {
          const [name, spec] = frame.specs[frame.next]!
          const { base, optional, nullable } = parseShape(spec)
          const t = this.peek()
          if (t?.tag === "field" && t.payload === name) {
            this.i++
            frame.pending = name
            const path = [...frame.path, name]
            if (base === "name" || base === "op" || base === "fn") {
              return this.beginSpecial(base, frame.obj["kind"], path)
            }
            return this.begin(base, path)
          }
          if (!optional && !nullable) return this.fail(`<field:${name}>`)
          if (nullable) frame.obj[name] = null
          frame.next++
        }
        const closed = this.expectClose()
        if (closed !== undefined) return closed
        this.stack.pop()
        const obj = frame.obj
        // Nodes keep the Schema's field order: id first, then kind.
        this.deliver("id" in obj && "kind" in obj ? { id: obj["id"], ...obj } : obj)
        return undefined
      }
      case "array": {
        const t = this.peek()
        if (t?.tag === "close" && t.payload === undefined) {
          this.i++
          this.stack.pop()
          this.deliver(frame.items)
          return undefined
        }
        return this.begin(frame.element, [...frame.path, frame.items.length])
      }
      case "dict": {
        const t = this.peek()
        if (t?.tag === "close" && t.payload === undefined) {
          this.i++
          this.stack.pop()
          const { pair } = DICTS[frame.shape]
          this.deliver(
            pair === undefined
              ? Object.fromEntries(frame.pairs)
              : frame.pairs.map(([k, v]) => ({ [pair[0]]: k, [pair[1]]: v }))
          )
          return undefined
        }
        const key = t?.tag === "key" ? readName(t.payload) : undefined
        if (key === undefined) return this.fail("<key:NAME> or <close>")
        const { pair, value } = DICTS[frame.shape]
        if (pair === undefined && frame.pairs.some(([k]) => k === key)) {
          return this.fail(`a key other than ${spellName(key)}`)
        }
        this.i++
        frame.pending = key
        const path = pair === undefined ? [...frame.path, key] : [...frame.path, frame.pairs.length, pair[1]]
        return this.begin(value, path)
      }
    }
  }

  /** Decodes the whole stream as a document. */
  run(): Either.Either<unknown, TokenDecodeError> {
    let error = this.begin("document", [])
    while (error === undefined && this.stack.length > 0) error = this.step(this.stack[this.stack.length - 1]!)
    if (error === undefined && this.i < this.tokens.length) error = this.fail("end of stream")
    return error === undefined ? Either.right(this.result) : Either.left(error)
  }
}

/** Decodes a token stream into a Program; errors name the token index and what was expected there. */
export const fromTokens = (tokens: ReadonlyArray<string>): Either.Either<Program, TokenDecodeError> => {
  const decoder = new Decoder(tokens)
  const decoded = decoder.run()
  if (Either.isLeft(decoded)) return Either.left(decoded.left)
  return Either.mapLeft(decodeProgram(decoded.right), (error) => {
    // Point at the token where the offending value starts (or its nearest enclosing value).
    const issue = error.issues[0]
    let index = tokens.length
    if (issue !== undefined) {
      for (let n = issue.path.length; n >= 0; n--) {
        const start = decoder.starts.get(pathToPointer(issue.path.slice(0, n)))
        if (start !== undefined) {
          index = start
          break
        }
      }
    }
    return new TokenDecodeError({
      index,
      expected: issue === undefined ? "a valid program" : issue.message,
      found: tokens[index] ?? "end of stream"
    })
  })
}

/** Writes a token stream as text: one token per line, with a final newline. */
export const tokensToText = (
  tokens: ReadonlyArray<string>
): string => (tokens.length === 0 ? "" : tokens.join("\n") + "\n")

/** Reads the text form back: one token per line; surrounding whitespace and blank lines are ignored. */
export const textToTokens = (text: string): ReadonlyArray<string> =>
  text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
