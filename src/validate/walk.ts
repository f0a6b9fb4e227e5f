/**
 * The single pass over a document. An explicit stack (never recursion)
 * visits, in document order: signatures, then each program's params (and
 * their defaults), then its scopes depth-first — each node, its root
 * expressions and their subexpressions, its `after` names, its nested
 * bodies — and each body's result last. Every event is dispatched to every
 * rule's visitor in rule order.
 */
import type { Expr, Node, Program } from "../ir/schema.js"
import { PathRef } from "./path.js"
import type { Binding, Scope, ScopeTree } from "./scope.js"
import type {
  AfterEvent,
  BodyEvent,
  DocumentEvent,
  ExprEvent,
  ExprRole,
  Handler,
  NodeEvent,
  ParamEvent,
  ProgramEvent,
  SignatureEvent,
  Visitor
} from "./visitor.js"

type Item =
  | { readonly t: "program"; readonly name: string }
  | { readonly t: "program-leave"; readonly event: ProgramEvent }
  | { readonly t: "param"; readonly event: ParamEvent }
  | { readonly t: "param-leave"; readonly event: ParamEvent }
  | { readonly t: "body"; readonly scope: Scope }
  | { readonly t: "body-leave"; readonly event: BodyEvent }
  | { readonly t: "node"; readonly scope: Scope; readonly index: number }
  | { readonly t: "node-leave"; readonly event: NodeEvent }
  | { readonly t: "expr"; readonly event: ExprEvent }
  | { readonly t: "after"; readonly event: AfterEvent }

interface Listeners<E> {
  readonly enter: ReadonlyArray<(event: E) => void>
  readonly leave: ReadonlyArray<(event: E) => void>
}

const listeners = <E>(handlers: ReadonlyArray<Handler<E> | undefined>): Listeners<E> => {
  const enter: Array<(event: E) => void> = []
  const leave: Array<(event: E) => void> = []
  for (const h of handlers) {
    if (h === undefined) continue
    if (typeof h === "function") enter.push(h)
    else {
      if (h.enter !== undefined) enter.push(h.enter)
      if (h.leave !== undefined) leave.push(h.leave)
    }
  }
  return { enter, leave }
}

const emit = <E>(fns: ReadonlyArray<(event: E) => void>, event: E): void => {
  for (const fn of fns) fn(event)
}

/** The walker's position: the innermost scope and, per nesting level, the node being visited. */
export class Walker {
  private current: Scope | undefined = undefined
  private readonly owners: Array<{ scope: Scope; node: number | undefined }> = []

  constructor(
    private readonly program: Program,
    private readonly scopes: ScopeTree
  ) {}

  /** Lexical resolution at the current position. */
  resolve(name: string): Binding | undefined {
    return this.current?.lookup(name)
  }

  /** The node of `scope` enclosing the current position. */
  ownerIn(scope: Scope): number | undefined {
    const frame = this.owners[scope.level]
    return frame !== undefined && frame.scope === scope ? frame.node : undefined
  }

  /** Runs the pass, dispatching to the visitors until done or `stop()` says so. */
  run(visitors: ReadonlyArray<Visitor>, stop: () => boolean): void {
    const on = {
      Document: listeners<DocumentEvent>(visitors.map((v) => v.Document)),
      Program: listeners<ProgramEvent>(visitors.map((v) => v.Program)),
      Signature: listeners<SignatureEvent>(visitors.map((v) => v.Signature)),
      Param: listeners<ParamEvent>(visitors.map((v) => v.Param)),
      Body: listeners<BodyEvent>(visitors.map((v) => v.Body)),
      Node: listeners<NodeEvent>(visitors.map((v) => v.Node)),
      Expr: listeners<ExprEvent>(visitors.map((v) => v.Expr)),
      After: listeners<AfterEvent>(visitors.map((v) => v.After))
    }
    const document: DocumentEvent = { program: this.program }
    emit(on.Document.enter, document)
    const signatures = PathRef.root.child("signatures")
    for (const name of Object.keys(this.program.signatures)) {
      if (stop()) return
      const signature = this.program.signatures[name]!
      const event: SignatureEvent = { name, signature, path: signatures.child(name) }
      emit(on.Signature.enter, event)
      emit(on.Signature.leave, event)
    }
    const stack: Array<Item> = Object.keys(this.program.programs)
      .reverse()
      .map((name) => ({ t: "program", name }))
    const wantsExprs = on.Expr.enter.length > 0
    const pushExpr = (expr: Expr, role: ExprRole, path: PathRef) => {
      if (wantsExprs) stack.push({ t: "expr", event: { expr, role, path } })
    }
    while (stack.length > 0 && !stop()) {
      const item = stack.pop()!
      switch (item.t) {
        case "program": {
          const scope = this.scopes.top(item.name)
          if (scope === undefined) break
          const event: ProgramEvent = {
            name: item.name,
            def: this.program.programs[item.name]!,
            scope,
            path: scope.path
          }
          this.current = undefined
          this.owners.length = 0
          emit(on.Program.enter, event)
          stack.push({ t: "program-leave", event }, { t: "body", scope })
          for (let i = event.def.params.length - 1; i >= 0; i--) {
            const param = event.def.params[i]!
            stack.push({ t: "param", event: { param, index: i, scope, path: scope.path.child("params", i) } })
          }
          break
        }
        case "program-leave":
          this.current = undefined
          emit(on.Program.leave, item.event)
          break
        case "param":
          emit(on.Param.enter, item.event)
          stack.push({ t: "param-leave", event: item.event })
          if (item.event.param.default !== undefined) {
            pushExpr(item.event.param.default, "default", item.event.path.child("default"))
          }
          break
        case "param-leave":
          emit(on.Param.leave, item.event)
          break
        case "body": {
          const scope = item.scope
          this.current = scope
          this.owners.length = scope.level
          this.owners.push({ scope, node: undefined })
          const event: BodyEvent = { scope }
          emit(on.Body.enter, event)
          stack.push({ t: "body-leave", event })
          pushExpr(scope.body.result, "result", scope.path.child("result"))
          for (let i = scope.nodes.length - 1; i >= 0; i--) stack.push({ t: "node", scope, index: i })
          break
        }
        case "body-leave": {
          const scope = item.event.scope
          emit(on.Body.leave, item.event)
          this.current = scope.parent
          this.owners.length = scope.level
          break
        }
        case "node": {
          const { scope, index } = item
          const node = scope.nodes[index]!
          const frame = this.owners[scope.level]
          if (frame !== undefined) frame.node = index
          const event: NodeEvent = { node, index, scope, path: scope.path.child("nodes", index) }
          emit(on.Node.enter, event)
          stack.push({ t: "node-leave", event })
          this.pushChildren(stack, event, wantsExprs)
          break
        }
        case "node-leave": {
          emit(on.Node.leave, item.event)
          const frame = this.owners[item.event.scope.level]
          if (frame !== undefined) frame.node = undefined
          break
        }
        case "expr": {
          const { expr, path } = item.event
          emit(on.Expr.enter, item.event)
          this.pushSubexpressions(stack, expr, path)
          break
        }
        case "after":
          emit(on.After.enter, item.event)
          emit(on.After.leave, item.event)
          break
      }
    }
    if (!stop()) emit(on.Document.leave, document)
  }

