/**
 * Lowering of expressions and types: AST → IR `Expr` / `Type`, recording
 * the span of every element in the source map. Two surface forms fold:
 * `-` applied directly to a number literal is a negative literal, and
 * `x["key"]` (a string literal index) is a field access (`get`). Written
 * with parentheses (`-(5)`, `x[("key")]`) they stay a unary op / an index.
 */
import { type BuiltinName, BUILTINS, type Expr, type Type } from "../ir/schema.js"
import type { ExprNode, NameNode, StringLiteralNode, TypeNode } from "./ast.js"
import type { IrPath, LowerContext } from "./lowerContext.js"

const BUILTIN_SET: ReadonlySet<string> = new Set(BUILTINS)

const isBuiltin = (name: string): name is BuiltinName => BUILTIN_SET.has(name)

/** Lowers an expression found at `path` of the IR. */
export const lowerExpr = (ctx: LowerContext, e: ExprNode, path: IrPath): Expr => {
  ctx.mark(path, e.loc)
  switch (e.kind) {
    case "NumberLiteral":
    case "StringLiteral":
    case "BooleanLiteral":
      return { kind: "lit", value: e.value }
    case "NullLiteral":
      return { kind: "lit", value: null }
    case "Identifier":
      return { kind: "ref", name: e.name }
    case "ParenExpr":
      return lowerExpr(ctx, e.expr, path)
    case "CallExpr": {
      const fn = e.callee.value
      if (!isBuiltin(fn)) {
        ctx.report(
          "unbound-ref",
          `Unknown function "${fn}"; the builtins are ${BUILTINS.join(", ")}`,
          path,
          e.callee.loc
        )
        return { kind: "lit", value: null }
      }
      return { kind: "call", fn, args: e.args.map((a, i) => lowerExpr(ctx, a, path.child("args").child(i))) }
    }
    case "ListExpr":
      return { kind: "list", items: e.items.map((item, i) => lowerExpr(ctx, item, path.child("items").child(i))) }
    case "RecordExpr":
      return {
        kind: "record",
        entries: e.entries.map((entry, i) => {
          ctx.mark(path.child("entries").child(i), entry.loc)
          return {
            key: entry.key.value,
            value: lowerExpr(ctx, entry.value, path.child("entries").child(i).child("value"))
          }
        })
      }
    case "UnaryExpr":
      if (e.op === "-" && e.operand.kind === "NumberLiteral") return { kind: "lit", value: -e.operand.value }
      return { kind: "unary", op: e.op, arg: lowerExpr(ctx, e.operand, path.child("arg")) }
    case "BinaryExpr":
      return {
        kind: "binary",
        op: e.op,
        left: lowerExpr(ctx, e.left, path.child("left")),
        right: lowerExpr(ctx, e.right, path.child("right"))
      }
    case "MemberExpr":
      return { kind: "get", target: lowerExpr(ctx, e.target, path.child("target")), field: e.field.value }
    case "IndexExpr":
      if (e.index.kind === "StringLiteral") {
        return { kind: "get", target: lowerExpr(ctx, e.target, path.child("target")), field: e.index.value }
      }
      return {
        kind: "index",
        target: lowerExpr(ctx, e.target, path.child("target")),
        index: lowerExpr(ctx, e.index, path.child("index"))
      }
    case "SliceExpr":
      return {
        kind: "slice",
        target: lowerExpr(ctx, e.target, path.child("target")),
        start: e.start === undefined ? null : lowerExpr(ctx, e.start, path.child("start")),
        end: e.end === undefined ? null : lowerExpr(ctx, e.end, path.child("end"))
      }
  }
}

/** Lowers a type annotation found at `path` of the IR. */
export const lowerType = (ctx: LowerContext, t: TypeNode, path: IrPath): Type => {
  ctx.mark(path, t.loc)
  switch (t.kind) {
    case "NamedType":
      return { kind: t.name }
    case "ListType":
      return { kind: "list", of: lowerType(ctx, t.of, path.child("of")) }
    case "RecordType":
      return {
        kind: "record",
        fields: t.fields.map((f, i) => {
          ctx.mark(path.child("fields").child(i), f.loc)
          return { name: keyText(f.name), type: lowerType(ctx, f.type, path.child("fields").child(i).child("type")) }
        })
      }
  }
}

/** The text of an identifier-or-string key. */
export const keyText = (key: NameNode | StringLiteralNode): string => key.value

/**
 * The literal value of an expression, when it is one (a number, a negated
 * number, a string, a boolean or null, possibly parenthesized).
 */
export const literalOf = (e: ExprNode): { readonly value: string | number | boolean | null } | undefined => {
  switch (e.kind) {
    case "NumberLiteral":
    case "StringLiteral":
    case "BooleanLiteral":
      return { value: e.value }
    case "NullLiteral":
      return { value: null }
    case "ParenExpr":
      return literalOf(e.expr)
    case "UnaryExpr":
      return e.op === "-" && e.operand.kind === "NumberLiteral" ? { value: -e.operand.value } : undefined
    default:
      return undefined
  }
}
