/**
 * Pan and zoom of the DAG (browser code): the picture is a `<g>` moved and
 * scaled inside an SVG that fills its panel. The wheel zooms around the
 * pointer; dragging pans (sideways on touch screens, so the page still
 * scrolls); on the focused panel `+` and `−` zoom, `0` fits, `1` is actual
 * size and the arrow keys pan. The panel is sized to the layout: as tall
 * as the picture at the starting zoom, at most 70% of the window.
 */

/** The smallest zoom the view starts at: a bigger picture starts at its top, to be panned or zoomed out. */
const START_MIN = 0.3
const MIN = 0.02
const MAX = 3
const PAN_STEP = 80

/** The pan-and-zoom state of one panel. */
export class PanZoom {
  private k = 1
  private tx = 0
  private ty = 0
  private w = 0
  private h = 0
  private content: SVGGElement | undefined
  private drag: { readonly x: number; readonly y: number; readonly tx: number; readonly ty: number } | undefined
  /** True when the last pointer press moved the picture (so its click does not open a node). */
  dragged = false
  /**
   * How the view was last set: the starting view or "Fit" are taken again when the panel is resized; a view the
   * reader moved keeps its centre.
   */
  private mode: "start" | "fit" | "moved" = "start"
  private hostW = 0
  private hostH = 0
  private border = 0

