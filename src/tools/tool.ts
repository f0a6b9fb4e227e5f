/**
 * A tool: a named, Schema-typed effectful function a program may call
 * (SPEC §3). `make` builds one; `decodeArgs` and `encodeOutput` are the
 * boundary between the JSON a program holds and the handler's typed values.
 */
import { Effect, Either, ParseResult, Schema } from "effect"
import type { SchemaAST } from "effect"
import { parseDuration } from "../ir/duration.js"
import type { Json } from "../ir/eval.js"
import { toolSpecFromSchemas } from "../validate/context.js"
import type { ToolSpec } from "../validate/context.js"
import type { BreakerConfig } from "./breaker.js"
import { breakerProblems } from "./breaker.js"
import { Defect, isToolError, Permanent } from "./errors.js"
import type { ToolError } from "./errors.js"
import { plainGuard } from "./plainGuard.js"

/** What a handler is told about the call it serves. */
export interface ToolContext {
  /** Stable across retries and restarts for the same call (run id, node path, args). */
  readonly idempotencyKey: string
  /** The attempt number, 1-based. */
  readonly attempt: number
  /** Aborted when the call is interrupted; pass it to fetch and the like. */
  readonly signal: AbortSignal
  /** Streams a chunk of partial output (recorded as a `Chunk` event). */
  readonly emit: (chunk: string) => Effect.Effect<void>
  /** `emit` for plain functions (`run` handlers): records the chunk now. */
  readonly emitNow: (chunk: string) => void
}

/** Per-tool limits applied by the runtime. */
export interface ToolLimits {
  /** Token bucket: `perSecond` refill rate, `burst` capacity. @default unlimited */
  readonly rate?: { readonly perSecond: number; readonly burst: number }
  /** Most calls in flight at once. @default unlimited */
  readonly concurrency?: number
  /** Default timeout of one attempt, a duration string (`"5s"`). @default none */
  readonly timeout?: string
  /** A circuit breaker on the tool's calls (`{}` for the defaults; see docs/tools.md). @default none */
  readonly breaker?: BreakerConfig
}

/** Async batching: concurrent calls are grouped up to `size` or for `window` (a duration string). */
export interface BatchConfig {
  readonly size: number
  readonly window: string
}

/**
 * The part of a Schema a tool exposes in its type: the decoded type and the
 * AST. The value stored is the full Schema given to `make`; the encoded side
 * is untracked (it is the JSON a program holds). Covariant in `A`, which is
 * what lets every tool be an `AnyTool`.
 */
export interface ToolSchema<out A> {
  readonly Type: A
  readonly ast: SchemaAST.AST
}

/** A tool with decoded input `I`, output `O`, and handler requirements `R`. */
export interface Tool<I, O, R = never> {
  /** Unique name; dotted names are allowed (`"audit.log"`). */
  readonly name: string
  readonly description: string
  /** Schema of the arguments (a struct); decode with `decodeArgs`. */
  readonly input: ToolSchema<I>
  /** Schema of the output; encode with `encodeOutput`. */
  readonly output: ToolSchema<O>
  /** Calling twice with the same args is safe. */
  readonly idempotent: boolean
  /** Failures may be transient, so retry policies apply. */
  readonly retryable: boolean
  readonly limits: ToolLimits
  /** Part of result-cache keys. */
  readonly version: string
  /** When set, concurrent calls are grouped and served by `batchHandler`. */
  readonly batch?: BatchConfig
  /** Serves one call; call it only with what `decodeArgs` returned for this tool. */
  handler(args: I, ctx: ToolContext): Effect.Effect<O, ToolError, R>
  /**
   * The plain function a tool made with `run` was given (`handler` wraps it):
   * the runtime calls it directly, without a fiber. Undefined for `handler` tools.
   */
  run?(args: I, ctx: ToolContext): O | PromiseLike<O>
  /** Serves a whole batch, outputs in the same order; present whenever `batch` is. */
  batchHandler?(args: ReadonlyArray<I>, ctx: ToolContext): Effect.Effect<ReadonlyArray<O>, ToolError, R>
  /** What the validator knows about the tool. */
  readonly spec: ToolSpec
}

/**
 * Any tool without outstanding requirements, as held by a registry. Its
 * handler accepts `unknown`: pass only the result of `decodeArgs` for the
 * same tool.
 */
export type AnyTool = Tool<unknown, unknown, never>

/** Any tool, whatever its requirements. */
export type UnknownTool = Tool<unknown, unknown, unknown>

/** The requirements of the handlers of a tool type (or a union of tool types). */
export type ToolRequirements<T> = T extends Tool<infer _I, infer _O, infer R> ? R : never

