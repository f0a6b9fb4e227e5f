/**
 * The trace viewer in a real browser: Debian's chromium (`/usr/bin/chromium`)
 * driven by playwright-core, against a real server on 127.0.0.1 with a
 * workspace API key. Enters the key, watches a submitted run's nodes turn
 * done live, opens a node (mouse and keyboard), replays the run (exactly,
 * and live against a counter that has moved on: the divergence report),
 * cancels a slow run, compares two runs, and checks the phone-width layout.
 * Screenshots go to test-artifacts/viewer/. Without chromium the suite is
 * skipped with one line saying why.
 */
import { Layer } from "effect"
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import type { Server as HttpServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { chromium } from "playwright-core"
import type { BrowserContext, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Store } from "../../../src/store/index.js"
import { HttpAllowlist } from "../../../src/tools/index.js"
import { root, runNode } from "../../support/cli.js"
import { call, startServer, testConfig, waitEnded } from "../../support/server.js"
import type { TestServer } from "../../support/server.js"

/** Debian's chromium; `TRELLIS_CHROMIUM` points elsewhere. */
const CHROMIUM = process.env.TRELLIS_CHROMIUM ?? "/usr/bin/chromium"

/**
 * The page globals the callbacks of `page.evaluate` use. This file is Node code (its tsconfig has no DOM lib); those
 * callbacks run in the browser, so they reach the globals through `globalThis` with these types.
 */
interface PageGlobals {
  readonly sessionStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void }
  readonly document: {
    readonly documentElement: { readonly scrollWidth: number }
    readonly activeElement: { getAttribute(name: string): string | null } | null
  }
}
const hasChromium = existsSync(CHROMIUM)
if (!hasChromium) console.log(`viewer browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`)

const ARTIFACTS = join(root, "test-artifacts", "viewer")
const KEY = "viewer-test-key"

const SLOW = `program main(n: number = 3, ms: number = 300) {
  warm = tool std.sleep(ms: ms)
  items = map i in range(n) with { concurrency: 2 } {
    echoed = tool std.echo(value: i * 10) with { after: [] }
    return echoed
  }
  after = tool std.echo(value: len(items)) with { after: [warm] }
  return { items: items, after: after }
}`

/** SLOW with `warm` held on a gate URL (see `gateUrl`) instead of sleeping. */
const GATED = SLOW.replace("ms: number = 300", "gate: string").replace(
  "tool std.sleep(ms: ms)",
  "tool http.get(url: gate)"
)

