/**
 * Lowering: syntax tree → IR (`trellis/1`) plus a source map (JSON pointer
 * of every IR element → span) plus the violations found on the way
 * (`duplicate-name` for repeated programs, signatures and arguments;
 * `bad-policy` for malformed `with { … }`; `unbound-ref` for a call of an
 * unknown function). Conventions: unnamed steps get synthetic ids `$0`,
 * `$1`, … per program in pre-order; `return <step>` appends a synthetic
 * node last and returns a ref to it; `return <expr>` is the body's result;
 * a program body without `return` returns null; an else-less `if` has
 * `else: null`; `else <step>` is an else body holding that one step. The
 * entry is the program named `main`, else the first program.
 */
import { Either } from "effect"
import type { SourceMap, Violation } from "../ir/diagnostic.js"
import { evalPure } from "../ir/eval.js"
import {
  type Args,
  type Body,
  type Demo,
  type Expr,
  IR_VERSION,
  type JsonValue,
  type Node,
  type Param,
  type Program,
  type ProgramDef,
  type Signature,
  type SignatureField
} from "../ir/schema.js"
import type {
  ArgumentNode,
  BlockNode,
  DemoNode,
  FileAst,
  ProgramDeclNode,
  RecordExprNode,
  SignatureDeclNode,
  StepNode
} from "./ast.js"
import { hasOwn, IrPath, LowerContext, setOwn } from "./lowerContext.js"
import { keyText, lowerExpr, lowerType } from "./lowerExpr.js"
import { lowerPolicy } from "./lowerPolicy.js"

/** What `lower` produced. */
export interface LowerResult {
  readonly program: Program
  readonly sourceMap: SourceMap
  readonly violations: ReadonlyArray<Violation>
}

/** Lowers a parsed file to the IR; never throws. */
export const lower = (file: FileAst): LowerResult => {
  const ctx = new LowerContext()
  const programs: { [name: string]: ProgramDef } = {}
  const signatures: { [name: string]: Signature } = {}
  ctx.mark(IrPath.root, file.loc)
  for (const decl of file.decls) {
    if (decl.kind === "ProgramDecl") {
      const path = IrPath.root.child("programs").child(decl.name.value)
      if (hasOwn(programs, decl.name.value)) {
        ctx.report("duplicate-name", `Program "${decl.name.value}" is declared more than once`, path, decl.name.loc)
        continue
      }
      setOwn(programs, decl.name.value, lowerProgram(ctx, decl, path))
    } else {
      const path = IrPath.root.child("signatures").child(decl.name.value)
      if (hasOwn(signatures, decl.name.value)) {
        ctx.report("duplicate-name", `Signature "${decl.name.value}" is declared more than once`, path, decl.name.loc)
        continue
      }
      setOwn(signatures, decl.name.value, lowerSignature(ctx, decl, path))
    }
  }
  const names = Object.keys(programs)
  const entry = hasOwn(programs, "main") ? "main" : (names[0] ?? "main")
  return {
    program: { ir: IR_VERSION, entry, programs, signatures },
    sourceMap: ctx.sourceMap(),
    violations: ctx.violations
  }
}

const lowerProgram = (ctx: LowerContext, decl: ProgramDeclNode, path: IrPath): ProgramDef => {
  ctx.synthetic = 0
  ctx.mark(path, decl.loc)
  const params = decl.params.map((p, i): Param => {
    const paramPath = path.child("params").child(i)
    ctx.mark(paramPath, p.loc)
    ctx.mark(paramPath.child("name"), p.name.loc)
    const type = lowerType(ctx, p.type, paramPath.child("type"))
    return p.default === undefined
      ? { name: p.name.value, type }
      : { name: p.name.value, type, default: lowerExpr(ctx, p.default, paramPath.child("default")) }
  })
  const body = lowerBody(ctx, decl.body, path)
  return { params, nodes: body.nodes, result: body.result }
}

const lowerSignature = (ctx: LowerContext, decl: SignatureDeclNode, path: IrPath): Signature => {
  ctx.mark(path, decl.loc)
  const inputs: Array<SignatureField> = []
  const outputs: Array<SignatureField> = []
  for (const field of decl.fields) {
    const list = field.direction === "input" ? inputs : outputs
    const fieldPath = path.child(field.direction === "input" ? "inputs" : "outputs").child(list.length)
    ctx.mark(fieldPath, field.loc)
    const type = lowerType(ctx, field.type, fieldPath.child("type"))
    list.push(
      field.doc === undefined
        ? { name: field.name.value, type }
        : { name: field.name.value, type, doc: field.doc.value }
    )
  }
  if (decl.doc !== undefined) ctx.mark(path.child("doc"), decl.doc.loc)
  const demos = decl.demos.map((demo, i) => lowerDemo(ctx, demo, path.child("demos").child(i)))
  const base: Signature = decl.doc === undefined ? { inputs, outputs } : { doc: decl.doc.value, inputs, outputs }
  return demos.length === 0 ? base : { ...base, demos }
}

