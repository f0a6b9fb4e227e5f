/**
 * N4: constant folding. Folds every sub-expression whose operands are all
 * constants with the evaluator (`evalPure`), bottom-up, substituting the
 * refs of inlined nodes on the way. A constant is a literal, or a list or
 * record expression of constants. A fold that fails (a type error, a
 * division by zero) is left unfolded, and so is one whose result would
 * weigh more than `FOLD_LIMIT`. `false and X` and `true or X` fold to their
 * left side, as evaluation short-circuits.
 */
import { Either } from "effect"
import { compareCodeUnits } from "../ir/canonical.js"
import { evalPure, type Json } from "../ir/eval.js"
import type { Expr, Scalar } from "../ir/schema.js"
import type { IExpr } from "./internal.js"

/**
 * The heaviest constant a fold may produce, and the heaviest constant an
 * `expr` node may have to be inlined into its uses (see `weight`).
 */
export const FOLD_LIMIT = 1024

/** An expression with its weight when it is a constant (`-1` when it is not). */
export interface Folded {
  readonly expr: IExpr
  readonly weight: number
}

/** Weight of a scalar: 1, plus 1 per 64 code units of a string. */
const scalarWeight = (value: Scalar): number => (typeof value === "string" ? 1 + (value.length >> 6) : 1)

const EMPTY_ENV: ReadonlyMap<string, Json> = new Map()

/** Weight of a JSON value, or `Infinity` as soon as it exceeds `limit`. */
const jsonWeight = (value: Json, limit: number): number => {
  let total = 0
  const stack: Array<Json> = [value]
  while (stack.length > 0) {
    const v = stack.pop()!
    if (v === null || typeof v !== "object") total += scalarWeight(v)
    else if (Array.isArray(v)) {
      total += 1
      for (const item of v as ReadonlyArray<Json>) stack.push(item)
    } else {
      total += 1
      for (const [key, item] of Object.entries(v)) {
        total += scalarWeight(key)
        stack.push(item)
      }
    }
    if (total > limit) return Infinity
  }
  return total
}

/** A JSON value as a constant expression; record keys in code-unit order. */
const jsonToExpr = (value: Json): IExpr => {
  if (value === null || typeof value !== "object") return { kind: "lit", value: value === 0 ? 0 : value }
  if (Array.isArray(value)) return { kind: "list", items: (value as ReadonlyArray<Json>).map(jsonToExpr) }
  const record = value as { readonly [key: string]: Json }
  return {
    kind: "record",
    entries: Object.keys(record)
      .sort(compareCodeUnits)
      .map((key) => ({ key, value: jsonToExpr(record[key]!) }))
  }
}

const NOT_CONSTANT = -1

/** Tries to evaluate an operation whose operands are all constants. */
const tryFold = (expr: IExpr, fallback: number): Folded => {
  // Constants hold no refs, so the working form is a valid IR expression here.
  const result = evalPure(expr as unknown as Expr, EMPTY_ENV)
  if (Either.isLeft(result)) return { expr, weight: fallback }
  const weight = jsonWeight(result.right, FOLD_LIMIT)
  return weight === Infinity ? { expr, weight: fallback } : { expr: jsonToExpr(result.right), weight }
}

/** Substitutions of inlined nodes, indexed by uid. */
export type Substitution = ReadonlyArray<Folded | undefined>

/** Folds `expr`, replacing refs to inlined nodes by their (folded) expressions. */
export const foldExpr = (expr: IExpr, subst: Substitution): Folded => {
  switch (expr.kind) {
    case "lit":
      return { expr, weight: scalarWeight(expr.value) }
    case "nref":
      return subst[expr.uid] ?? { expr, weight: NOT_CONSTANT }
    case "bref":
    case "pref":
    case "fref":
      return { expr, weight: NOT_CONSTANT }
    case "list": {
      let changed = false
      let weight = 1
      const items = expr.items.map((item) => {
        const f = foldExpr(item, subst)
        if (f.expr !== item) changed = true
        weight = f.weight < 0 || weight < 0 ? NOT_CONSTANT : weight + f.weight
        return f.expr
      })
      return { expr: changed ? { kind: "list", items } : expr, weight }
    }
    case "record": {
      let changed = false
      let weight = 1
      const entries = expr.entries.map((entry) => {
        const f = foldExpr(entry.value, subst)
        weight = f.weight < 0 || weight < 0 ? NOT_CONSTANT : weight + f.weight + scalarWeight(entry.key)
        if (f.expr === entry.value) return entry
        changed = true
        return { key: entry.key, value: f.expr }
      })
      return { expr: changed ? { kind: "record", entries } : expr, weight }
    }
    case "get": {
      const t = foldExpr(expr.target, subst)
      const next: IExpr = t.expr === expr.target ? expr : { kind: "get", target: t.expr, field: expr.field }
      return t.weight >= 0 ? tryFold(next, NOT_CONSTANT) : { expr: next, weight: NOT_CONSTANT }
    }
    case "index": {
      const t = foldExpr(expr.target, subst)
      const i = foldExpr(expr.index, subst)
      const next: IExpr = t.expr === expr.target && i.expr === expr.index
        ? expr
        : { kind: "index", target: t.expr, index: i.expr }
      return t.weight >= 0 && i.weight >= 0 ? tryFold(next, NOT_CONSTANT) : { expr: next, weight: NOT_CONSTANT }
    }
    case "slice": {
      const t = foldExpr(expr.target, subst)
      const a = expr.start === null ? null : foldExpr(expr.start, subst)
      const b = expr.end === null ? null : foldExpr(expr.end, subst)
      const same = t.expr === expr.target && (a === null || a.expr === expr.start) &&
        (b === null || b.expr === expr.end)
      const next: IExpr = same
        ? expr
        : { kind: "slice", target: t.expr, start: a === null ? null : a.expr, end: b === null ? null : b.expr }
      const constant = t.weight >= 0 && (a === null || a.weight >= 0) && (b === null || b.weight >= 0)
      return constant ? tryFold(next, NOT_CONSTANT) : { expr: next, weight: NOT_CONSTANT }
    }
    case "unary": {
      const a = foldExpr(expr.arg, subst)
      const next: IExpr = a.expr === expr.arg ? expr : { kind: "unary", op: expr.op, arg: a.expr }
      return a.weight >= 0 ? tryFold(next, NOT_CONSTANT) : { expr: next, weight: NOT_CONSTANT }
    }
    case "binary": {
      const l = foldExpr(expr.left, subst)
      if ((expr.op === "and" || expr.op === "or") && l.expr.kind === "lit" && l.expr.value === (expr.op === "or")) {
        return l
      }
      const r = foldExpr(expr.right, subst)
      const next: IExpr = l.expr === expr.left && r.expr === expr.right
        ? expr
        : { kind: "binary", op: expr.op, left: l.expr, right: r.expr }
      return l.weight >= 0 && r.weight >= 0 ? tryFold(next, NOT_CONSTANT) : { expr: next, weight: NOT_CONSTANT }
    }
    case "call": {
      let changed = false
      let constant = true
      const args = expr.args.map((arg) => {
        const f = foldExpr(arg, subst)
        if (f.expr !== arg) changed = true
        if (f.weight < 0) constant = false
        return f.expr
      })
      const next: IExpr = changed ? { kind: "call", fn: expr.fn, args } : expr
      return constant ? tryFold(next, NOT_CONSTANT) : { expr: next, weight: NOT_CONSTANT }
    }
  }
}
