/**
 * The `--metric` syntax (docs/evaluation.md, "Metrics"), parsed into data:
 *
 *   metric    := term ( "+" term )*            a weighted composite when more than one term
 *   term      := [ weight "*" ] single         weight a non-negative number, default 1
 *   single    := "exact" | "normalized" | "f1" | "contains"
 *              | "numeric" [ ":" tolerance [ "%" ] ]
 *              | "json-schema:" file | "latency" | "cost"
 *              | "judge:" file [ "#" Signature ] [ "@" model ]
 *              | "program:" file | "ts:" module [ "#" export ]
 */
import { Either } from "effect"
import { EvalError } from "./errors.js"

/** One metric, as data. */
export type SingleSpec =
  | { readonly kind: "exact" | "normalized" | "f1" | "contains" | "latency" | "cost" }
  | { readonly kind: "numeric"; readonly tolerance: number; readonly relative: boolean }
  | { readonly kind: "json-schema"; readonly path: string }
  | { readonly kind: "judge"; readonly path: string; readonly signature?: string; readonly model?: string }
  | { readonly kind: "program"; readonly path: string }
  | { readonly kind: "ts"; readonly path: string; readonly export: string }

/** A metric: one or more weighted terms (`text` as the user wrote it). */
export interface MetricSpec {
  readonly text: string
  readonly terms: ReadonlyArray<{ readonly weight: number; readonly spec: SingleSpec }>
}

/** The default numeric tolerance. */
export const DEFAULT_TOLERANCE = 1e-6

const fail = (text: string, message: string) =>
  Either.left(new EvalError({ reason: "metric", message, location: `--metric ${JSON.stringify(text)}` }))

const SIMPLE = new Set(["exact", "normalized", "f1", "contains", "latency", "cost"])

const parseSingle = (text: string, raw: string): Either.Either<SingleSpec, EvalError> => {
  const s = raw.trim()
  if (SIMPLE.has(s)) return Either.right({ kind: s as "exact" })
  const colon = s.indexOf(":")
  const head = colon < 0 ? s : s.slice(0, colon)
  const rest = colon < 0 ? "" : s.slice(colon + 1).trim()
  switch (head) {
    case "numeric": {
      if (rest === "") return Either.right({ kind: "numeric", tolerance: DEFAULT_TOLERANCE, relative: false })
      const relative = rest.endsWith("%")
      const n = Number(relative ? rest.slice(0, -1) : rest)
      if (!Number.isFinite(n) || n < 0) {
        return fail(text, `numeric tolerance must be a non-negative number, got "${rest}"`)
      }
      return Either.right({ kind: "numeric", tolerance: relative ? n / 100 : n, relative })
    }
    case "json-schema":
      return rest === "" ? fail(text, "json-schema needs a file: json-schema:<file.json>") : Either.right({
        kind: "json-schema",
        path: rest
      })
    case "program":
      return rest === "" ? fail(text, "program needs a file: program:<file.tr>") : Either.right({
        kind: "program",
        path: rest
      })
    case "ts": {
      if (rest === "") return fail(text, "ts needs a module: ts:<module.ts>[#export]")
      const hash = rest.lastIndexOf("#")
      return Either.right({
        kind: "ts",
        path: hash < 0 ? rest : rest.slice(0, hash),
        export: hash < 0 ? "metric" : rest.slice(hash + 1)
      })
    }
    case "judge": {
      if (rest === "") return fail(text, "judge needs a file: judge:<file.tr>[#Signature][@model]")
      const at = rest.indexOf("@")
      const model = at < 0 ? undefined : rest.slice(at + 1)
      const beforeModel = at < 0 ? rest : rest.slice(0, at)
      const hash = beforeModel.lastIndexOf("#")
      const path = hash < 0 ? beforeModel : beforeModel.slice(0, hash)
      const signature = hash < 0 ? undefined : beforeModel.slice(hash + 1)
      if (path === "" || model === "" || signature === "") return fail(text, "judge:<file.tr>[#Signature][@model]")
      return Either.right({
        kind: "judge",
        path,
        ...(signature === undefined ? {} : { signature }),
        ...(model === undefined ? {} : { model })
      })
    }
    default:
      return fail(
        text,
        `unknown metric "${s}" (exact, normalized, f1, contains, numeric[:tol], json-schema:<file>, latency, cost, judge:<file>, program:<file>, ts:<module>)`
      )
  }
}

/** Parses one `--metric` value. */
export const parseMetric = (text: string): Either.Either<MetricSpec, EvalError> => {
  const parts = text.split("+")
  const terms: Array<{ readonly weight: number; readonly spec: SingleSpec }> = []
  for (const part of parts) {
    if (part.trim() === "") return fail(text, "empty term (a composite is w1*metric1 + w2*metric2)")
    const m = /^\s*([0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)\s*\*(.*)$/i.exec(part)
    const weight = m === null ? 1 : Number(m[1])
    const single = parseSingle(text, m === null ? part : m[2]!)
    if (Either.isLeft(single)) return Either.left(single.left)
    terms.push({ weight, spec: single.right })
  }
  if (terms.every((t) => t.weight === 0)) return fail(text, "the weights of a composite must not all be 0")
  return Either.right({ text: text.trim(), terms })
}

/** Whether a metric is better when lower (latency and cost alone). */
export const lowerIsBetter = (spec: MetricSpec): boolean =>
  spec.terms.length === 1 && (spec.terms[0]!.spec.kind === "latency" || spec.terms[0]!.spec.kind === "cost")

/** The metric kinds that read a file or load code when loaded (refused where files are not the caller's: the server). */
export const FILE_METRICS: ReadonlySet<SingleSpec["kind"]> = new Set(["json-schema", "judge", "program", "ts"])

/** The first term of a metric that reads a file or loads code, if any. */
export const fileTerm = (spec: MetricSpec): SingleSpec | undefined =>
  spec.terms.find((t) => FILE_METRICS.has(t.spec.kind))?.spec
