/**
 * Lexical scopes of a program document. A scope is a program's top level
 * (its params and nodes) or a nested body (a map, branch or choose body;
 * a map body also binds its binder). Scopes are created on demand and
 * shared by the walker and the type inference, so each body is analysed
 * once however often it is reached.
 */
import type { Body, MapNode, Node, Param, ProgramDef } from "../ir/schema.js"
import { PathRef } from "./path.js"

/** What a name resolves to. */
export type Binding =
  | { readonly kind: "param"; readonly scope: Scope; readonly param: Param; readonly index: number }
  | { readonly kind: "node"; readonly scope: Scope; readonly node: Node; readonly index: number }
  | { readonly kind: "binder"; readonly scope: Scope; readonly node: MapNode }

/** A scope: the nodes of one body (plus params or a binder) and its place in the tree. */
export class Scope {
  /** Names bound here (the first binding of a name wins; V3 reports the rest). */
  readonly bindings: ReadonlyMap<string, Binding>
  /** Nesting depth: 0 for a program's top level, +1 per nested body. */
  readonly level: number
  /** The first node of each id (a param or binder may hide a node in `bindings`). */
  private readonly nodeIndex = new Map<string, number>()
  private readonly children = new Map<string, Scope>()

  constructor(
    /** The program this scope belongs to. */
    readonly program: string,
    /** The enclosing scope, or undefined at a program's top level. */
    readonly parent: Scope | undefined,
    /** The body (or program definition) whose nodes this scope binds. */
    readonly body: Body | ProgramDef,
    /** Where the body is in the IR document. */
    readonly path: PathRef,
    /** The map node when this is a map body (its binder is bound here). */
    readonly binderOf: MapNode | undefined,
    /** Program params when this is a program's top level. */
    readonly params: ReadonlyArray<Param>
  ) {
    this.level = parent === undefined ? 0 : parent.level + 1
    const bindings = new Map<string, Binding>()
    params.forEach((param, index) => {
      if (!bindings.has(param.name)) bindings.set(param.name, { kind: "param", scope: this, param, index })
    })
    if (binderOf !== undefined) bindings.set(binderOf.as, { kind: "binder", scope: this, node: binderOf })
    body.nodes.forEach((node, index) => {
      if (!this.nodeIndex.has(node.id)) this.nodeIndex.set(node.id, index)
      if (!bindings.has(node.id)) bindings.set(node.id, { kind: "node", scope: this, node, index })
    })
    this.bindings = bindings
  }

  /** The nodes of this scope. */
  get nodes(): ReadonlyArray<Node> {
    return this.body.nodes
  }

  /** Resolves a name lexically: this scope first, then the enclosing ones (O(nesting depth)). */
  lookup(name: string): Binding | undefined {
    for (let s: Scope | undefined = this; s !== undefined; s = s.parent) {
      const b = s.bindings.get(name)
      if (b !== undefined) return b
    }
    return undefined
  }

  /** The node of this scope with the given id, ignoring enclosing scopes. */
  sibling(name: string): (Binding & { readonly kind: "node" }) | undefined {
    const b = this.bindings.get(name)
    if (b !== undefined && b.kind === "node") return b
    // A param or binder may hide a node of the same name (a V3 duplicate).
    const index = this.nodeIndex.get(name)
    const node = index === undefined ? undefined : this.body.nodes[index]
    return node === undefined || index === undefined ? undefined : { kind: "node", scope: this, node, index }
  }

  /**
   * The scope of a nested body of the node at `index`: slot 0 is a map's
   * body or a branch's `then`, 1 a branch's `else`, i a choose's option i.
   * Returns undefined when the node has no such body.
   */
  child(index: number, slot: number): Scope | undefined {
    const key = `${index}/${slot}`
    const cached = this.children.get(key)
    if (cached !== undefined) return cached
    const node = this.body.nodes[index]
    if (node === undefined) return undefined
    const nodePath = this.path.child("nodes", index)
    let made: Scope | undefined
    switch (node.kind) {
      case "map":
        if (slot === 0) made = new Scope(this.program, this, node.body, nodePath.child("body"), node, [])
        break
      case "branch":
        if (slot === 0) made = new Scope(this.program, this, node.then, nodePath.child("then"), undefined, [])
        else if (slot === 1 && node.else !== null) {
          made = new Scope(this.program, this, node.else, nodePath.child("else"), undefined, [])
        }
        break
      case "choose":
      case "race": {
        const option = node.options[slot]
        if (option !== undefined) {
          made = new Scope(this.program, this, option.body, nodePath.child("options", slot, "body"), undefined, [])
        }
        break
      }
      case "tool":
      case "llm":
      case "call":
      case "expr":
      case "wait":
        break
    }
    if (made !== undefined) this.children.set(key, made)
    return made
  }

  /** How many body slots the node at `index` has (see `child`). */
  slotCount(index: number): number {
    const node = this.body.nodes[index]
    if (node === undefined) return 0
    switch (node.kind) {
      case "map":
        return 1
      case "branch":
        return node.else === null ? 1 : 2
      case "choose":
      case "race":
        return node.options.length
      case "tool":
      case "llm":
      case "call":
      case "expr":
      case "wait":
        return 0
    }
  }
}

/** The top-level scopes of a document's programs, created once each. */
export class ScopeTree {
  private readonly tops = new Map<string, Scope>()

  constructor(private readonly programs: { readonly [name: string]: ProgramDef }) {}

  /** The top-level scope of a program, or undefined when there is no such program. */
  top(name: string): Scope | undefined {
    const cached = this.tops.get(name)
    if (cached !== undefined) return cached
    if (!Object.hasOwn(this.programs, name)) return undefined
    const def = this.programs[name]!
    const scope = new Scope(name, undefined, def, PathRef.root.child("programs", name), undefined, def.params)
    this.tops.set(name, scope)
    return scope
  }
}