/** A demo's two records as JSON values: every value must be constant (no references), else `bad-demo`. */
const lowerDemo = (ctx: LowerContext, demo: DemoNode, path: IrPath): Demo => {
  ctx.mark(path, demo.loc)
  const side = (record: RecordExprNode, key: "inputs" | "outputs"): { [name: string]: JsonValue } => {
    const out: { [name: string]: JsonValue } = {}
    record.entries.forEach((entry) => {
      const name = keyText(entry.key)
      const valuePath = path.child(key).child(name)
      ctx.mark(valuePath, entry.loc)
      const value = evalPure(lowerExpr(ctx, entry.value, valuePath), new Map())
      if (Either.isLeft(value)) {
        ctx.report(
          "bad-demo",
          `The demo value of ${JSON.stringify(name)} must be a constant (${value.left.message})`,
          valuePath,
          entry.value.loc
        )
        return
      }
      setOwn(out, name, value.right)
    })
    return out
  }
  return { inputs: side(demo.inputs, "inputs"), outputs: side(demo.outputs, "outputs") }
}

/** Lowers a block whose IR body lives at `path` (`path/nodes`, `path/result`). */
const lowerBody = (ctx: LowerContext, block: BlockNode, path: IrPath): Body => {
  const nodes: Array<Node> = []
  let result: Expr | undefined
  for (const statement of block.statements) {
    if (statement.kind === "StepStatement") {
      const nodePath = path.child("nodes").child(nodes.length)
      ctx.mark(nodePath, statement.loc)
      if (statement.name !== undefined) ctx.mark(nodePath.child("id"), statement.name.loc)
      const id = statement.name?.value ?? `$${ctx.synthetic++}`
      nodes.push(lowerStep(ctx, statement.step, id, nodePath))
      continue
    }
    const step = statement.step
    const resultPath = path.child("result")
    if (step.kind === "ExprStep") {
      if (step.policy !== undefined) {
        ctx.report(
          "bad-policy",
          `A policy cannot apply to "return <expression>", which creates no step`,
          resultPath,
          step.policy.loc
        )
      }
      result = lowerExpr(ctx, step.expr, resultPath)
    } else {
      const nodePath = path.child("nodes").child(nodes.length)
      ctx.mark(nodePath, step.loc)
      const id = `$${ctx.synthetic++}`
      nodes.push(lowerStep(ctx, step, id, nodePath))
      ctx.mark(resultPath, statement.loc)
      result = { kind: "ref", name: id }
    }
  }
  return { nodes, result: result ?? { kind: "lit", value: null } }
}

