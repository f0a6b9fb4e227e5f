/** Shared helpers of the language tests: example sources and an S-expression view of expressions. */
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import type { ExprNode, FileAst, StepNode } from "../../src/language/ast.js"
import { parse } from "../../src/language/parser.js"

const examplesDir = fileURLToPath(new URL("../../examples/", import.meta.url))

/** Every example file: name → source. */
export const examples: ReadonlyArray<readonly [string, string]> = readdirSync(examplesDir)
  .filter((f) => f.endsWith(".tr"))
  .sort()
  .map((f) => [f, readFileSync(examplesDir + f, "utf8")] as const)

/** The kitchen-sink program (every construct of SPEC §1). */
export const kitchenSink: string = readFileSync(examplesDir + "kitchen-sink.tr", "utf8")

/** Parses a source that must be free of syntax errors. */
export const parseOk = (source: string): FileAst => {
  const r = parse(source)
  if (r.file === undefined) throw new Error(r.errors.map((e) => e.message + "\n" + e.excerpt).join("\n"))
  return r.file
}

/** The step of the first statement of the first program of `source`. */
export const firstStep = (source: string): StepNode => {
  const decl = parseOk(source).decls[0]
  if (decl?.kind !== "ProgramDecl") throw new Error("no program")
  const st = decl.body.statements[0]
  if (st === undefined) throw new Error("no statement")
  return st.step
}

/** Parses `program p() { v = <expr> }` and returns the expression. */
export const parseExpr = (expr: string): ExprNode => {
  const step = firstStep(`program p() { v = ${expr} }`)
  if (step.kind !== "ExprStep") throw new Error("not an expression: " + step.kind)
  return step.expr
}

/** A fully parenthesized rendering of an expression tree. */
export const sexpr = (e: ExprNode): string => {
  switch (e.kind) {
    case "NumberLiteral":
    case "BooleanLiteral":
      return String(e.value)
    case "StringLiteral":
      return JSON.stringify(e.value)
    case "NullLiteral":
      return "null"
    case "Identifier":
      return e.name
    case "CallExpr":
      return `(call ${e.callee.value}${e.args.map((a) => " " + sexpr(a)).join("")})`
    case "ListExpr":
      return `[${e.items.map(sexpr).join(" ")}]`
    case "RecordExpr":
      return `{${
        e.entries.map((x) => `${x.key.kind === "Name" ? x.key.value : JSON.stringify(x.key.value)}: ${sexpr(x.value)}`)
          .join(", ")
      }}`
    case "ParenExpr":
      return `(paren ${sexpr(e.expr)})`
    case "UnaryExpr":
      return `(${e.op} ${sexpr(e.operand)})`
    case "BinaryExpr":
      return `(${e.op} ${sexpr(e.left)} ${sexpr(e.right)})`
    case "MemberExpr":
      return `(. ${sexpr(e.target)} ${e.field.value})`
    case "IndexExpr":
      return `(index ${sexpr(e.target)} ${sexpr(e.index)})`
    case "SliceExpr":
      return `(slice ${sexpr(e.target)} ${e.start === undefined ? "_" : sexpr(e.start)} ${
        e.end === undefined ? "_" : sexpr(e.end)
      })`
  }
}

/** Syntax errors of `source` as `line:column message`. */
export const errorsOf = (source: string, options?: { maxTokens?: number; maxDepth?: number }): ReadonlyArray<string> =>
  parse(source, options).errors.map((e) => `${e.span.start.line}:${e.span.start.column} ${e.message}`)
