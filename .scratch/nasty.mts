import { Effect } from "effect"
import * as Runtime from "../src/runtime/runtime.js"
import { compile } from "../src/compile.js"
const c = compile(`program main(v: string) { x = tool std.echo(value: v) with { idempotencyKey: v } return x }`)
const NASTY = "a\u0000b\ud800c\udfffd\u0001e\\u0000f"
const r = await Effect.runPromise(Effect.either(Runtime.run((c as any).program, { v: NASTY }, {}).pipe(Effect.provide(Runtime.layerMemory))))
console.log(JSON.stringify(r).slice(0, 500))
