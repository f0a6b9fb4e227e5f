/**
 * JSON logs: a `Logger` that writes one JSON object per line — `time`,
 * `level`, `message`, the current span's `traceId` and `spanId`, every log
 * annotation (`requestId`, `runId`, `workspace`, …), log spans and the
 * cause when there is one — with every registered secret redacted
 * (`redact.ts`). `layerJson` replaces Effect's default logger with it.
 */
import { Cause, Context, Effect, FiberRef, FiberRefs, HashMap, Layer, List, Logger, Tracer } from "effect"
import { redact, registerSecretsFromEnv } from "./redact.js"

/** Options of the JSON logger. */
export interface JsonLoggerOptions {
  /** Where lines go (without the newline). @default a write to process.stdout */
  readonly write?: (line: string) => void
  /** Register the environment's secrets (`registerSecretsFromEnv`) when the layer is built. @default true */
  readonly secretsFromEnv?: boolean
}

/** Top-level fields an annotation cannot replace (it is kept as `annotation.<name>`). */
const RESERVED = new Set(["time", "level", "message", "traceId", "spanId", "spans", "cause"])

/** A value as JSON-safe data (bigints as strings, cycles and functions dropped). */
const plain = (value: unknown): unknown => {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean" || value === null) {
    return value
  }
  if (value === undefined) return undefined
  const seen = new WeakSet<object>()
  try {
    return JSON.parse(
      JSON.stringify(value, (_k, v: unknown) => {
        if (typeof v === "bigint") return v.toString()
        if (typeof v === "function" || typeof v === "symbol") return undefined
        if (typeof v === "object" && v !== null) {
          if (seen.has(v)) return "[Circular]"
          seen.add(v)
        }
        return v
      })
    ) as unknown
  } catch {
    return String(value)
  }
}

/** A log message (a value, or the array of `Effect.log`'s arguments) as text. */
const messageText = (message: unknown): string => {
  const parts = Array.isArray(message) ? message : [message]
  return parts
    .map((part: unknown) => (typeof part === "string" ? part : JSON.stringify(plain(part)) ?? String(part)))
    .join(" ")
}

/** The log record of one log call, as the object that is written. */
export const toRecord = (options: Logger.Logger.Options<unknown>): Record<string, unknown> => {
  const record: Record<string, unknown> = {
    time: options.date.toISOString(),
    level: options.logLevel.label.toLowerCase(),
    message: messageText(options.message)
  }
  const context = FiberRefs.getOrDefault(options.context, FiberRef.currentContext)
  const span = Context.getOption(context, Tracer.ParentSpan)
  if (span._tag === "Some") {
    record["traceId"] = span.value.traceId
    record["spanId"] = span.value.spanId
  }
  for (const [name, value] of HashMap.toEntries(options.annotations)) {
    record[RESERVED.has(name) ? `annotation.${name}` : name] = plain(value)
  }
  if (!List.isNil(options.spans)) {
    const now = options.date.getTime()
    const spans: Record<string, number> = {}
    for (const s of options.spans) spans[s.label] = now - s.startTime
    record["spans"] = spans
  }
  if (!Cause.isEmpty(options.cause)) record["cause"] = Cause.pretty(options.cause, { renderErrorCause: true })
  return record
}

/** One log call as one redacted JSON line. */
export const formatLine = (options: Logger.Logger.Options<unknown>): string => redact(JSON.stringify(toRecord(options)))

const stdoutWrite = (line: string): void => {
  process.stdout.write(`${line}\n`)
}

/** A logger writing one redacted JSON object per line. */
export const jsonLogger = (options: JsonLoggerOptions = {}): Logger.Logger<unknown, void> => {
  const write = options.write ?? stdoutWrite
  return Logger.make((o) => write(formatLine(o)))
}

/** Replaces Effect's default logger with the JSON logger (and registers the environment's secrets). */
export const layerJson = (options: JsonLoggerOptions = {}): Layer.Layer<never> => {
  const logger = Logger.replace(Logger.defaultLogger, jsonLogger(options))
  return options.secretsFromEnv === false
    ? logger
    : Layer.merge(logger, Layer.effectDiscard(Effect.sync(() => registerSecretsFromEnv())))
}
