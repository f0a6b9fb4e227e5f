/**
 * Static type inference (V6). Types of nodes, binders and program results
 * are computed on demand and memoized per scope, so forward references
 * work and every node is typed once. A reference that comes back to a node
 * being typed (a cycle, reported by V2) is typed `any`; so is anything
 * reached through more than `MAX_INFER_DEPTH` nested inferences, which
 * keeps absurd programs from exhausting the stack. `any` never produces a
 * violation, so these fallbacks can hide errors but never invent them.
 */
import type { Expr, Program, Type } from "../ir/schema.js"
import { BUILTIN_ARITY, patchIdProblem, typeOfBuiltin } from "./builtins.js"
import type { ToolTable } from "./context.js"
import type { Typed } from "./operators.js"
import { typeOfBinary, typeOfGet, typeOfIndex, typeOfSlice, typeOfUnary } from "./operators.js"
import type { PathRef } from "./path.js"
import type { Binding, Scope, ScopeTree } from "./scope.js"
import { anyType, join, joinAll, listOf, nullType, recordOf, typeOfScalar } from "./types.js"

/** How many inferences may be nested before the answer is `any`. */
const MAX_INFER_DEPTH = 200

/** Receives a type error found in an expression. */
export type TypeErrorSink = (path: PathRef, message: string) => void

const IN_PROGRESS = Symbol("in-progress")
type Slot = Type | typeof IN_PROGRESS

/** The direct subexpressions of an expression, with their path segments. */
const childrenOf = (expr: Expr): ReadonlyArray<readonly [Expr, ReadonlyArray<string | number>]> => {
  switch (expr.kind) {
    case "lit":
    case "ref":
      return []
    case "get":
      return [[expr.target, ["target"]]]
    case "index":
      return [
        [expr.target, ["target"]],
        [expr.index, ["index"]]
      ]
    case "slice": {
      const out: Array<readonly [Expr, ReadonlyArray<string | number>]> = [[expr.target, ["target"]]]
      if (expr.start !== null) out.push([expr.start, ["start"]])
      if (expr.end !== null) out.push([expr.end, ["end"]])
      return out
    }
    case "unary":
      return [[expr.arg, ["arg"]]]
    case "binary":
      return [
        [expr.left, ["left"]],
        [expr.right, ["right"]]
      ]
    case "list":
      return expr.items.map((item, i) => [item, ["items", i]] as const)
    case "record":
      return expr.entries.map((entry, i) => [entry.value, ["entries", i, "value"]] as const)
    case "call":
      return expr.args.map((arg, i) => [arg, ["args", i]] as const)
  }
}

const kid = (kids: ReadonlyArray<Type>, i: number): Type => kids[i] ?? anyType

const makeFrame = (expr: Expr, path: PathRef | undefined): Frame => ({
  expr,
  path,
  children: childrenOf(expr),
  next: 0,
  kids: []
})

interface Frame {
  readonly expr: Expr
  readonly path: PathRef | undefined
  readonly children: ReadonlyArray<readonly [Expr, ReadonlyArray<string | number>]>
  next: number
  readonly kids: Array<Type>
}

/** Lazily inferred types of one document. */
export class TypeInfo {
  private readonly nodeTypes = new Map<Scope, Array<Slot | undefined>>()
  private readonly binderTypes = new Map<Scope, Slot>()
  private readonly programTypes = new Map<string, Slot>()
  private depth = 0

  constructor(
    private readonly program: Program,
    private readonly scopes: ScopeTree,
    private readonly tools: ToolTable | undefined
  ) {}

  /** The type a name's binding holds. */
  typeOfBinding(binding: Binding): Type {
    switch (binding.kind) {
      case "param":
        return binding.param.type
      case "node":
        return this.typeOfNode(binding.scope, binding.index)
      case "binder":
        return this.typeOfBinder(binding.scope)
    }
  }

  /** The output type of a tool, or `any` when there is no tool table or no such tool. */
  toolOutput(tool: string): Type {
    return this.tools?.get(tool)?.output ?? anyType
  }

  /** The output record of a signature, or `any` when there is no such signature. */
  signatureOutput(name: string): Type {
    if (!Object.hasOwn(this.program.signatures, name)) return anyType
    return recordOf(this.program.signatures[name]!.outputs.map((f) => ({ name: f.name, type: f.type })))
  }

  /** The type of a program's result, or `any` when unknown or recursive. */
  resultOfProgram(name: string): Type {
    return this.memo(this.programTypes, name, () => {
      const top = this.scopes.top(name)
      return top === undefined ? anyType : this.typeOfExpr(top.body.result, top)
    })
  }

