/**
 * `Program`: everything a library user does with a program before running
 * it — read it from DSL text or JSON, build it in TypeScript, check it,
 * normalize and hash it, print it back, tokenize it.
 */
export { check, compile, detectFormat } from "./compile.js"
export * as build from "./ir/builder.js"
export { decodeProgram, encodeProgram, parseProgramJson } from "./ir/json.js"
export { programJsonSchema } from "./ir/jsonSchema.js"
export { IR_VERSION, Program as Schema } from "./ir/schema.js"
export { fromTokens, textToTokens, tokensToText, toTokens } from "./ir/tokenSerialization.js"
export { compileSource, format, parse, print } from "./language/index.js"
export { canonicalForm, hashNormalized, hashProgram, normalize } from "./normalize/index.js"
export { toolSpecFromSchemas } from "./validate/context.js"
export { validate } from "./validate/index.js"