/** What every tool configuration of `make` has, whatever its handler shape. */
export interface ToolConfigBase<I, IE, O, OE> {
  /**
   * Letters, digits, `_` and `-`, in dot-separated segments; no `__`, `._` or `_.`
   * (provider adapters map `.` to `__` and back), at most 64 characters once mapped.
   */
  readonly name: string
  readonly description: string
  readonly input: Schema.Schema<I, IE>
  readonly output: Schema.Schema<O, OE>
  /** @default false */
  readonly idempotent?: boolean
  /** @default false */
  readonly retryable?: boolean
  /** @default {} */
  readonly limits?: ToolLimits
  /** @default "1" */
  readonly version?: string
  /** @default undefined (no batching) */
  readonly batch?: BatchConfig
}

/** A tool whose handler returns an Effect: the general shape (any Effect, requirements `R`, typed failures). */
export interface EffectToolConfig<I, IE, O, OE, R> extends ToolConfigBase<I, IE, O, OE> {
  readonly handler: (args: I, ctx: ToolContext) => Effect.Effect<O, ToolError, R>
  readonly run?: never
  /** @default each call of the batch served by `handler`, concurrently */
  readonly batchHandler?: (args: ReadonlyArray<I>, ctx: ToolContext) => Effect.Effect<ReadonlyArray<O>, ToolError, R>
}

/**
 * A tool whose handler is a plain function returning the output or a
 * Promise of it (an `async` function): the runtime calls it without a
 * fiber. A thrown or rejected `ToolError` (`Transient`, `Permanent`, …) is
 * that failure; anything else thrown or rejected is a `Defect`.
 */
export interface PromiseToolConfig<I, IE, O, OE> extends ToolConfigBase<I, IE, O, OE> {
  readonly run: (args: I, ctx: ToolContext) => O | PromiseLike<O>
  readonly handler?: never
  /** @default each call of the batch served by `run`, concurrently */
  readonly batchHandler?: (args: ReadonlyArray<I>, ctx: ToolContext) => Effect.Effect<ReadonlyArray<O>, ToolError>
}

/** The configuration of `make`: an Effect `handler` or a plain `run` function. */
export type ToolConfig<I, IE, O, OE, R> = EffectToolConfig<I, IE, O, OE, R> | PromiseToolConfig<I, IE, O, OE>

/** The longest tool name model providers accept (OpenAI and Anthropic: 64). */
export const MAX_PROVIDER_NAME = 64

/** The pattern of a tool name. */
export const TOOL_NAME = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$/

const TOOL_BRAND: unique symbol = Symbol.for("trellis/Tool")

const positive = (n: number): boolean => Number.isFinite(n) && n > 0

/** The problems of a tool configuration (empty when valid). */
export const configProblems = (config: {
  readonly name: unknown
  readonly limits?: ToolLimits | undefined
  readonly batch?: BatchConfig | undefined
}): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const name = config.name
  if (typeof name !== "string" || !TOOL_NAME.test(name)) {
    problems.push(
      `invalid tool name ${JSON.stringify(name)}: use letters, digits, "_" and "-" in dot-separated segments`
    )
  } else if (name.includes("__") || name.includes("._") || name.includes("_.")) {
    problems.push(`invalid tool name "${name}": "__", "._" and "_." are reserved (provider adapters map "." to "__")`)
  } else if (name.replaceAll(".", "__").length > MAX_PROVIDER_NAME) {
    problems.push(`invalid tool name "${name}": longer than ${MAX_PROVIDER_NAME} characters once "." is mapped to "__"`)
  }
  const limits = config.limits ?? {}
  if (limits.rate !== undefined && !(positive(limits.rate.perSecond) && positive(limits.rate.burst))) {
    problems.push("limits.rate: perSecond and burst must be positive numbers")
  }
  if (limits.concurrency !== undefined && !(Number.isInteger(limits.concurrency) && limits.concurrency > 0)) {
    problems.push("limits.concurrency must be a positive integer")
  }
  if (limits.timeout !== undefined && parseDuration(limits.timeout) === undefined) {
    problems.push(`limits.timeout: invalid duration "${limits.timeout}"`)
  }
  if (limits.breaker !== undefined) {
    for (const p of breakerProblems(limits.breaker, "limits.breaker")) problems.push(p)
  }
  if (config.batch !== undefined) {
    if (!(Number.isInteger(config.batch.size) && config.batch.size > 0)) {
      problems.push("batch.size must be a positive integer")
    }
    if (parseDuration(config.batch.window) === undefined) {
      problems.push(`batch.window: invalid duration "${config.batch.window}"`)
    }
  }
  return problems
}

const isThenable = (u: unknown): u is PromiseLike<unknown> =>
  typeof u === "object" && u !== null && typeof (u as { then?: unknown }).then === "function"

