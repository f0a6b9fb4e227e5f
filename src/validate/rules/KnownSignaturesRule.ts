/**
 * V5 unknown-signature, bad-signature-args: every llm step names a
 * signature of the document and its arguments match the signature's
 * inputs (all required; no unknown name; no literal of the wrong type).
 */
import { calleeName, checkArgs } from "../args.js"
import type { ValidationRule } from "../ruleContext.js"

/** V5 unknown-signature, bad-signature-args: llm steps name a signature and match its inputs. */
export const KnownSignaturesRule: ValidationRule = (ctx) => ({
  Node: (e) => {
    if (e.node.kind !== "llm") return
    const { signature } = e.node
    if (!Object.hasOwn(ctx.document.signatures, signature)) {
      ctx.report("unknown-signature", `Unknown signature ${JSON.stringify(signature)}`, e.path.child("signature"))
      return
    }
    const inputs = ctx.document.signatures[signature]!.inputs.map((f) => ({
      name: f.name,
      type: f.type,
      optional: false
    }))
    checkArgs(ctx, "bad-signature-args", calleeName("signature", signature), e.node.args, inputs, e.path)
  }
})
