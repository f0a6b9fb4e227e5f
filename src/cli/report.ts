/** Renders diagnostics the way compilers do: `file:line:col code message`. */
import type { Diagnostic } from "../compile.js"
import { pathToPointer } from "../ir/diagnostic.js"

/** One diagnostic as `file:line:col code message`, plus its caret excerpt when `excerpt` is set. */
const formatDiagnostic = (file: string, d: Diagnostic, options: { readonly excerpt?: boolean } = {}): string => {
  const where = d.span === undefined ? `${file}` : `${file}:${d.span.start.line}:${d.span.start.column}`
  const at = d.span === undefined && d.path !== undefined && d.path.length > 0 ? ` (at ${pathToPointer(d.path)})` : ""
  const head = `${where} ${d.code} ${d.message}${at}`
  return options.excerpt === true && d.excerpt !== undefined ? `${head}\n${d.excerpt}` : head
}

/** All diagnostics of a file, one per line (with excerpts when asked). */
export const formatDiagnostics = (
  file: string,
  diagnostics: ReadonlyArray<Diagnostic>,
  options: { readonly excerpt?: boolean } = {}
): string => diagnostics.map((d) => formatDiagnostic(file, d, options)).join("\n")
