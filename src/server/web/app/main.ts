/**
 * The trace viewer's entry point (browser code): the API-key field (kept in
 * session storage, sent as a bearer token), and hash routing so every view
 * is linkable — `#/runs` (list, with `?status=` and `?program=`),
 * `#/runs/<id>` (a run), `#/compare/<a>/<b>` (two runs), `#/evals` (the
 * evals) and `#/evals/<id>` (an eval, `?vs=<candidate>` to compare).
 */
import { getKey, setKey } from "./api.js"
import { comparePage } from "./compare.js"
import { announce, h, replace } from "./dom.js"
import { evalPage } from "./evalPage.js"
import { evalsPage } from "./evals.js"
import { runPage } from "./run.js"
import { runsPage } from "./runs.js"

let dispose: (() => void) | undefined

const route = (): void => {
  dispose?.()
  dispose = undefined
  const main = document.getElementById("main")!
  const hash = location.hash.replace(/^#/, "") || "/runs"
  const [path, query = ""] = hash.split("?") as [string, string?]
  const parts = path.split("/").filter((p) => p !== "").map(decodeURIComponent)
  for (const a of document.querySelectorAll<HTMLAnchorElement>("nav.top a")) {
    a.toggleAttribute("aria-current", a.getAttribute("href") === `#/${parts[0] ?? "runs"}`)
  }
  if (parts[0] === "runs" && parts[1] !== undefined) {
    document.title = `Run ${parts[1].slice(0, 8)} · Trellis`
    dispose = runPage(main, parts[1])
  } else if (parts[0] === "compare" && parts[1] !== undefined && parts[2] !== undefined) {
    document.title = "Compare runs · Trellis"
    dispose = comparePage(main, parts[1], parts[2])
  } else if (parts[0] === "evals" && parts[1] !== undefined) {
    document.title = `Eval ${parts[1]} · Trellis`
    dispose = evalPage(main, parts[1], new URLSearchParams(query))
  } else if (parts[0] === "evals") {
    document.title = "Evals · Trellis"
    dispose = evalsPage(main)
  } else if (parts[0] === "runs" || parts.length === 0) {
    document.title = "Runs · Trellis"
    dispose = runsPage(main, new URLSearchParams(query))
  } else {
    replace(main, h("h1", {}, "Not found"), h("p", {}, "No such page. ", h("a", { href: "#/runs" }, "See the runs.")))
  }
  // Move focus to the new page's heading (screen readers announce it).
  requestAnimationFrame(() => {
    const h1 = main.querySelector<HTMLElement>("h1")
    h1?.setAttribute("tabindex", "-1")
    h1?.focus({ preventScroll: true })
  })
}

const keyForm = (): HTMLElement => {
  const input = h("input", {
    id: "api-key",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "none in open mode"
  })
  input.value = getKey()
  const state = h("span", { class: "key-state", "aria-live": "polite" }, getKey() === "" ? "" : "key set")
  return h(
    "form",
    {
      class: "key-form",
      "aria-label": "Authentication",
      onsubmit: (e: Event) => {
        e.preventDefault()
        setKey(input.value.trim())
        state.textContent = input.value.trim() === "" ? "key cleared" : "key set"
        announce(state.textContent)
        route()
      }
    },
    h("label", { for: "api-key" }, "API key"),
    input,
    h("button", { type: "submit" }, "Use key"),
    h("button", {
      type: "button",
      onclick: () => {
        input.value = ""
        setKey("")
        state.textContent = "key cleared"
        route()
      }
    }, "Clear"),
    state
  )
}

const start = (): void => {
  const header = document.getElementById("top")!
  replace(
    header,
    h("a", { href: "#/runs", class: "brand" }, "Trellis"),
    h(
      "nav",
      { class: "top", "aria-label": "Views" },
      h("a", { href: "#/runs" }, "Runs"),
      " ",
      h("a", { href: "#/evals" }, "Evals")
    ),
    keyForm()
  )
  window.addEventListener("hashchange", route)
  route()
}

start()
