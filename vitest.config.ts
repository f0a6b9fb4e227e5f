import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

/**
 * Three projects (docs/testing.md): `unit` (pure and in-process tests), `integration` (tests that start a process,
 * a database, a browser or an HTTP server: `*.integration.test.ts`) and `laws` (property laws, case counts from
 * laws/settings.ts). `vitest run` runs all three; `--project <name>` runs one.
 */
export default defineConfig({
  // In this repository `import ... from "trellis"` means the sources (as in tsconfig.json's `paths`), not dist/lib.
  resolve: { alias: [{ find: /^trellis$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) }] },
  test: {
    passWithNoTests: false,
    // WebAssembly on V8's baseline compiler in every test process and every process the tests start (PGlite opens
    // cheaper); then one pristine PGlite data directory per run, which every new PGlite store of the tests starts from.
    globalSetup: ["test/support/wasmTier.ts", "test/support/pgliteTemplate.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two test files at a time: vitest's default on a 2-core machine is one (cores - 1), yet most of the
    // suite's time is spent waiting on child processes, sockets and databases, not on the CPU.
    maxWorkers: 2,
    minWorkers: 1,
    // The JSON report lets .ci/run print the plain "N passed, N failed" line (scripts/test-summary.mjs).
    reporters: ["default", "json"],
    outputFile: { json: "test-results/vitest.json" },
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/**/*.integration.test.ts"],
          // Unit tests hold no process-wide state: one module graph per worker thread instead of one per file
          // (re-importing effect for each of ~80 files was two thirds of the project's time).
          pool: "threads",
          isolate: false
        }
      },
      { extends: true, test: { name: "integration", include: ["test/**/*.integration.test.ts"] } },
      // A law runs hundreds of generated cases in one test: more time than a unit test, on a loaded machine too.
      { extends: true, test: { name: "laws", include: ["laws/**/*.test.ts"], testTimeout: 300_000 } }
    ]
  }
})