describe.skipIf(!hasChromium)("the trace viewer in chromium", () => {
  let server: TestServer
  let context: BrowserContext
  let page: Page
  let profile: string
  /** A local HTTP counter: every GET answers the next number (so a live replay cannot match). */
  let counter: HttpServer
  let counterUrl: string
  let hits = 0
  /** GET /gate on the same server is held until the test releases it (a node that runs as long as the test needs). */
  let gateUrl: string
  const held: Array<() => void> = []
  const release = () => held.splice(0).forEach((answer) => answer())
  const errors: Array<string> = []

  const submit = async (source: string, inputs: Record<string, unknown> = {}) => {
    const r = await call(server.url, "/v1/runs", { method: "POST", body: JSON.stringify({ source, inputs }), key: KEY })
    expect(r.status).toBe(202)
    return ((await r.json()) as { runId: string }).runId
  }
  /** Opens a view with the key already in session storage (each test stands alone). */
  const waitStatus = async (runId: string, want: string) => {
    const end = Date.now() + 20_000
    while (Date.now() < end) {
      const r = (await (await call(server.url, `/v1/runs/${runId}`, { key: KEY })).json()) as { status: string }
      if (r.status === want) return r
      await new Promise((res) => setTimeout(res, 50))
    }
    throw new Error(`run ${runId} never became ${want}`)
  }

  const open = async (hash: string) => {
    await page.goto(`${server.url}/#/none`)
    await page.evaluate(
      (key) => (globalThis as unknown as PageGlobals).sessionStorage.setItem("trellis.apiKey", key),
      KEY
    )
    await page.goto(`${server.url}/${hash}`)
    await page.reload()
  }
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true })
    if (!existsSync(join(root, "dist", "web", "index.html"))) {
      const built = await runNode(["scripts/build.mjs"])
      if (built.code !== 0) throw new Error(`the build failed: ${built.stderr}`)
    }
    counter = createServer((req, res) => {
      if (req.url === "/gate") {
        held.push(() => res.writeHead(200, { "content-type": "text/plain" }).end("open"))
        return
      }
      hits += 1
      res.writeHead(200, { "content-type": "text/plain" }).end(`count ${hits}`)
    })
    await new Promise<void>((r) => counter.listen(0, "127.0.0.1", r))
    const base = `http://127.0.0.1:${(counter.address() as AddressInfo).port}`
    counterUrl = `${base}/count`
    gateUrl = `${base}/gate`
    const hash = createHash("sha256").update(KEY).digest("hex")
    // http.get refuses loopback unless allowlisted: the server's runs (and live replays) get 127.0.0.1 on the
    // allowlist, as `trellis serve` does with TRELLIS_HTTP_ALLOW=127.0.0.1.
    server = await startServer(testConfig({ workspaces: [{ name: "acme", keyHashes: [`sha256:${hash}`] }] }), {
      store: Layer.merge(Store.layerPglite("memory://"), Layer.succeed(HttpAllowlist, ["127.0.0.1"]))
    })
    profile = mkdtempSync(join(tmpdir(), "trellis-viewer-"))
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync"
      ],
      viewport: { width: 1280, height: 800 }
    })
    page = context.pages()[0] ?? await context.newPage()
    page.setDefaultTimeout(10_000)
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`))
    page.on("console", (m) => {
      if (m.type() === "error" && !/status of 40[14]/.test(m.text())) errors.push(`console: ${m.text()}`)
    })
  }, 60_000)

  afterAll(async () => {
    await context?.close()
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true })
    await server?.close()
    release()
    await new Promise<void>((r) => (counter === undefined ? r() : counter.close(() => r())))
  })

  it("asks for the key, keeps it in session storage, and lists runs", async () => {
    const runId = await submit(SLOW, { n: 2 })
    await page.goto(`${server.url}/#/runs`)
    await expect.poll(() => page.locator("main p[role=status]").textContent()).toContain("Unauthorized")
    await page.getByRole("textbox", { name: "API key" }).fill(KEY)
    await page.getByRole("button", { name: "Use key" }).click()
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).sessionStorage.getItem("trellis.apiKey")))
      .toBe(KEY)
    const row = page.locator(`tr[data-run="${runId}"]`)
    await row.waitFor()
    expect(await row.textContent()).toContain("main")
    await waitEnded(server.url, runId, KEY)
    // Live: the list refreshes by itself.
    await expect.poll(() => row.locator(".badge").textContent(), { timeout: 8000 }).toBe("completed")
    await shot("runs-list")
  })

  it("shows a run's nodes turning done live, and opens a node with the mouse and the keyboard", async () => {
    // `warm` waits on the gate, so the page sees it running however slow the machine is; then the test opens it.
    const runId = await submit(GATED, { n: 3, gate: gateUrl })
    await open(`#/runs/${runId}`)
    const warm = page.locator(".dag-svg [data-key]").filter({ hasText: "warm" }).first()
    // Seen running, then done, without reloading.
    await expect.poll(() => warm.getAttribute("class"), { timeout: 8000 }).toContain("st-running")
    await shot("run-live")
    await expect.poll(() => held.length).toBe(1)
    release()
    await expect.poll(() => warm.getAttribute("class"), { timeout: 10000 }).toContain("st-done")
    await expect.poll(() => page.locator(".run-head .badge").textContent(), { timeout: 8000 }).toBe("completed")
    const states = await page.locator(".dag-svg [data-key]").evaluateAll((els) =>
      els.map((e) => e.getAttribute("class") ?? "")
    )
    expect(states.length).toBeGreaterThanOrEqual(4)
    expect(states.every((c) => c.includes("st-done"))).toBe(true)
    // The map's body node shows its three runs.
    const echoed = page.locator(".dag-svg [data-key]").filter({ hasText: "echoed" }).first()
    expect(await echoed.textContent()).toContain("3/3")
    // Timeline: one row per node run.
    expect(await page.locator(".gantt-svg .row").count()).toBeGreaterThanOrEqual(6)

    await warm.click()
    const panel = page.locator("#node-panel")
    await expect.poll(() => panel.isVisible()).toBe(true)
    expect(await panel.locator("#panel-title").textContent()).toBe("warm")
    expect(await panel.textContent()).toContain("http.get")
    expect(await panel.locator("table.attempts tbody tr").count()).toBe(1)
    expect(await panel.locator("summary").filter({ hasText: "Events" }).textContent()).toMatch(/Events \(\d+\)/)
    await shot("run-node-panel")

    // Keyboard: focus the first node, arrow to the next, open it with Enter.
    await page.locator(".dag-svg [data-key]").first().focus()
    await page.keyboard.press("ArrowDown")
    const focusedKey = await page.evaluate(() =>
      (globalThis as unknown as PageGlobals).document.activeElement?.getAttribute("data-key")
    )
    expect(focusedKey).toBeTruthy()
    await page.keyboard.press("Enter")
    await expect.poll(() => page.locator(`.dag-svg [data-key="${focusedKey}"]`).getAttribute("aria-pressed")).toBe(
      "true"
    )
    await page.getByRole("button", { name: "Close the node panel" }).click()
    expect(await panel.isVisible()).toBe(false)

    // The map scope is a collapsible group: collapse it with the mouse, expand it with the keyboard.
    await page.getByRole("button", { name: "Collapse map items" }).click()
    await expect.poll(() => page.locator(".dag-svg [data-key]").filter({ hasText: "echoed" }).count()).toBe(0)
    const expand = page.getByRole("button", { name: "Expand map items" })
    await expect.poll(() => expand.getAttribute("aria-expanded")).toBe("false")
    await expand.focus()
    await page.keyboard.press("Enter")
    await expect.poll(() => page.locator(".dag-svg [data-key]").filter({ hasText: "echoed" }).count()).toBe(1)

    // Replay with the divergence report (exact here).
    await page.getByRole("button", { name: "Replay", exact: true }).click()
    await expect.poll(() => page.locator(".replay-report h2").textContent(), { timeout: 10000 }).toBe(
      "Replay matched the record"
    )
  })

  it("replays live against a tool whose answer changed: the divergence report shows the node, recorded and replayed", async () => {
    const runId = await submit("program main(url: string) { fetched = tool http.get(url: url) return fetched.body }", {
      url: counterUrl
    })
    const ended = (await waitEnded(server.url, runId, KEY)) as { status: string; output?: unknown }
    expect(ended).toMatchObject({ status: "completed", output: "count 1" })
    await open(`#/runs/${runId}`)
    await expect.poll(() => page.locator(".run-head .badge").textContent()).toBe("completed")
    const live = page.getByRole("checkbox", { name: "re-run real tools (live)" })
    await live.check()
    await page.getByRole("button", { name: "Replay", exact: true }).click()
    const report = page.locator(".replay-report")
    await expect.poll(() => report.locator("h2").textContent(), { timeout: 10000 }).toBe("Replay diverged")
    expect(hits).toBe(2)
    expect(await report.getAttribute("class")).toContain("diverged")
    // The first divergence is at the http.get node: recorded "count 1", replayed "count 2".
    expect(await report.locator("strong").textContent()).toBe("fetched (n0)")
    const recorded = report.locator(".diff > div").filter({ hasText: "Expected (recorded)" }).locator("pre")
    const replayed = report.locator(".diff > div").filter({ hasText: "Actual (replayed)" }).locator("pre")
    expect(await recorded.textContent()).toContain("count 1")
    expect(await recorded.textContent()).not.toContain("count 2")
    expect(await replayed.textContent()).toContain("count 2")
    expect(await report.isVisible()).toBe(true)
    await report.scrollIntoViewIfNeeded()
    await shot("run-replay-diverged")
    // Without "live" the record answers the tool: the replay matches and the counter is not asked again.
    await live.uncheck()
    await page.getByRole("button", { name: "Replay", exact: true }).click()
    await expect.poll(() => report.locator("h2").textContent(), { timeout: 10000 }).toBe("Replay matched the record")
    expect(hits).toBe(2)
  })

  it("shows a waiting node with its payload, and its approve form sends the signal", async () => {
    const runId = await submit(
      `program main(total: number) {
      ok = wait "approve": { approved: boolean, note: string } { amount: total } with { timeout: "1h" }
      return if ok.approved { return ok.note } else { return "rejected" }
    }`,
      { total: 12 }
    )
    await open(`#/runs/${runId}`)
    const node = page.locator(".dag-svg [data-key]").filter({ hasText: "ok" }).first()
    await expect.poll(() => node.getAttribute("class"), { timeout: 10000 }).toContain("st-waiting")
    await node.click()
    const panel = page.locator("#node-panel")
    await expect.poll(() => panel.isVisible()).toBe(true)
    expect(await panel.textContent()).toContain("approve")
    expect(await panel.locator("pre[aria-label='Wait payload']").textContent()).toContain("12")
    await panel.locator("#signal-note").fill("looks fine")
    await panel.getByRole("button", { name: "Approve" }).click()
    await expect.poll(() => panel.locator("#signal-status").textContent(), { timeout: 8000 }).toContain("Approved")
    expect(await waitStatus(runId, "completed")).toMatchObject({ output: "looks fine" })
    await shot("run-wait-approved")
  })

  it("cancels a slow run from its page", async () => {
    const runId = await submit("program main() { nap = tool std.sleep(ms: 30000) return nap }")
    await open(`#/runs/${runId}`)
    const nap = page.locator(".dag-svg [data-key]").filter({ hasText: "nap" }).first()
    await expect.poll(() => nap.getAttribute("class"), { timeout: 8000 }).toContain("st-running")
    await page.getByRole("button", { name: "Cancel run" }).click()
    await expect.poll(() => page.locator(".run-head .badge").textContent(), { timeout: 8000 }).toBe("cancelled")
    await expect.poll(() => nap.getAttribute("class")).toContain("st-cancelled")
    expect(((await waitEnded(server.url, runId, KEY)) as { status: string }).status).toBe("cancelled")
    await shot("run-cancelled")
  })

  it("shows retries: failed attempts and back-off waits on the timeline, the error in the node panel", async () => {
    const runId = await submit(`program main() {
      flaky = tool std.fail(kind: "Transient", message: "try again") with { retry: { times: 2, base: "40ms", jitter: "none" } }
      return flaky
    }`)
    await waitEnded(server.url, runId, KEY)
    await open(`#/runs/${runId}`)
    await expect.poll(() => page.locator(".run-head .badge").textContent()).toBe("failed")
    const flaky = page.locator(".dag-svg [data-key]").filter({ hasText: "flaky" }).first()
    await expect.poll(() => flaky.getAttribute("class")).toContain("st-failed")
    expect(await page.locator(".gantt-svg .seg.attempt-failed").count()).toBe(3)
    expect(await page.locator(".gantt-svg .seg.backoff").count()).toBe(2)
    await flaky.click()
    const panel = page.locator("#node-panel")
    expect(await panel.locator("table.attempts tbody tr").count()).toBe(3)
    expect(await panel.locator(".error").textContent()).toContain("try again")
    await shot("run-retries")
  })

  it("compares two runs of one program: durations per node and differing outputs", async () => {
    const source =
      "program main(v: string) { a = tool std.echo(value: v) b = tool std.echo(value: \"same\") return { a: a, b: b } }"
    const one = await submit(source, { v: "left" })
    const two = await submit(source, { v: "right" })
    await waitEnded(server.url, one, KEY)
    await waitEnded(server.url, two, KEY)
    await open(`#/compare/${one}/${two}`)
    const rows = page.locator("table.compare tbody tr")
    await expect.poll(() => rows.count()).toBe(2)
    await expect.poll(() => page.locator("table.compare tbody tr.differs").count()).toBe(1)
    const differing = page.locator("table.compare tbody tr.differs")
    expect(await differing.locator("th").textContent()).toContain("a")
    await differing.locator("summary").click()
    expect(await differing.textContent()).toContain("left")
    expect(await differing.textContent()).toContain("right")
    expect(await page.locator("table.compare tbody tr:not(.differs) td").last().textContent()).toBe("same")
    expect(await page.locator(".diff-count").textContent()).toBe("1 of 2 node runs differ in output or presence.")
    await shot("compare")
  })

  it("is readable at phone width (no horizontal page scroll)", async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    const runId = await submit(SLOW, { n: 2 })
    await waitEnded(server.url, runId, KEY)
    await open(`#/runs/${runId}`)
    await page.locator(".dag-svg").waitFor()
    await expect.poll(() => page.locator(".run-head .badge").textContent()).toBe("completed")
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth))
      .toBeLessThanOrEqual(391)
    await shot("phone-run")
    await open(`#/runs`)
    await page.locator("table.runs tbody tr").first().waitFor()
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth))
      .toBeLessThanOrEqual(391)
    await shot("phone-runs")
    await page.setViewportSize({ width: 1280, height: 800 })
  })

  it("logged no script errors", () => {
    expect(errors).toEqual([])
  })
})
