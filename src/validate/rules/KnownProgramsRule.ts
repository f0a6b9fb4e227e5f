/**
 * V5 unknown-program, bad-args, bad-entry: the entry is a program of the
 * document; every `run` step names a program of the document and its
 * arguments match that program's params (a param with a default is
 * optional).
 */
import { calleeName, checkArgs } from "../args.js"
import { PathRef } from "../path.js"
import type { ValidationRule } from "../ruleContext.js"

/** V5 unknown-program, bad-args, bad-entry: the entry and every called program exist; call args match params. */
export const KnownProgramsRule: ValidationRule = (ctx) => ({
  Document: (e) => {
    if (!Object.hasOwn(e.program.programs, e.program.entry)) {
      ctx.report("bad-entry", `Entry ${JSON.stringify(e.program.entry)} is not a program`, PathRef.root.child("entry"))
    }
  },
  Node: (e) => {
    if (e.node.kind !== "call") return
    const callee = e.node.program
    if (!Object.hasOwn(ctx.document.programs, callee)) {
      ctx.report("unknown-program", `Unknown program ${JSON.stringify(callee)}`, e.path.child("program"))
      return
    }
    const inputs = ctx.document.programs[callee]!.params.map((p) => ({
      name: p.name,
      type: p.type,
      optional: p.default !== undefined
    }))
    checkArgs(ctx, "bad-args", calleeName("program", callee), e.node.args, inputs, e.path)
  }
})
