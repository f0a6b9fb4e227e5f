/** Program documents a scripted planner model answers with: an invalid one (unknown tool, unbound ref) and a valid one. */
import { check } from "../../src/compile.js"
import { encodeProgram } from "../../src/ir/json.js"

const documentOf = (source: string): string => {
  const checked = check(source)
  if (checked.program === undefined) throw new Error(checked.diagnostics.map((d) => d.message).join("\n"))
  return encodeProgram(checked.program)
}

/** Calls a tool that does not exist and returns an unbound name (V4, V1). */
export const INVALID_PROGRAM = documentOf(`program main(name: string) {
  g = tool no.such.tool(value: name)
  return missing
}`)

/** A valid program for "greet someone loudly". */
export const VALID_PROGRAM = documentOf(`program main(name: string = "world") {
  g = tool std.echo(value: concat("hello, ", name))
  return upper(g)
}`)