  constructor(private readonly host: HTMLElement, private readonly onZoom: (k: number) => void) {
    host.addEventListener("wheel", (e) => {
      if (this.content === undefined) return
      e.preventDefault()
      const r = host.getBoundingClientRect()
      this.zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top)
    }, { passive: false })
    host.addEventListener("pointerdown", (e) => {
      this.dragged = false
      if (e.button !== 0 || (e.target as Element).closest(".toggle") !== null) return
      this.drag = { x: e.clientX, y: e.clientY, tx: this.tx, ty: this.ty }
    })
    host.addEventListener("pointermove", (e) => {
      const d = this.drag
      if (d === undefined) return
      const dx = e.clientX - d.x
      const dy = e.clientY - d.y
      if (!this.dragged && Math.hypot(dx, dy) < 4) return
      if (!this.dragged) host.setPointerCapture(e.pointerId)
      this.dragged = true
      this.mode = "moved"
      this.tx = d.tx + dx
      this.ty = d.ty + dy
      this.apply()
    })
    const end = (e: PointerEvent) => {
      this.drag = undefined
      if (host.hasPointerCapture(e.pointerId)) host.releasePointerCapture(e.pointerId)
    }
    host.addEventListener("pointerup", end)
    host.addEventListener("pointercancel", end)
    host.addEventListener("keydown", (e) => this.key(e))
    // A narrower or wider panel (the window resized or turned, the node panel opened): the starting view is taken
    // again while the reader has not moved it; a moved view keeps its centre.
    // (Read here, where the layout is fresh, and kept: reading sizes right after drawing a big picture would make
    // the browser lay the page out before its time.)
    new ResizeObserver(() => {
      const before = this.hostW
      this.measure()
      if (this.content === undefined || this.hostW === before || this.hostW === 0) return
      if (this.mode === "start") this.start()
      else if (this.mode === "fit") this.fit()
      else {
        this.tx += (this.hostW - before) / 2
        this.apply()
      }
    }).observe(host)
  }

  /** Reads the panel's inner size and its borders. */
  measure(): void {
    this.hostW = this.host.clientWidth
    this.hostH = this.host.clientHeight
    this.border = this.host.offsetHeight - this.host.clientHeight
  }

  /** Takes over a newly drawn picture of `w`×`h`; `first` sizes the panel and picks the starting view. */
  attach(svg: SVGSVGElement, content: SVGGElement, w: number, h: number, first: boolean): void {
    this.content = content
    this.w = w
    this.h = h
    svg.setAttribute("width", "100%")
    svg.setAttribute("height", "100%")
    if (first) this.start()
    else this.apply()
  }

  /** The starting view: the panel as tall as the picture (at most 70% of the window), fitted, or its top-left part. */
  private start(): void {
    if (this.hostW === 0) this.measure()
    const hostW = Math.max(100, this.hostW)
    const fitW = Math.min(1, hostW / this.w)
    const maxH = Math.max(220, Math.round(window.innerHeight * 0.7))
    const height = Math.round(Math.min(maxH, Math.max(160, this.h * Math.max(fitW, START_MIN) + 4)))
    this.host.style.height = `${height}px`
    const hostH = height - this.border
    this.hostH = hostH
    this.k = Math.max(START_MIN, Math.min(1, hostW / this.w, hostH / this.h))
    this.tx = Math.max(0, (hostW - this.w * this.k) / 2)
    this.ty = Math.max(0, (hostH - this.h * this.k) / 2)
    this.mode = "start"
    this.apply()
  }

  /** Fits the whole picture in the panel. */
  fit(): void {
    const hw = this.hostW
    const hh = this.hostH
    this.k = Math.min(MAX, Math.max(MIN, Math.min(hw / this.w, hh / this.h)))
    this.tx = (hw - this.w * this.k) / 2
    this.ty = (hh - this.h * this.k) / 2
    this.mode = "fit"
    this.apply()
  }

  /** Zoom 100%, keeping the panel's centre. */
  actual(): void {
    this.zoomBy(1 / this.k)
  }

  /** Zooms by `factor` around the panel's centre. */
  zoomBy(factor: number): void {
    this.zoomAt(factor, this.hostW / 2, this.hostH / 2)
  }

  /** Pans so that `el` (a node) is in view, when it is not. */
  show(el: Element): void {
    const r = el.getBoundingClientRect()
    const host = this.host.getBoundingClientRect()
    const margin = 12
    let dx = 0
    let dy = 0
    if (r.width > host.width - 2 * margin || r.left < host.left + margin) dx = host.left + margin - r.left
    else if (r.right > host.right - margin) dx = host.right - margin - r.right
    if (r.height > host.height - 2 * margin || r.top < host.top + margin) dy = host.top + margin - r.top
    else if (r.bottom > host.bottom - margin) dy = host.bottom - margin - r.bottom
    if (dx === 0 && dy === 0) return
    this.mode = "moved"
    this.tx += dx
    this.ty += dy
    this.apply()
  }

  private zoomAt(factor: number, px: number, py: number): void {
    this.mode = "moved"
    const k = Math.min(MAX, Math.max(MIN, this.k * factor))
    // The point under (px, py) stays put.
    this.tx = px - ((px - this.tx) / this.k) * k
    this.ty = py - ((py - this.ty) / this.k) * k
    this.k = k
    this.apply()
  }

  private apply(): void {
    if (this.content === undefined) return
    // Keep at least a corner of the picture in the panel.
    const hw = this.hostW
    const hh = this.hostH
    this.tx = Math.min(hw - 40, Math.max(40 - this.w * this.k, this.tx))
    this.ty = Math.min(hh - 40, Math.max(40 - this.h * this.k, this.ty))
    this.content.setAttribute("transform", `translate(${this.tx.toFixed(1)},${this.ty.toFixed(1)}) scale(${this.k})`)
    this.onZoom(this.k)
  }

  private key(e: KeyboardEvent): void {
    if (e.ctrlKey || e.metaKey || e.altKey) return
    const onPanel = e.target === this.host
    switch (e.key) {
      case "+":
      case "=":
        this.zoomBy(1.25)
        break
      case "-":
      case "_":
        this.zoomBy(1 / 1.25)
        break
      case "0":
        this.fit()
        break
      case "1":
        this.actual()
        break
      case "ArrowLeft":
      case "ArrowRight":
      case "ArrowUp":
      case "ArrowDown":
        // On a node the arrow keys move between nodes (dag.ts); on the panel itself they pan.
        if (!onPanel) return
        this.mode = "moved"
        this.tx += e.key === "ArrowLeft" ? PAN_STEP : e.key === "ArrowRight" ? -PAN_STEP : 0
        this.ty += e.key === "ArrowUp" ? PAN_STEP : e.key === "ArrowDown" ? -PAN_STEP : 0
        this.apply()
        break
      default:
        return
    }
    e.preventDefault()
  }
}
