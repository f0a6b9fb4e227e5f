import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

export default defineConfig({
  // In this repository `import ... from "trellis"` means the sources (as in tsconfig.json's `paths`), not dist/lib.
  resolve: { alias: [{ find: /^trellis$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) }] },
  test: {
    include: ["test/**/*.test.ts", "laws/**/*.test.ts"],
    passWithNoTests: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two test files at a time: vitest's default on a 2-core machine is one (cores - 1), yet most of the
    // suite's time is spent waiting on child processes, sockets and databases, not on the CPU.
    maxWorkers: 2,
    minWorkers: 1,
    // The JSON report lets .ci/run print the plain "N passed, N failed" line.
    reporters: ["default", "json"],
    outputFile: { json: "test-results/vitest.json" }
  }
})
