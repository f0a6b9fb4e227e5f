/**
 * Runs pinned to tool versions (issue 21). A run records the version of every tool its program calls
 * (`RunStarted.toolVersions`); resuming or replaying it with a tool whose version changed incompatibly is
 * refused, naming the tool and both versions, unless the caller allows it (`allowVersionChange`,
 * `--allow-version-change`). Incompatible: for semantic versions (`MAJOR.MINOR.PATCH`, optionally with a
 * pre-release or build suffix, or just `MAJOR` / `MAJOR.MINOR`) a different major version; for any other
 * version string, any change. A tool that is no longer registered is left to the run (it fails as unknown).
 * Pure.
 */
import type { ToolRegistry } from "../tools/registry.js"
import type { RunEvent } from "../trace/events.js"

/** The versions of `tools` in `registry`, by name in code-unit order (tools not registered are left out). */
export const versionsOf = (
  tools: Iterable<string>,
  registry: ToolRegistry["Type"]
): { readonly [tool: string]: string } => {
  const out: Record<string, string> = {}
  for (const name of [...tools].sort()) {
    const tool = registry.get(name)
    if (tool !== undefined) out[name] = tool.version
  }
  return out
}

const SEMVER = /^v?(\d+)(?:\.\d+){0,2}(?:[-+].*)?$/

/** Whether moving from `recorded` to `current` is an incompatible change (see the module's doc). */
export const incompatible = (recorded: string, current: string): boolean => {
  if (recorded === current) return false
  const a = SEMVER.exec(recorded)
  const b = SEMVER.exec(current)
  return a === null || b === null || Number(a[1]) !== Number(b[1])
}

/** One tool whose version changed incompatibly since a run was recorded. */
export interface VersionChange {
  readonly tool: string
  readonly recorded: string
  readonly current: string
}

/** The incompatible changes between a run's recorded tool versions (its `RunStarted`) and `registry`. */
export const versionChanges = (
  events: ReadonlyArray<RunEvent>,
  registry: ToolRegistry["Type"]
): ReadonlyArray<VersionChange> => {
  const first = events[0]
  if (first === undefined || first.type !== "RunStarted" || first.data.toolVersions === undefined) return []
  const out: Array<VersionChange> = []
  for (const [tool, recorded] of Object.entries(first.data.toolVersions)) {
    const current = registry.get(tool)?.version
    if (current !== undefined && incompatible(recorded, current)) out.push({ tool, recorded, current })
  }
  return out
}

/** Why a run may not continue with the tools of today (undefined: it may). */
export const versionRefusal = (runId: string, changes: ReadonlyArray<VersionChange>): string | undefined =>
  changes.length === 0 ?
    undefined :
    `run ${runId} was recorded with ${
      changes.map((c) => `tool "${c.tool}" version ${c.recorded}, which is now ${c.current}`).join("; ")
    } — an incompatible change (${
      changes.every((c) => SEMVER.test(c.recorded) && SEMVER.test(c.current))
        ? "the major version differs"
        : "the version changed and is not a semantic version"
    }); allow it to go on (--allow-version-change, or allowVersionChange: true)`