/** Lowers one step to the node `id` at `path`. */
const lowerStep = (ctx: LowerContext, step: StepNode, id: string, path: IrPath): Node => {
  switch (step.kind) {
    case "ToolStep": {
      ctx.mark(path.child("tool"), step.tool.loc)
      const args = lowerArgs(ctx, step.args, path)
      const { policy } = lowerPolicy(ctx, step.policy, "tool", path)
      return withPolicy({ id, kind: "tool", tool: step.tool.value, args }, policy)
    }
    case "LlmStep": {
      ctx.mark(path.child("signature"), step.signature.loc)
      const args = lowerArgs(ctx, step.args, path)
      const { policy, model, hedgeModel } = lowerPolicy(ctx, step.policy, "llm", path)
      const base = { id, kind: "llm" as const, signature: step.signature.value, args }
      const routed = model === undefined ? base : { ...base, model }
      return withPolicy(hedgeModel === undefined ? routed : { ...routed, hedgeModel }, policy)
    }
    case "RunStep": {
      ctx.mark(path.child("program"), step.program.loc)
      const args = lowerArgs(ctx, step.args, path)
      const { policy } = lowerPolicy(ctx, step.policy, "call", path)
      return withPolicy({ id, kind: "call", program: step.program.value, args }, policy)
    }
    case "MapStep": {
      const over = lowerExpr(ctx, step.over, path.child("over"))
      ctx.mark(path.child("as"), step.binder.loc)
      const { policy, concurrency, take, fold, init } = lowerPolicy(ctx, step.policy, "map", path)
      const body = lowerNestedBody(ctx, step.body, path.child("body"))
      const base = { id, kind: "map" as const, over, as: step.binder.value, body }
      return withPolicy({
        ...base,
        ...(concurrency === undefined ? {} : { concurrency }),
        ...(take === undefined ? {} : { take }),
        ...(fold === undefined ? {} : { fold }),
        ...(init === undefined ? {} : { init })
      }, policy)
    }
    case "IfStep": {
      const cond = lowerExpr(ctx, step.cond, path.child("cond"))
      const { policy } = lowerPolicy(ctx, step.policy, "branch", path)
      const then = lowerNestedBody(ctx, step.then, path.child("then"))
      let otherwise: Body | null = null
      const elseStep = step.else
      if (elseStep !== undefined) {
        const elsePath = path.child("else")
        if (elseStep.kind === "Block") {
          otherwise = lowerNestedBody(ctx, elseStep, elsePath)
        } else {
          otherwise = lowerBody(ctx, {
            kind: "Block",
            statements: [{ kind: "ReturnStatement", step: elseStep, loc: elseStep.loc }],
            loc: elseStep.loc
          }, elsePath)
          ctx.mark(elsePath, elseStep.loc)
        }
      }
      return withPolicy({ id, kind: "branch", cond, then, else: otherwise }, policy)
    }
    case "ChooseStep": {
      ctx.mark(path.child("key"), step.key.loc)
      const { policy } = lowerPolicy(ctx, step.policy, "choose", path)
      const options = step.options.map((option, i) => {
        const optionPath = path.child("options").child(i)
        ctx.mark(optionPath, option.loc)
        ctx.mark(optionPath.child("label"), option.label.loc)
        return { label: option.label.value, body: lowerNestedBody(ctx, option.body, optionPath.child("body")) }
      })
      return withPolicy({ id, kind: "choose", key: step.key.value, options }, policy)
    }
    case "RaceStep": {
      const { policy } = lowerPolicy(ctx, step.policy, "race", path)
      const options = step.options.map((option, i) => {
        const optionPath = path.child("options").child(i)
        ctx.mark(optionPath, option.loc)
        ctx.mark(optionPath.child("label"), option.label.loc)
        return { label: option.label.value, body: lowerNestedBody(ctx, option.body, optionPath.child("body")) }
      })
      return withPolicy({ id, kind: "race", options }, policy)
    }
    case "WaitStep": {
      if (step.signal !== undefined) ctx.mark(path.child("signal"), step.signal.loc)
      if (step.for !== undefined) ctx.mark(path.child("for"), step.for.loc)
      const answer = step.answer === undefined ? undefined : lowerType(ctx, step.answer, path.child("answer"))
      const payload = step.payload === undefined ? undefined : lowerExpr(ctx, step.payload, path.child("payload"))
      const { policy } = lowerPolicy(ctx, step.policy, "wait", path)
      return withPolicy({
        id,
        kind: "wait",
        ...(step.signal === undefined ? {} : { signal: step.signal.value }),
        ...(payload === undefined ? {} : { payload }),
        ...(answer === undefined ? {} : { answer }),
        ...(step.for === undefined ? {} : { for: step.for.value })
      }, policy)
    }
    case "ExprStep": {
      const expr = lowerExpr(ctx, step.expr, path.child("expr"))
      const { policy } = lowerPolicy(ctx, step.policy, "expr", path)
      return withPolicy({ id, kind: "expr", expr }, policy)
    }
  }
}

const lowerNestedBody = (ctx: LowerContext, block: BlockNode, path: IrPath): Body => {
  ctx.mark(path, block.loc)
  return lowerBody(ctx, block, path)
}

const withPolicy = <N extends Node>(
  node: N,
  policy: Node["policy"]
): N => (policy === undefined ? node : { ...node, policy })

const lowerArgs = (ctx: LowerContext, args: ReadonlyArray<ArgumentNode>, nodePath: IrPath): Args => {
  const out: { [name: string]: Expr } = {}
  for (const arg of args) {
    const path = nodePath.child("args").child(arg.name.value)
    if (hasOwn(out, arg.name.value)) {
      ctx.report("duplicate-name", `Argument "${arg.name.value}" is given more than once`, path, arg.loc)
      continue
    }
    // The argument's path is also its value's path: it maps to the value's span (set by lowerExpr),
    // so a problem in the value (an unbound ref, a type mismatch) points at the value itself.
    setOwn(out, arg.name.value, lowerExpr(ctx, arg.value, path))
  }
  return out
}
