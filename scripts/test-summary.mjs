// Prints vitest's JSON report as one plain line: "N passed, N failed, N skipped".
import { readFileSync } from "node:fs"

const file = process.argv[2] ?? "test-results/vitest.json"
let report
try {
  report = JSON.parse(readFileSync(file, "utf8"))
} catch (e) {
  console.log(`0 passed, 1 failed`)
  console.error(`no test report at ${file}: ${e.message}`)
  process.exit(1)
}
const passed = report.numPassedTests ?? 0
// A file that fails to load has no failing test of its own: count it as one failure.
const brokenFiles = (report.testResults ?? []).filter(
  (r) => r.status === "failed" && !(r.assertionResults ?? []).some((a) => a.status === "failed")
).length
const failed = (report.numFailedTests ?? 0) + brokenFiles
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0)
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`)
process.exit(failed > 0 || passed === 0 ? 1 : 0)
