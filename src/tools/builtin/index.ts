/** The built-in tools, registered by `ToolRegistry.layerBuiltins` and `layerWith`. */
import type { AnyTool } from "../tool.js"
import { calibrate } from "./calibrate.js"
import { echo } from "./echo.js"
import { fail } from "./fail.js"
import { httpGet } from "./httpGet.js"
import { jsonParse } from "./jsonParse.js"
import { sleep } from "./sleep.js"
import { textChunk } from "./textChunk.js"
import { textHash } from "./textHash.js"

export { calibrate, echo, fail, httpGet, jsonParse, sleep, textChunk, textHash }

/** Every built-in tool, in a fixed order. */
export const builtinTools: ReadonlyArray<AnyTool> = [
  echo,
  sleep,
  fail,
  httpGet,
  textChunk,
  textHash,
  jsonParse,
  calibrate
]