const describeThrown = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** What a `run` handler threw or rejected with, as a tool failure: a `ToolError` as is, anything else a `Defect`. */
export const thrownError = (tool: string, e: unknown): ToolError =>
  isToolError(e) ? e : new Defect({ message: `tool "${tool}" threw: ${describeThrown(e)}` })

/** The Effect handler of a `run` function: the same call, for the policy path, batches and `invoke`. */
const runHandler =
  <I, O>(name: string, run: (args: I, ctx: ToolContext) => O | PromiseLike<O>) =>
  (args: I, ctx: ToolContext): Effect.Effect<O, ToolError> =>
    Effect.suspend(() => {
      let out: O | PromiseLike<O>
      try {
        out = run(args, ctx)
      } catch (e) {
        return Effect.fail(thrownError(name, e))
      }
      if (!isThenable(out)) return Effect.succeed(out)
      const promise = out
      return Effect.async<O, ToolError>((resume) => {
        promise.then((v) => resume(Effect.succeed(v)), (e: unknown) => resume(Effect.fail(thrownError(name, e))))
      })
    })

/**
 * Makes a tool. Argument and output types are inferred from the Schemas.
 * Give either `handler` (returns an Effect) or `run` (a plain or `async`
 * function). Throws an `Error` listing the problems when the configuration
 * is invalid (a bad name, limit or batch setting, both or neither handler)
 * — a programming error at definition time.
 */
export const make = <I, IE, O, OE, R = never>(config: ToolConfig<I, IE, O, OE, R>): Tool<I, O, R> => {
  const problems = [...configProblems(config)]
  const given = (config.handler === undefined ? 0 : 1) + (config.run === undefined ? 0 : 1)
  if (given !== 1) {
    problems.push(given === 0 ? "give a handler or a run function" : "give a handler or a run function, not both")
  }
  if (problems.length > 0) throw new Error(`Tool.make: ${problems.join("; ")}`)
  const idempotent = config.idempotent ?? false
  const spec = toolSpecFromSchemas({
    name: config.name,
    input: config.input,
    output: config.output,
    idempotent,
    description: config.description
  })
  const run = config.run
  const handler: (args: I, ctx: ToolContext) => Effect.Effect<O, ToolError, R> = run === undefined
    ? config.handler!
    : runHandler(config.name, run)
  const base = {
    [TOOL_BRAND]: true,
    name: config.name,
    description: config.description,
    input: config.input,
    output: config.output,
    idempotent,
    retryable: config.retryable ?? false,
    limits: config.limits ?? {},
    version: config.version ?? "1",
    handler,
    ...(run === undefined ? {} : { run }),
    spec
  }
  if (config.batch === undefined) return base
  const batchHandler = config.batchHandler ??
    ((args: ReadonlyArray<I>, ctx: ToolContext) =>
      Effect.forEach(args, (a) => handler(a, ctx), { concurrency: "unbounded" }))
  return { ...base, batch: config.batch, batchHandler }
}

/** Whether a value is a tool made with `make`. */
export const isTool = (u: unknown): u is UnknownTool =>
  typeof u === "object" && u !== null && TOOL_BRAND in u && u[TOOL_BRAND] === true

