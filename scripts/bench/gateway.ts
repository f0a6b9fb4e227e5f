/**
 * Benchmark of the LLM gateway (issue 6, item 6), one process: the real
 * server (`Server.start`, PGlite in memory) on 127.0.0.1:0 with one
 * openai-compatible provider, the fake upstream of the tests
 * (`test/support/fakeUpstream.ts`) behind it, and a fetch client.
 * - TTFB: time from sending a streaming request to its first body bytes,
 *   straight to the fake upstream vs through the gateway (cache skipped);
 * - added latency per streamed chunk: each chunk carries the time the
 *   upstream wrote it; latency = arrival at the client − write time, direct
 *   vs through the gateway (p50/p99 of both, and the difference);
 * - abort: time from the client aborting mid-stream to the upstream seeing
 *   its connection close (the requirement is < 100 ms);
 * - memory: RSS and heap sampled every 50 ms while ~100 MB stream through
 *   the gateway (64 KiB chunks; the upstream honours backpressure), and the
 *   heap after a full GC before, every 20 MB and at the end (what is
 *   really retained, as opposed to garbage not yet collected).
 * Everything shares one event loop, so the numbers include the client's and
 * the fake's own work. Writes scripts/bench/results/gateway.json.
 */
import { Effect, Exit, Layer, Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import { dirname, join } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { ResultCache } from "../../src/runtime/policy/cache.js"
import { ToolLimiter } from "../../src/runtime/policy/limiter.js"
import { resolveConfig } from "../../src/server/config.js"
import * as Server from "../../src/server/server.js"
import { Store } from "../../src/store/index.js"
import { ToolRegistry } from "../../src/tools/registry.js"
import type { Behaviour } from "../../test/support/fakeUpstream.js"
import { startFakeUpstream } from "../../test/support/fakeUpstream.js"

const here = dirname(fileURLToPath(import.meta.url))
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d
const pct = (xs: ReadonlyArray<number>, p: number): number => {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!
}
const stats = (xs: ReadonlyArray<number>) => ({
  n: xs.length,
  p50: round(pct(xs, 50), 3),
  p99: round(pct(xs, 99), 3),
  max: round(pct(xs, 100), 3)
})
const now = () => performance.timeOrigin + performance.now()

/** A full GC, to tell retained memory from garbage not yet collected. */
const gc = (() => {
  v8.setFlagsFromString("--expose-gc")
  return vm.runInNewContext("gc") as () => void
})()

let seq = 0
const body = (stream: boolean) =>
  JSON.stringify({ model: "up/m", messages: [{ role: "user", content: `bench ${seq++}` }], stream })

/** POSTs a streaming request; calls `onData` with each decoded piece; resolves with the time to first byte. */
const streamOnce = async (
  url: string,
  headers: Record<string, string>,
  onData?: (text: string) => void,
  signal?: AbortSignal
) => {
  const t0 = performance.now()
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: body(true),
    ...(signal === undefined ? {} : { signal })
  })
  if (r.status !== 200 || r.body === null) throw new Error(`status ${r.status}: ${await r.text()}`)
  const reader = r.body.getReader()
  const decoder = new TextDecoder()
  let ttfb = -1
  let bytes = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    if (ttfb < 0) ttfb = performance.now() - t0
    bytes += value.byteLength
    onData?.(decoder.decode(value, { stream: true }))
  }
  return { ttfb, bytes }
}

/** Per-chunk latencies (arrival − x_sent_at) of one streamed answer. */
const chunkLatencies = async (url: string, headers: Record<string, string>) => {
  const out: Array<number> = []
  let buffer = ""
  await streamOnce(url, headers, (text) => {
    buffer += text
    let at: number
    while ((at = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, at)
      buffer = buffer.slice(at + 2)
      if (!event.startsWith("data: ") || event === "data: [DONE]") continue
      const sent = (JSON.parse(event.slice(6)) as { x_sent_at?: number }).x_sent_at
      if (sent !== undefined) out.push(now() - sent)
    }
  })
  return out
}

