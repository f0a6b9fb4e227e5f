/**
 * bad-demo: every demo of a signature gives a value for each input and each
 * output field of the signature, names no other field, and each value has
 * the field's type (an empty list fits any list type; `any` fits all).
 */
import type { JsonValue, SignatureField, Type } from "../../ir/schema.js"
import type { PathRef } from "../path.js"
import type { ValidationRule } from "../ruleContext.js"
import {
  anyType,
  booleanType,
  formatType,
  isAssignable,
  joinAll,
  listOf,
  nullType,
  numberType,
  recordOf,
  stringType
} from "../types.js"

/** The static type of a JSON value (a list's item type joins its items' types). */
export const typeOfJson = (value: JsonValue): Type => {
  if (value === null) return nullType
  if (typeof value === "string") return stringType
  if (typeof value === "number") return numberType
  if (typeof value === "boolean") return booleanType
  if (Array.isArray(value)) {
    return listOf(value.length === 0 ? anyType : joinAll((value as ReadonlyArray<JsonValue>).map(typeOfJson)))
  }
  return recordOf(
    Object.entries(value as { readonly [key: string]: JsonValue }).map(([name, v]) => ({ name, type: typeOfJson(v) }))
  )
}

/** bad-demo: a signature's demos give exactly its fields, each with a value of the field's type. */
export const DemosRule: ValidationRule = (ctx) => ({
  Signature: (e) => {
    const check = (
      side: "inputs" | "outputs",
      fields: ReadonlyArray<SignatureField>,
      values: { readonly [name: string]: JsonValue },
      at: PathRef
    ): void => {
      const what = side === "inputs" ? "input" : "output"
      const declared = new Map(fields.map((f) => [f.name, f.type] as const))
      for (const [name, value] of Object.entries(values)) {
        const type = declared.get(name)
        if (type === undefined) {
          ctx.report(
            "bad-demo",
            `Demo ${what} ${JSON.stringify(name)} is not an ${what} of signature ${JSON.stringify(e.name)}`,
            at.child(name)
          )
          continue
        }
        const actual = typeOfJson(value)
        if (!isAssignable(actual, type)) {
          ctx.report(
            "bad-demo",
            `Demo ${what} ${JSON.stringify(name)} of signature ${JSON.stringify(e.name)} expects ${
              formatType(type)
            }, got ${formatType(actual)}`,
            at.child(name)
          )
        }
      }
      for (const f of fields) {
        if (!Object.hasOwn(values, f.name)) {
          ctx.report(
            "bad-demo",
            `Demo is missing ${what} ${JSON.stringify(f.name)} of signature ${JSON.stringify(e.name)}`,
            at
          )
        }
      }
    }
    ;(e.signature.demos ?? []).forEach((demo, i) => {
      const at = e.path.child("demos", i)
      check("inputs", e.signature.inputs, demo.inputs, at.child("inputs"))
      check("outputs", e.signature.outputs, demo.outputs, at.child("outputs"))
    })
  }
})