type Decoder = (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
const decoders = new WeakMap<SchemaAST.AST, Decoder>()
const encoders = new WeakMap<SchemaAST.AST, Decoder>()

/** Schema's parser, behind the plain-schema fast path (plainGuard.ts) when the schema is plain. */
const withGuard = (ast: SchemaAST.AST, parse: Decoder): Decoder => {
  const guard = plainGuard(ast)
  return guard === undefined ? parse : (u) => (guard(u) ? Either.right(u) : parse(u))
}

const decoderOf = (ast: SchemaAST.AST): Decoder => {
  let d = decoders.get(ast)
  if (d === undefined) {
    d = withGuard(
      ast,
      Schema.decodeUnknownEither(Schema.make<unknown, unknown, never>(ast), {
        onExcessProperty: "error",
        errors: "all"
      })
    )
    decoders.set(ast, d)
  }
  return d
}

const encoderOf = (ast: SchemaAST.AST): Decoder => {
  let e = encoders.get(ast)
  if (e === undefined) {
    e = withGuard(ast, Schema.encodeUnknownEither(Schema.make<unknown, unknown, never>(ast), { errors: "all" }))
    encoders.set(ast, e)
  }
  return e
}

/**
 * Decodes JSON arguments with the tool's input Schema: coerced where the
 * Schema says so, unknown fields rejected; a failure is `Permanent` with the
 * Schema's own message.
 */
export const decodeArgs = <I, O, R>(tool: Tool<I, O, R>, args: unknown): Effect.Effect<I, Permanent> => {
  const result = decoderOf(tool.input.ast)(args)
  return Either.isRight(result)
    ? Effect.succeed(result.right as I)
    : Effect.fail(new Permanent({ message: ParseResult.TreeFormatter.formatErrorSync(result.left) }))
}

/** Why a value is not JSON, or undefined when it is (`undefined` object properties are allowed and dropped). */
const notJson = (
  value: unknown,
  path: string,
  seen: Set<object>,
  found: { undefinedProps: boolean }
): string | undefined => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined
    case "number":
      return Number.isFinite(value) ? undefined : `${path} is ${String(value)}, not a JSON number`
    case "object": {
      if (value === null) return undefined
      if (seen.has(value)) return `${path} is a cycle`
      seen.add(value)
      let problem: string | undefined
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length && problem === undefined; i++) {
          problem = notJson(value[i], `${path}[${i}]`, seen, found)
        }
      } else {
        const proto: unknown = Object.getPrototypeOf(value)
        if (proto !== Object.prototype && proto !== null) problem = `${path} is not a plain object`
        for (const [k, v] of Object.entries(value)) {
          if (problem !== undefined) break
          if (v === undefined) found.undefinedProps = true
          else problem = notJson(v, `${path}.${k}`, seen, found)
        }
      }
      seen.delete(value)
      return problem
    }
    default:
      return `${path} is ${typeof value === "undefined" ? "undefined" : `a ${typeof value}`}, not JSON`
  }
}

const stripUndefined = (value: Json): Json => {
  if (typeof value !== "object" || value === null) return value
  if (Array.isArray(value)) return value.map(stripUndefined)
  const entries = Object.entries(value)
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined).map(([k, v]) => [k, stripUndefined(v)]))
}

/** Checks that an unknown value is JSON (finite numbers, plain objects, no cycles); `undefined` properties are dropped. */
export const toJson = (value: unknown): Either.Either<Json, string> => {
  // Scalars (most tool outputs are small) need no walk.
  if (value === null || typeof value === "string" || typeof value === "boolean") return Either.right(value)
  if (typeof value === "number" && Number.isFinite(value)) return Either.right(value)
  const found = { undefinedProps: false }
  const problem = notJson(value, "value", new Set(), found)
  if (problem !== undefined) return Either.left(problem)
  return Either.right(found.undefinedProps ? stripUndefined(value as Json) : (value as Json))
}

/**
 * Encodes a handler's output with the tool's output Schema into a JSON
 * value; output the Schema rejects (or that is not JSON) is `Permanent`.
 */
export const encodeOutput = <I, O, R>(tool: Tool<I, O, R>, out: O): Effect.Effect<Json, Permanent> => {
  const encoded = encoderOf(tool.output.ast)(out)
  if (Either.isLeft(encoded)) {
    return Effect.fail(
      new Permanent({
        message: `output of tool "${tool.name}" does not match its schema: ${
          ParseResult.TreeFormatter.formatErrorSync(encoded.left)
        }`
      })
    )
  }
  const json = toJson(encoded.right)
  return Either.isRight(json)
    ? Effect.succeed(json.right)
    : Effect.fail(new Permanent({ message: `output of tool "${tool.name}" is not JSON: ${json.left}` }))
}

/** Options of `makeContext`. */
export interface ToolContextOptions {
  /** @default "" */
  readonly idempotencyKey?: string
  /** @default 1 */
  readonly attempt?: number
  /** @default a signal that never aborts */
  readonly signal?: AbortSignal
  /** @default discards chunks */
  readonly emit?: (chunk: string) => Effect.Effect<void>
}

/** Builds a ToolContext (for tests and direct calls); unspecified fields take neutral defaults. */
export const makeContext = (options: ToolContextOptions = {}): ToolContext => {
  const emit = options.emit ?? (() => Effect.void)
  return {
    idempotencyKey: options.idempotencyKey ?? "",
    attempt: options.attempt ?? 1,
    signal: options.signal ?? new AbortController().signal,
    emit,
    emitNow: (chunk) => Effect.runSync(emit(chunk))
  }
}

/**
 * Calls a tool on JSON arguments outside the runtime (no policies, limits or
 * events): decode, handle, encode.
 */
export const invoke = <I, O, R>(
  tool: Tool<I, O, R>,
  args: unknown,
  ctx: ToolContext = makeContext()
): Effect.Effect<Json, ToolError, R> =>
  Effect.flatMap(
    decodeArgs(tool, args),
    (decoded) => Effect.flatMap(tool.handler(decoded, ctx), (out) => encodeOutput(tool, out))
  )