export const runGatewayBench = async (): Promise<Record<string, unknown>> => {
  let behaviour: Behaviour = { kind: "ok" }
  const up = await startFakeUpstream("up", () => behaviour)
  const config = resolveConfig({
    providers: [{
      name: "up",
      kind: "openai-compatible",
      baseUrl: up.baseUrl,
      models: ["m"],
      concurrency: 64,
      timeoutMs: 60_000,
      retry: { times: 0 }
    }]
  })
  if (config._tag === "Left") throw new Error(config.left.message)
  const scope = Effect.runSync(Scope.make())
  const services = Layer.mergeAll(
    Store.layerPglite("memory://"),
    ResultCache.layerMemory,
    ToolLimiter.layer,
    ToolRegistry.layerBuiltins
  )
  const started = await Effect.runPromise(
    Effect.gen(function*() {
      const ctx = yield* Layer.buildWithScope(services, scope)
      return yield* Server.start({ config: config.right, port: 0, host: "127.0.0.1", resumeOnStart: false }).pipe(
        Effect.provide(ctx),
        Scope.extend(scope)
      )
    })
  )
  const direct = `${up.baseUrl}/chat/completions`
  const gateway = `${started.url}/v1/chat/completions`
  const noCache = { "cache-control": "no-cache" }
  try {
    // TTFB, sequential, after a warm-up.
    behaviour = { kind: "ok", chunks: 8 }
    for (let i = 0; i < 30; i++) {
      await streamOnce(direct, {})
      await streamOnce(gateway, noCache)
    }
    const ttfbDirect: Array<number> = []
    const ttfbGateway: Array<number> = []
    for (let i = 0; i < 300; i++) {
      ttfbDirect.push((await streamOnce(direct, {})).ttfb)
      ttfbGateway.push((await streamOnce(gateway, noCache)).ttfb)
    }
    // Per-chunk latency: 40 answers of 25 chunks, 4 ms apart.
    behaviour = { kind: "ok", chunks: 25, intervalMs: 4, stamp: true }
    const chunkDirect: Array<number> = []
    const chunkGateway: Array<number> = []
    for (let i = 0; i < 40; i++) {
      for (const ms of await chunkLatencies(direct, {})) chunkDirect.push(ms)
      for (const ms of await chunkLatencies(gateway, noCache)) chunkGateway.push(ms)
    }
    // Abort: the client leaves after 2 chunks; when does the upstream notice?
    behaviour = { kind: "ok", chunks: 200, intervalMs: 20 }
    const abortDelays: Array<number> = []
    for (let i = 0; i < 30; i++) {
      const controller = new AbortController()
      const seen = up.waitAbort(5000)
      let chunks = 0
      let abortedAt = 0
      await streamOnce(gateway, noCache, () => {
        if (++chunks === 2) {
          abortedAt = now()
          controller.abort()
        }
      }, controller.signal).catch(() => undefined)
      const a = await seen
      abortDelays.push(a.at - abortedAt)
    }
    // Memory: ~100 MB through the gateway.
    const piece = "x".repeat(65_536)
    const count = Math.ceil((100 * 1024 * 1024) / piece.length)
    behaviour = { kind: "ok", chunks: count, repeat: piece }
    const samples: Array<{ t: number; rssMb: number; heapMb: number }> = []
    const retained: Array<{ atMb: number; heapMb: number }> = []
    const fullGc = (atMb: number) => {
      gc()
      retained.push({ atMb: round(atMb, 1), heapMb: round(process.memoryUsage().heapUsed / 1048576, 1) })
    }
    fullGc(0)
    const t0 = performance.now()
    const sample = () => {
      const m = process.memoryUsage()
      samples.push({
        t: round(performance.now() - t0, 0),
        rssMb: round(m.rss / 1048576, 1),
        heapMb: round(m.heapUsed / 1048576, 1)
      })
    }
    sample()
    const timer = setInterval(sample, 50)
    let received = 0
    let nextGcAt = 20 * 1048576
    const streamed = await streamOnce(gateway, noCache, (text) => {
      received += text.length
      if (received >= nextGcAt) {
        fullGc(received / 1048576) // mid-stream: what stays reachable while data flows
        nextGcAt += 20 * 1048576
      }
    })
    clearInterval(timer)
    sample()
    fullGc(streamed.bytes / 1048576)
    const seconds = (performance.now() - t0) / 1000
    const tenth = Math.max(1, Math.floor(samples.length / 10))
    const avg = (xs: ReadonlyArray<number>) => round(xs.reduce((a, b) => a + b, 0) / xs.length, 1)
    const firstRss = avg(samples.slice(0, tenth).map((s) => s.rssMb))
    const lastRss = avg(samples.slice(-tenth).map((s) => s.rssMb))
    const firstHeap = avg(samples.slice(0, tenth).map((s) => s.heapMb))
    const lastHeap = avg(samples.slice(-tenth).map((s) => s.heapMb))
    const retainedGrowth = Math.max(...retained.map((r) => r.heapMb)) - retained[0]!.heapMb

    const report = {
      suite: "gateway",
      at: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        cpu: os.cpus()[0]?.model ?? "unknown",
        node: process.version,
        loadAvg1mAtEnd: round(os.loadavg()[0] ?? 0, 2)
      },
      setup: {
        note:
          "server, fake upstream and client share one process and event loop (loopback); the gateway's cache is skipped (Cache-Control: no-cache)",
        provider: "openai-compatible, concurrency 64, no retries"
      },
      ttfbMs: {
        direct: stats(ttfbDirect),
        gateway: stats(ttfbGateway),
        addedP50: round(pct(ttfbGateway, 50) - pct(ttfbDirect, 50), 3),
        addedP99: round(pct(ttfbGateway, 99) - pct(ttfbDirect, 99), 3)
      },
      chunkLatencyMs: {
        direct: stats(chunkDirect),
        gateway: stats(chunkGateway),
        addedP50: round(pct(chunkGateway, 50) - pct(chunkDirect, 50), 3),
        addedP99: round(pct(chunkGateway, 99) - pct(chunkDirect, 99), 3)
      },
      abortToUpstreamCloseMs: stats(abortDelays),
      memory: {
        streamedMb: round(streamed.bytes / 1048576, 1),
        seconds: round(seconds, 2),
        throughputMbPerS: round(streamed.bytes / 1048576 / seconds, 1),
        samples: samples.length,
        rssMb: {
          first10pct: firstRss,
          last10pct: lastRss,
          max: Math.max(...samples.map((s) => s.rssMb)),
          min: Math.min(...samples.map((s) => s.rssMb))
        },
        heapMb: {
          first10pct: firstHeap,
          last10pct: lastHeap,
          max: Math.max(...samples.map((s) => s.heapMb)),
          min: Math.min(...samples.map((s) => s.heapMb))
        },
        /** Heap after a full GC, before, every 20 MB received and at the end. */
        retainedHeapAfterGc: retained,
        retainedGrowthMb: round(retainedGrowth, 1),
        /** Flat: what stays reachable (heap after a full GC) grows by less than 20 MB while 100 MB pass. */
        flat: retainedGrowth < 20
      }
    }
    const out = join(here, "results", "gateway.json")
    fs.mkdirSync(dirname(out), { recursive: true })
    fs.writeFileSync(out, JSON.stringify(report, null, 2) + "\n")
    console.log(JSON.stringify({ ...report, memory: { ...report.memory } }, null, 2))
    return report
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await up.close()
  }
}
