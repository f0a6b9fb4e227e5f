/** Small DOM helpers and formatters of the viewer (browser code). */

type Attrs = { readonly [name: string]: string | number | boolean | undefined | ((e: Event) => void) }
type Child = Node | string | number | null | undefined | false | ReadonlyArray<Node | string | null | undefined | false>

const SVG_NS = "http://www.w3.org/2000/svg"

const apply = (el: Element, attrs: Attrs, children: ReadonlyArray<Child>): void => {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, "").toLowerCase(), v as EventListener)
    else el.setAttribute(k, v === true ? "" : String(v))
  }
  for (const c of children) append(el, c)
}

const append = (el: Element, c: Child): void => {
  if (c === null || c === undefined || c === false) return
  if (Array.isArray(c)) {
    for (const x of c as ReadonlyArray<Child>) append(el, x)
    return
  }
  el.append(typeof c === "string" || typeof c === "number" ? String(c) : (c as Node))
}

/** An HTML element: `h("button", { class: "x", onclick: f }, "Go")`. */
export const h = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: ReadonlyArray<Child>
): HTMLElementTagNameMap[K] => {
  const el = document.createElement(tag)
  apply(el, attrs, children)
  return el
}

/** An SVG element. */
export const s = <K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: ReadonlyArray<Child>
): SVGElementTagNameMap[K] => {
  const el = document.createElementNS(SVG_NS, tag)
  apply(el, attrs, children)
  return el
}

/** Replaces the children of `el`. */
export const replace = (el: Element, ...children: ReadonlyArray<Child>): void => {
  el.replaceChildren()
  for (const c of children) append(el, c)
}

/** A duration in ms as `850 ms`, `2.4 s`, `3 min 5 s`. */
export const fmtDuration = (ms: number | null | undefined): string => {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—"
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
  const m = Math.floor(ms / 60_000)
  if (m < 60) return `${m} min ${Math.round((ms % 60_000) / 1000)} s`
  return `${Math.floor(m / 60)} h ${m % 60} min`
}

/** A time as local `HH:MM:SS`, with the date when it is not today. */
export const fmtTime = (at: number | null | undefined): string => {
  if (at === null || at === undefined) return "—"
  const d = new Date(at)
  const time = d.toLocaleTimeString([], { hour12: false })
  return d.toDateString() === new Date().toDateString() ? time : `${d.toISOString().slice(0, 10)} ${time}`
}

/** A cost (tool cost units). */
export const fmtCost = (cost: number | null | undefined): string =>
  cost === null || cost === undefined
    ? "—"
    : cost === 0
    ? "0"
    : cost < 0.01
    ? cost.toExponential(2)
    : cost.toFixed(cost < 10 ? 3 : 2)

/** The first 8 characters of a hash. */
export const short = (
  hash: string | null | undefined
): string => (hash === null || hash === undefined ? "—" : hash.slice(0, 8))

/** JSON for display, cut at `max` characters. */
export const json = (value: unknown, max = 20_000): string => {
  let text: string
  try {
    text = JSON.stringify(value, null, 2) ?? "undefined"
  } catch {
    text = String(value)
  }
  return text.length > max ? text.slice(0, max) + "\n… (cut)" : text
}

/** Announces a message to screen readers (the page's polite live region). */
export const announce = (message: string): void => {
  const region = document.getElementById("announcer")
  if (region !== null) region.textContent = message
}