  /** Pushes (in reverse, so they pop in order) what a node contains. */
  private pushChildren(stack: Array<Item>, event: NodeEvent, wantsExprs: boolean): void {
    const { node, index, scope, path } = event
    // Built in visiting order, pushed reversed.
    const items: Array<Item> = []
    const expr = (e: Expr, role: ExprRole, at: PathRef): void => {
      if (wantsExprs) items.push({ t: "expr", event: { expr: e, role, path: at } })
    }
    const body = (slot: number): void => {
      const child = scope.child(index, slot)
      if (child !== undefined) items.push({ t: "body", scope: child })
    }
    const policy = (n: Node): void => {
      if (n.policy === undefined) return
      const at = path.child("policy")
      if (n.policy.idempotencyKey !== undefined) {
        expr(n.policy.idempotencyKey, "idempotencyKey", at.child("idempotencyKey"))
      }
      const after = n.policy.after ?? []
      for (let i = 0; i < after.length; i++) {
        items.push({
          t: "after",
          event: { name: after[i]!, node: n, nodeIndex: index, scope, path: at.child("after", i) }
        })
      }
    }
    switch (node.kind) {
      case "tool":
      case "llm":
      case "call":
        for (const key of Object.keys(node.args)) expr(node.args[key]!, "arg", path.child("args", key))
        policy(node)
        break
      case "map":
        expr(node.over, "over", path.child("over"))
        policy(node)
        body(0)
        break
      case "branch":
        expr(node.cond, "cond", path.child("cond"))
        body(0)
        if (node.else !== null) body(1)
        policy(node)
        break
      case "choose":
      case "race":
        policy(node)
        for (let i = 0; i < node.options.length; i++) body(i)
        break
      case "expr":
        expr(node.expr, "expr", path.child("expr"))
        policy(node)
        break
      case "wait":
        if (node.payload !== undefined) expr(node.payload, "payload", path.child("payload"))
        policy(node)
        break
    }
    for (let i = items.length - 1; i >= 0; i--) stack.push(items[i]!)
  }

  private pushSubexpressions(stack: Array<Item>, expr: Expr, path: PathRef): void {
    switch (expr.kind) {
      case "lit":
      case "ref":
        break
      case "get":
        stack.push(inner(expr.target, path.child("target")))
        break
      case "index":
        stack.push(inner(expr.index, path.child("index")), inner(expr.target, path.child("target")))
        break
      case "slice":
        if (expr.end !== null) stack.push(inner(expr.end, path.child("end")))
        if (expr.start !== null) stack.push(inner(expr.start, path.child("start")))
        stack.push(inner(expr.target, path.child("target")))
        break
      case "unary":
        stack.push(inner(expr.arg, path.child("arg")))
        break
      case "binary":
        stack.push(inner(expr.right, path.child("right")), inner(expr.left, path.child("left")))
        break
      case "list":
        for (let i = expr.items.length - 1; i >= 0; i--) stack.push(inner(expr.items[i]!, path.child("items", i)))
        break
      case "record":
        for (let i = expr.entries.length - 1; i >= 0; i--) {
          stack.push(inner(expr.entries[i]!.value, path.child("entries", i, "value")))
        }
        break
      case "call":
        for (let i = expr.args.length - 1; i >= 0; i--) stack.push(inner(expr.args[i]!, path.child("args", i)))
        break
    }
  }
}

const inner = (expr: Expr, path: PathRef): Item => ({ t: "expr", event: { expr, role: "inner", path } })
