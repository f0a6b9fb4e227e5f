/**
 * The images OCR reads: PNG and JPEG, recognized by their signature and checked before a backend sees them (a
 * corrupt image is an `OcrError`, not a crash of the OCR engine): a PNG's chunks must be whole with valid CRCs,
 * from IHDR to IEND with image data between; a JPEG must start with SOI and have a frame header (its size) and
 * scan data. The size in pixels comes from the header; the resolution from PNG's `pHYs` chunk or JPEG's JFIF
 * density when they give one.
 */
import { crc32 } from "node:zlib"
import { OcrError } from "./errors.js"

/** An image ready for a backend. */
export interface OcrImage {
  readonly bytes: Uint8Array
  readonly format: "png" | "jpeg"
  readonly width: number
  readonly height: number
  /** Dots per inch the file records, if any. */
  readonly dpi: number | undefined
}

/** The most pixels an image may have (a guard against decompression bombs). */
export const MAX_PIXELS = 60_000_000

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

const bad = (message: string, location?: string) =>
  new OcrError({ reason: "bad-image", message, ...(location === undefined ? {} : { location }) })

/** Whether the bytes start with the PNG signature. */
export const isPng = (bytes: Uint8Array): boolean => PNG_SIGNATURE.every((b, i) => bytes[i] === b)

/** Whether the bytes start with a JPEG SOI marker. */
export const isJpeg = (bytes: Uint8Array): boolean => bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff

const checkSize = (width: number, height: number, location?: string): OcrError | undefined => {
  if (width <= 0 || height <= 0) return bad(`the image has no pixels (${width} × ${height})`, location)
  if (width * height > MAX_PIXELS) {
    return bad(`the image is too large: ${width} × ${height} pixels (at most ${MAX_PIXELS})`, location)
  }
  return undefined
}

/** Reads and checks a PNG. */
const readPng = (bytes: Uint8Array, location?: string): OcrImage | OcrError => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let offset = 8
  let width = 0
  let height = 0
  let dpi: number | undefined
  let sawData = false
  let first = true
  while (offset + 12 <= bytes.length) {
    const length = view.getUint32(offset)
    const type = Buffer.from(bytes.subarray(offset + 4, offset + 8)).toString("latin1")
    const end = offset + 12 + length
    if (end > bytes.length) {
      return bad(`the PNG is truncated: chunk ${type} at byte ${offset} runs past the end`, location)
    }
    const crc = view.getUint32(offset + 8 + length)
    if (crc32(bytes.subarray(offset + 4, offset + 8 + length)) !== crc) {
      return bad(`the PNG is corrupt: chunk ${type} at byte ${offset} fails its CRC`, location)
    }
    if (first && type !== "IHDR") return bad("the PNG is corrupt: it does not start with an IHDR chunk", location)
    first = false
    if (type === "IHDR") {
      if (length < 8) return bad("the PNG is corrupt: IHDR is too short", location)
      width = view.getUint32(offset + 8)
      height = view.getUint32(offset + 12)
    } else if (type === "pHYs" && length >= 9 && bytes[offset + 16] === 1) {
      // Pixels per metre → per inch.
      dpi = Math.round(view.getUint32(offset + 8) * 0.0254)
    } else if (type === "IDAT") {
      sawData = true
    } else if (type === "IEND") {
      if (!sawData) return bad("the PNG is corrupt: it has no image data", location)
      const size = checkSize(width, height, location)
      return size ?? { bytes, format: "png", width, height, dpi: dpi !== undefined && dpi > 0 ? dpi : undefined }
    }
    offset = end
  }
  return bad("the PNG is truncated: it has no IEND chunk", location)
}

/** Reads and checks a JPEG's markers up to the start of its scan. */
const readJpeg = (bytes: Uint8Array, location?: string): OcrImage | OcrError => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let offset = 2
  let width = 0
  let height = 0
  let dpi: number | undefined
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) return bad(`the JPEG is corrupt: no marker at byte ${offset}`, location)
    const marker = bytes[offset + 1]!
    if (marker === 0xff) {
      offset += 1
      continue
    }
    const length = view.getUint16(offset + 2)
    if (length < 2 || offset + 2 + length > bytes.length) {
      return bad(`the JPEG is truncated: segment at byte ${offset} runs past the end`, location)
    }
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
    if (isFrame && length >= 7) {
      height = view.getUint16(offset + 5)
      width = view.getUint16(offset + 7)
    } else if (
      marker === 0xe0 && length >= 14 &&
      Buffer.from(bytes.subarray(offset + 4, offset + 9)).toString("latin1") === "JFIF\0"
    ) {
      const units = bytes[offset + 11]
      const density = view.getUint16(offset + 12)
      if (units === 1) dpi = density
      else if (units === 2) dpi = Math.round(density * 2.54)
    } else if (marker === 0xda) {
      if (width === 0 && height === 0) return bad("the JPEG is corrupt: no frame header before its scan", location)
      if (offset + 2 + length >= bytes.length) return bad("the JPEG is truncated: no scan data", location)
      const size = checkSize(width, height, location)
      return size ?? { bytes, format: "jpeg", width, height, dpi: dpi !== undefined && dpi > 0 ? dpi : undefined }
    }
    offset += 2 + length
  }
  return bad("the JPEG is truncated: it ends before its scan", location)
}

/** Checks an image and reads its size: PNG or JPEG, else a `bad-image` error naming what was found. */
export const readImage = (bytes: Uint8Array, location?: string): OcrImage | OcrError => {
  if (bytes.length === 0) return bad("the image is empty", location)
  if (isPng(bytes)) return readPng(bytes, location)
  if (isJpeg(bytes)) return readJpeg(bytes, location)
  return bad("not a PNG or JPEG image (convert other formats to PNG first)", location)
}
