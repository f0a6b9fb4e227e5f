import { it } from "vitest"
import { lex, parse, lower } from "../../src/language/index.js"
import { kitchenSink } from "../support/language.js"
it("bench", () => {
  const big = Array.from({ length: 2000 }, (_, i) => kitchenSink.replace(/program (\w+)/g, `program $1_${i}`).replace(/signature (\w+)/g, `signature $1_${i}`)).join("\n")
  let t = performance.now()
  const lx = lex(big); console.log("lex", (performance.now() - t).toFixed(0), lx.count)
  t = performance.now()
  const p = parse(big); console.log("parse", (performance.now() - t).toFixed(0))
  t = performance.now()
  lower(p.file!); console.log("lower", (performance.now() - t).toFixed(0))
})
