/**
 * V4 unknown-tool, bad-args: with a tool table, every tool step names a
 * known tool and its arguments match the tool's inputs (no missing
 * required argument, no unknown name, no literal of the wrong type).
 * Without a tool table this rule is skipped.
 */
import { calleeName, checkArgs } from "../args.js"
import type { ValidationRule } from "../ruleContext.js"

/** V4 unknown-tool, bad-args: tools exist and their arguments match their inputs. */
export const KnownToolsRule: ValidationRule = (ctx) => {
  const tools = ctx.tools
  if (tools === undefined) return {}
  return {
    Node: (e) => {
      if (e.node.kind !== "tool") return
      const spec = tools.get(e.node.tool)
      if (spec === undefined) {
        ctx.report("unknown-tool", `Unknown tool ${JSON.stringify(e.node.tool)}`, e.path.child("tool"))
        return
      }
      checkArgs(ctx, "bad-args", calleeName("tool", e.node.tool), e.node.args, spec.input, e.path)
    }
  }
}
