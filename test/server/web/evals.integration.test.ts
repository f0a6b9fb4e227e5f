/**
 * The viewer's eval pages in a real browser (issue 19 item 7): Debian's
 * chromium driven by playwright-core against a real server whose evals run
 * a program on a scripted fake model — version A right on half the
 * questions, version B on nine in ten, each answer with a confidence. The
 * evals list links to an eval's page; its aggregate shows the mean with its
 * CI, the per-example table filters by status, tag, score range and text;
 * picking B as the candidate plots the paired differences with the CI band
 * and the gate's verdict; the reliability diagram is drawn from the
 * outputs' confidence. Screenshots at 1280×800 and 390 px go to
 * test-artifacts/viewer/. Without chromium the suite is skipped.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { chromium } from "playwright-core"
import type { BrowserContext, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { hashKey } from "../../../src/server/config.js"
import { root, runNode } from "../../support/cli.js"
import { startFakeUpstream } from "../../support/fakeUpstream.js"
import type { FakeUpstream } from "../../support/fakeUpstream.js"
import { call, startServer, testConfig } from "../../support/server.js"
import type { TestServer } from "../../support/server.js"

const CHROMIUM = process.env.TRELLIS_CHROMIUM ?? "/usr/bin/chromium"
const hasChromium = existsSync(CHROMIUM)
if (!hasChromium) console.log(`viewer eval page tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`)

const ARTIFACTS = join(root, "test-artifacts", "viewer")
const KEY = "viewer-evals-key"
const N = 30

interface PageGlobals {
  readonly sessionStorage: { setItem(key: string, value: string): void }
  readonly document: { readonly documentElement: { readonly scrollWidth: number } }
}

const source = (version: string) =>
  `signature Answer {
  "Answer the question, with how sure you are. VERSION-${version}"
  input  question: string
  output text: string
  output confidence: number
}

program main(question: string) {
  a = llm Answer(question: question) with { model: "fake/m" }
  return a
}
`

/** B is right unless q % 10 == 0; A when q is even. */
const correct = (version: string, q: number): boolean => (version === "B" ? q % 10 !== 0 : q % 2 === 0)

const dataset = Array.from({ length: N }, (_, q) => ({
  id: `q${q}`,
  inputs: { question: `q${q}?` },
  expected: `answer ${q}`,
  tags: [q % 2 === 0 ? "even" : "odd"]
}))

