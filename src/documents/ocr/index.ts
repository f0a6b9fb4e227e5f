/** OCR (issue 23): the `Ocr` service, its backends, the result shape, the `doc.ocr` tool. */
export {
  DEFAULT_DPI,
  hasTextLayer,
  isPdf,
  MAX_DPI,
  MIN_DPI,
  pageCount,
  RenderError,
  RenderErrorReason,
  renderPage
} from "../render.js"
export type { RenderedPage, RenderOptions } from "../render.js"
export type { OcrBackend, OcrMode, OcrOptions, RawBlock, RawLine, RawWord } from "./backend.js"
export { OcrError, OcrErrorReason } from "./errors.js"
export { readImage } from "./image.js"
export type { OcrImage } from "./image.js"
export { Box, OcrBlock, OcrLine, OcrResult, OcrSource, OcrWord } from "./result.js"
export { assemble, layer, layerTesseract, make, Ocr, ocrCacheTtl } from "./service.js"
export type { OcrInput, OcrServiceOptions, PageSelection, RecognizeOptions } from "./service.js"
export { terminateTesseract, tesseractBackend, tesseractReady } from "./tesseract.js"
export { makeOcrTool, OcrToolInput } from "./tool.js"
export { layerVision, VISION_PROMPT, VisionAnswer, visionBackend } from "./vision.js"
export type { VisionOptions } from "./vision.js"