  /** The type of the value of the node at `index` of `scope`. */
  typeOfNode(scope: Scope, index: number): Type {
    let slots = this.nodeTypes.get(scope)
    if (slots === undefined) {
      slots = []
      this.nodeTypes.set(scope, slots)
    }
    const cached = slots[index]
    if (cached === IN_PROGRESS) return anyType
    if (cached !== undefined) return cached
    if (this.depth >= MAX_INFER_DEPTH) return anyType
    slots[index] = IN_PROGRESS
    this.depth++
    try {
      const t = this.computeNode(scope, index)
      slots[index] = t
      return t
    } finally {
      this.depth--
      if (slots[index] === IN_PROGRESS) slots[index] = undefined
    }
  }

  /** The type of an expression in a scope (undefined scope: nothing is bound). */
  typeOfExpr(root: Expr, scope: Scope | undefined, path?: PathRef, onError?: TypeErrorSink): Type {
    const stack: Array<Frame> = [makeFrame(root, path)]
    let result: Type = anyType
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!
      const child = top.children[top.next]
      if (child !== undefined) {
        top.next++
        stack.push(makeFrame(child[0], top.path?.child(...child[1])))
        continue
      }
      stack.pop()
      const typed = this.combine(top.expr, top.kids, scope)
      if (typed.error !== undefined && onError !== undefined && top.path !== undefined) {
        onError(typed.arg === undefined ? top.path : top.path.child("args", typed.arg), typed.error)
      }
      const parent = stack[stack.length - 1]
      if (parent === undefined) result = typed.type
      else parent.kids.push(typed.type)
    }
    return result
  }

  private combine(expr: Expr, kids: ReadonlyArray<Type>, scope: Scope | undefined): Typed {
    switch (expr.kind) {
      case "lit":
        return { type: typeOfScalar(expr.value) }
      case "ref": {
        const binding = scope?.lookup(expr.name)
        return { type: binding === undefined ? anyType : this.typeOfBinding(binding) }
      }
      case "get":
        return typeOfGet(kid(kids, 0), expr.field)
      case "index":
        return typeOfIndex(kid(kids, 0), kid(kids, 1), expr.index)
      case "slice": {
        let k = 1
        const start = expr.start === null ? undefined : kid(kids, k++)
        const end = expr.end === null ? undefined : kid(kids, k++)
        return typeOfSlice(kid(kids, 0), start, end)
      }
      case "unary":
        return typeOfUnary(expr.op, kid(kids, 0))
      case "binary":
        return typeOfBinary(expr.op, kid(kids, 0), kid(kids, 1))
      case "list":
        return { type: listOf(joinAll(kids)) }
      case "record": {
        // A repeated key keeps its last value.
        const fields = new Map<string, Type>()
        expr.entries.forEach((entry, i) => {
          fields.delete(entry.key)
          fields.set(entry.key, kid(kids, i))
        })
        return { type: recordOf([...fields].map(([name, type]) => ({ name, type }))) }
      }
      case "call": {
        if (!Object.hasOwn(BUILTIN_ARITY, expr.fn)) return { type: anyType }
        const typed = typeOfBuiltin(expr.fn, kids)
        const problem = expr.fn === "patched" && typed.error === undefined ? patchIdProblem(expr.args) : undefined
        return problem === undefined ? typed : { type: typed.type, error: problem, arg: 0 }
      }
    }
  }

  private typeOfBinder(body: Scope): Type {
    return this.memo(this.binderTypes, body, () => {
      const map = body.binderOf
      if (map === undefined) return anyType
      const over = this.typeOfExpr(map.over, body.parent)
      return over.kind === "list" ? over.of : anyType
    })
  }

  private computeNode(scope: Scope, index: number): Type {
    const node = scope.nodes[index]
    if (node === undefined) return anyType
    const resultOf = (slot: number): Type => {
      const child = scope.child(index, slot)
      return child === undefined ? anyType : this.typeOfExpr(child.body.result, child)
    }
    switch (node.kind) {
      case "tool":
        return this.toolOutput(node.tool)
      case "llm":
        return this.signatureOutput(node.signature)
      case "call":
        return this.resultOfProgram(node.program)
      case "map":
        return listOf(resultOf(0))
      case "branch":
        return join(resultOf(0), node.else === null ? nullType : resultOf(1))
      case "choose":
      case "race":
        return joinAll(node.options.map((_, i) => resultOf(i)))
      case "expr":
        return this.typeOfExpr(node.expr, scope)
      case "wait":
        return node.for !== undefined && node.signal === undefined ? nullType : node.answer ?? anyType
    }
  }

  private memo<K>(cache: Map<K, Slot>, key: K, compute: () => Type): Type {
    const cached = cache.get(key)
    if (cached === IN_PROGRESS) return anyType
    if (cached !== undefined) return cached
    if (this.depth >= MAX_INFER_DEPTH) return anyType
    cache.set(key, IN_PROGRESS)
    this.depth++
    try {
      const t = compute()
      cache.set(key, t)
      return t
    } finally {
      this.depth--
      if (cache.get(key) === IN_PROGRESS) cache.delete(key)
    }
  }
}