describe.skipIf(!hasChromium)("the eval pages in chromium", () => {
  let upstream: FakeUpstream
  let server: TestServer
  let context: BrowserContext
  let page: Page
  let profile: string
  let evalA = ""
  let evalB = ""
  const errors: Array<string> = []

  const startEval = async (version: string) => {
    const res = await call(server.url, "/v1/evals", {
      method: "POST",
      key: KEY,
      body: JSON.stringify({ source: source(version), dataset, metrics: ["contains", "latency"], concurrency: 8 })
    })
    expect(res.status).toBe(202)
    return ((await res.json()) as { evalId: string }).evalId
  }
  const waitCompleted = async (id: string) => {
    const end = Date.now() + 60_000
    while (Date.now() < end) {
      const view = (await (await call(server.url, `/v1/evals/${id}`, { key: KEY })).json()) as { status: string }
      if (view.status !== "running") return view
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`eval ${id} did not end`)
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
  /** Screenshots at 1280×800 and at 390 px (full page, and the `focus` part in view); no horizontal overflow at 390 px. */
  const shots = async (name: string, focus?: string) => {
    await page.setViewportSize({ width: 1280, height: 800 })
    await page.screenshot({ path: join(ARTIFACTS, `${name}-1280.png`), fullPage: true })
    await page.setViewportSize({ width: 390, height: 844 })
    await expect.poll(() =>
      page.evaluate(() => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth)
    ).toBeLessThanOrEqual(390)
    await page.screenshot({ path: join(ARTIFACTS, `${name}-390.png`), fullPage: true })
    if (focus !== undefined) {
      await page.locator(focus).first().scrollIntoViewIfNeeded()
      await page.screenshot({ path: join(ARTIFACTS, `${name}-390-view.png`) })
    }
    await page.setViewportSize({ width: 1280, height: 800 })
  }
  const rows = () => page.locator("table.examples tbody tr[data-example]")

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true })
    if (!existsSync(join(root, "dist", "web", "index.html"))) {
      const built = await runNode(["scripts/build.mjs"])
      if (built.code !== 0) throw new Error(`the build failed: ${built.stderr}`)
    }
    upstream = await startFakeUpstream("fake", (body) => {
      const text = JSON.stringify(body.messages)
      const version = text.includes("VERSION-B") ? "B" : "A"
      const q = Number(/q(\d+)\?/.exec(text)?.[1] ?? "-1")
      const right = correct(version, q)
      // Confident when right, mostly; a few confident mistakes (a diagram with some miscalibration).
      const confidence = right ? 0.7 + (q % 3) * 0.1 : q % 4 === 1 ? 0.85 : 0.2 + (q % 3) * 0.1
      return { kind: "ok", text: JSON.stringify({ text: right ? `answer ${q}` : `wrong ${q}`, confidence }) }
    })
    server = await startServer(testConfig({
      providers: [{ name: "fake", kind: "openai-compatible", baseUrl: upstream.baseUrl, models: ["m"] }],
      workspaces: [{ name: "acme", keyHashes: [hashKey(KEY)] }]
    }, { drainMs: 0 }))
    evalA = await startEval("A")
    evalB = await startEval("B")
    await waitCompleted(evalA)
    await waitCompleted(evalB)
    profile = mkdtempSync(join(tmpdir(), "trellis-viewer-evals-"))
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
      viewport: { width: 1280, height: 800 }
    })
    page = context.pages()[0] ?? await context.newPage()
    page.setDefaultTimeout(10_000)
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`))
    page.on("console", (m) => {
      if (m.type() === "error" && !/status of 40[014]/.test(m.text())) errors.push(`console: ${m.text()}`)
    })
  }, 120_000)

  afterAll(async () => {
    await context?.close()
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true })
    await server?.close()
    await upstream?.close()
  })

  it("lists the evals and opens one: the aggregate with its CI, the table filtered", async () => {
    await open("#/evals")
    const rowA = page.locator(`tr[data-eval="${evalA}"]`)
    await rowA.waitFor()
    await expect.poll(() => page.locator(`tr[data-eval="${evalB}"] .badge`).textContent()).toBe("completed")
    expect(await rowA.textContent()).toContain(String(N))
    await shots("evals-list")
    await rowA.locator("a.eval-link").click()
    await page.waitForURL(`**/#/evals/${evalA}`)
    // The aggregate: contains 0.5 over 30, its CI around it and drawn.
    const headline = page.locator(".eval-aggregate .headline")
    await expect.poll(() => headline.textContent()).toContain("contains: 0.5")
    const primary = page.locator(`table.aggregate tr[data-metric="contains"]`)
    expect(await primary.locator("td.mean").textContent()).toBe("0.5")
    const ci = (await primary.locator(".ci-text").textContent())!.split(" to ").map(Number)
    expect(ci[0]).toBeLessThan(0.5)
    expect(ci[1]).toBeGreaterThan(0.5)
    expect(await primary.locator("svg.ci-bar rect.ci-band").count()).toBe(1)
    expect(await rows().count()).toBe(N)
    // Filters: a tag, a score range, text; the shown summary follows with its own mean.
    await page.getByLabel("Tag").selectOption("odd")
    await expect.poll(() => rows().count()).toBe(N / 2)
    await expect.poll(() => page.locator(".shown-summary").textContent()).toContain(
      "15 of 30 examples shown · mean contains 0"
    )
    await page.getByLabel("Tag").selectOption("")
    await page.getByLabel("Score ≥").fill("1")
    await expect.poll(() => rows().count()).toBe(N / 2)
    expect(await rows().first().getAttribute("data-example")).toBe("q0")
    await expect.poll(() => page.locator(".shown-summary").textContent()).toContain("mean contains 1 (95% CI 1 to 1)")
    await page.getByLabel("Score ≥").fill("")
    await page.getByLabel("Search").fill("q17")
    await expect.poll(() => rows().count()).toBe(1)
    expect(await rows().first().textContent()).toContain("wrong 17")
    await page.getByLabel("Status").selectOption("error")
    await expect.poll(() => page.locator(".shown-summary").textContent()).toContain("No example of 30 matches")
    await page.getByRole("button", { name: "Clear filters" }).click()
    await expect.poll(() => rows().count()).toBe(N)
    await page.getByLabel("Tag").selectOption("even")
    await expect.poll(() => rows().count()).toBe(N / 2)
    await shots("eval-page", ".eval-aggregate")
    // A row links to its run.
    await page.getByLabel("Tag").selectOption("")
    const runLink = rows().first().locator("a[href^='#/runs/']")
    expect(await runLink.getAttribute("href")).toBe(`#/runs/${evalA}-00000`)
  }, 40_000)

  it("compares A with B: the verdict and the paired differences plotted with the CI band", async () => {
    await open(`#/evals/${evalA}`)
    await page.locator("#cmp-eval option[value='" + evalB + "']").waitFor({ state: "attached" })
    await page.getByLabel(/Candidate/).selectOption(evalB)
    await page.getByRole("button", { name: "Compare" }).click()
    const verdict = page.locator(".compare-out .verdict")
    await expect.poll(() => verdict.textContent()).toContain("PASS")
    expect(page.url()).toContain(`?vs=${evalB}`)
    // 30 pairs: B − A is +1 on the 15 odd questions (A wrong, B right), −1 on q0, q10, q20 (A right, B wrong), 0 else.
    expect(await page.locator(".compare-out .wlt").textContent()).toBe("15 / 3 / 12")
    const plot = page.locator("svg.diff-plot")
    const counts = await plot.locator("rect.bar").evaluateAll((bars) =>
      bars.map((b) => Number(b.getAttribute("data-count")))
    )
    expect(counts).toEqual([3, 12, 15])
    expect(await plot.locator("circle.pair").count()).toBe(N)
    const delta = Number(await plot.locator("line.delta-line").getAttribute("data-delta"))
    expect(delta).toBeCloseTo(12 / 30, 10)
    // The CI band lies right of the zero line: the difference is positive at this level.
    const band = await plot.locator("rect.ci-band").boundingBox()
    const zero = await plot.locator("line.zero-line").boundingBox()
    expect(band!.x).toBeGreaterThan(zero!.x)
    await shots("eval-compare", ".compare-out")
    // The reverse comparison fails the gate; the URL carries it, so it is linkable.
    await open(`#/evals/${evalB}?vs=${evalA}`)
    await expect.poll(() => page.locator(".compare-out .verdict").textContent()).toContain("FAIL")
    expect(await page.locator("svg.diff-plot rect.bar").count()).toBe(3)
  }, 40_000)

  it("draws the reliability diagram from the outputs' confidence; a missing field is a clear error", async () => {
    await open(`#/evals/${evalA}`)
    await page.getByLabel("Confidence field of the output").fill("certainty")
    await page.getByRole("button", { name: "Draw" }).click()
    await expect.poll(() => page.locator(".calibration-out .error").textContent()).toContain(
      "no example's output has a number in [0, 1] at \"certainty\""
    )
    await page.getByLabel("Confidence field of the output").fill("confidence")
    await page.getByRole("button", { name: "Draw" }).click()
    const svg = page.locator(".calibration-out svg.reliability")
    await svg.waitFor()
    expect(await page.locator(".calibration-out .cal-stats").textContent()).toMatch(
      /^30 forecast\(s\) · Brier 0\.\d+ · ECE 0\.\d+$/
    )
    expect(await svg.locator("circle.bin").count()).toBeGreaterThanOrEqual(3)
    expect(await svg.locator("line.diagonal").count()).toBe(1)
    await svg.scrollIntoViewIfNeeded()
    await shots("eval-reliability", ".calibration-out figure")
    expect(errors).toEqual([])
  }, 40_000)
})
