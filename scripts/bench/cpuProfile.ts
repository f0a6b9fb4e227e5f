/**
 * A CPU profile of this process's main thread (node:inspector) while a
 * piece of work runs, summarized as self time per area: Effect's fiber
 * runtime, the HTTP stack, the SQL client, GC, Trellis modules by folder…
 * (the PGlite worker thread is not in it: its time shows as the commit
 * latencies of the breakdown).
 */
import * as Inspector from "node:inspector"

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string }
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const post = <T>(session: Inspector.Session, method: string, params?: object) =>
  new Promise<T>((resolve, reject) =>
    session.post(method, params ?? {}, (err, res) => (err === null ? resolve(res as T) : reject(err)))
  )

/** The area a frame belongs to. */
const areaOf = (frame: ProfileNode["callFrame"]): string => {
  const url = frame.url
  if (url === "") {
    if (frame.functionName === "(garbage collector)") return "GC"
    if (frame.functionName === "(idle)") return "(idle)"
    if (frame.functionName === "(program)") return "(program: V8 itself)"
    return `native: ${frame.functionName}`
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (nm !== null) return nm[1] === "effect" ? "effect (fiber runtime, streams)" : nm[1]!
  const src = /\/(src|scripts)\/([^/]+)/.exec(url)
  if (src !== null) return `trellis ${src[1]}/${src[2]!.replace(/\.ts$/, "")}`
  if (url.startsWith("node:internal/deps/undici") || url.includes("undici")) return "fetch (undici, load generator)"
  if (url.startsWith("node:")) return `node: ${url.slice(5).split("/").slice(0, 2).join("/")}`
  return url
}

/** Runs `work` under the profiler; its result and the busy self time per area (ms, largest first). */
export const profiled = async <A>(work: () => Promise<A>) => {
  const session = new Inspector.Session()
  session.connect()
  await post(session, "Profiler.enable")
  await post(session, "Profiler.setSamplingInterval", { interval: 200 })
  await post(session, "Profiler.start")
  const result = await work()
  const { profile } = await post<{ profile: Profile }>(session, "Profiler.stop")
  session.disconnect()
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const areas = new Map<string, number>()
  let busy = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)
    if (node === undefined) continue
    const area = areaOf(node.callFrame)
    const ms = (profile.timeDeltas[i] ?? 0) / 1000
    if (area !== "(idle)") busy += ms
    areas.set(area, (areas.get(area) ?? 0) + ms)
  }
  const rows = [...areas].filter(([a]) => a !== "(idle)").sort((a, b) => b[1] - a[1])
  return {
    result,
    busyMs: busy,
    idleMs: areas.get("(idle)") ?? 0,
    areas: rows.map(([area, ms]) => ({ area, ms: Math.round(ms), share: Math.round((ms / busy) * 1000) / 10 }))
  }
}
