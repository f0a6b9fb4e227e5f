import { defineConfig } from "vitest/config"

export default defineConfig({
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
