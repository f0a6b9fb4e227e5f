/**
 * A linter of the Prometheus text exposition format implementing the rules
 * `promtool check metrics` applies (no maintained npm linter exists): every
 * family has `# HELP` and `# TYPE` before its samples; sample names belong
 * to their family (`_bucket`/`_sum`/`_count` for histograms and summaries);
 * counters end in `_total`; histograms have an `le="+Inf"` bucket; no unit
 * in a label (`time_unit`, `unit`) and durations in base units (no `_ms`,
 * `_milliseconds`, `_microseconds` in names); and, across two scrapes,
 * counters never decrease.
 */

/** One problem found. */
export interface LintProblem {
  readonly metric: string
  readonly message: string
}

interface Family {
  help: boolean
  type: string | undefined
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/
const NON_BASE_UNITS = /_(milliseconds|microseconds|nanoseconds|ms|us|ns|minutes|hours|days|kilobytes|megabytes)(_|$)/

/** The families of a text and their samples: name -> series key -> value. */
export const samples = (text: string): Map<string, number> => {
  const out = new Map<string, number>()
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue
    const m = SAMPLE.exec(line)
    if (m !== null) out.set(`${m[1]}{${m[3] ?? ""}}`, Number(m[4] === "+Inf" ? Infinity : m[4]))
  }
  return out
}

/** The problems of one scrape. */
export const lint = (text: string): ReadonlyArray<LintProblem> => {
  const problems: Array<LintProblem> = []
  const families = new Map<string, Family>()
  const infSeen = new Set<string>()
  const bucketsSeen = new Set<string>()
  const familyOf = (sample: string): string | undefined => {
    if (families.has(sample)) return sample
    for (const suffix of ["_bucket", "_sum", "_count"]) {
      if (sample.endsWith(suffix)) {
        const base = sample.slice(0, -suffix.length)
        const f = families.get(base)
        if (f !== undefined && (f.type === "histogram" || f.type === "summary")) return base
      }
    }
    return undefined
  }
  for (const line of text.split("\n")) {
    if (line === "") continue
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line)
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line)
    if (help !== null) {
      const f = families.get(help[1]!) ?? { help: false, type: undefined }
      if (help[2]!.trim() === "") problems.push({ metric: help[1]!, message: "empty HELP text" })
      f.help = true
      families.set(help[1]!, f)
      continue
    }
    if (type !== null) {
      const f = families.get(type[1]!) ?? { help: false, type: undefined }
      if (f.type !== undefined) problems.push({ metric: type[1]!, message: "second TYPE line" })
      f.type = type[2]!
      families.set(type[1]!, f)
      const name = type[1]!
      if (!f.help) problems.push({ metric: name, message: "no HELP text" })
      if (f.type === "counter" && !name.endsWith("_total")) {
        problems.push({ metric: name, message: "counter metrics should have \"_total\" suffix" })
      }
      if (f.type !== "counter" && name.endsWith("_total")) {
        problems.push({ metric: name, message: "non-counter metrics should not have \"_total\" suffix" })
      }
      if (NON_BASE_UNITS.test(name)) {
        problems.push({ metric: name, message: "use base units (seconds, bytes) in the name" })
      }
      continue
    }
    if (line.startsWith("#")) continue
    const m = SAMPLE.exec(line)
    if (m === null) {
      problems.push({ metric: line.slice(0, 60), message: "unparseable line" })
      continue
    }
    const base = familyOf(m[1]!)
    if (base === undefined) {
      problems.push({ metric: m[1]!, message: "sample without a preceding TYPE of its family" })
      continue
    }
    const labels = m[3] ?? ""
    if (/(^|,)(time_unit|unit)="/.test(labels)) {
      problems.push({ metric: base, message: "a unit in a label: put it in the name" })
    }
    if (families.get(base)!.type === "histogram" && m[1]!.endsWith("_bucket")) {
      const series = `${base}{${labels.replace(/(^|,)le="[^"]*"/, "")}}`
      bucketsSeen.add(series)
      if (/(^|,)le="\+Inf"/.test(labels)) infSeen.add(series)
    }
    if (Number.isNaN(Number(m[4] === "+Inf" ? Infinity : m[4])) && m[4] !== "NaN") {
      problems.push({ metric: base, message: `bad value ${m[4]}` })
    }
  }
  for (const series of bucketsSeen) {
    if (!infSeen.has(series)) problems.push({ metric: series, message: "histogram without le=\"+Inf\"" })
  }
  return problems
}

/** Counter samples (and histogram `_count`/`_sum`) that went down between two scrapes. */
export const decreasedCounters = (before: string, after: string): ReadonlyArray<LintProblem> => {
  const counters = new Set<string>()
  for (const line of after.split("\n")) {
    const t = /^# TYPE (\S+) (counter|histogram)$/.exec(line)
    if (t !== null) counters.add(t[1]!)
  }
  const a = samples(before)
  const b = samples(after)
  const problems: Array<LintProblem> = []
  for (const [key, value] of a) {
    const name = key.slice(0, key.indexOf("{"))
    const family = counters.has(name) ? name : name.replace(/_(count|sum|bucket)$/, "")
    if (!counters.has(family)) continue
    const now = b.get(key)
    if (now !== undefined && now < value) {
      problems.push({ metric: key, message: `counter went down (${value} -> ${now})` })
    }
  }
  return problems
}
