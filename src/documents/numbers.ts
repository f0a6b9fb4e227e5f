/**
 * Numbers as tables print them: `1,234.5`, `1 234`, `(1,234)` and `−12` and
 * `-12` (negative), `12.5%`, `$1,200`, `€ 3.4`, `12 kg`, `1.2bn`. Pure:
 * `parseNumber(text)` → `{ value, unit }` or null when the text is not one
 * number. Thousands separators (`,`, space, thin space, `'`) must group
 * digits by three; a percent keeps its printed value with unit `%`.
 */
import type { ParsedNumber } from "./model.js"

const CURRENCY = "$€£¥₹"
const NUMBER = /^(?:\d{1,3}(?:([, \u2009\u00a0'])\d{3})(?:\1\d{3})*|\d+)(?:\.\d+)?$|^\.\d+$/

/** Parses one printed number with its unit; null when the text is not a number. */
export const parseNumber = (text: string): ParsedNumber | null => {
  let s = text.trim().replace(/\u2212/g, "-")
  if (s === "") return null
  let negative = false
  if (s.startsWith("(") && s.endsWith(")")) {
    negative = true
    s = s.slice(1, -1).trim()
  }
  if (s.startsWith("-") || s.startsWith("+")) {
    if (negative) return null
    negative = s.startsWith("-")
    s = s.slice(1).trim()
  }
  let unit: string | null = null
  const first = s.charAt(0)
  if (first !== "" && CURRENCY.includes(first)) {
    unit = first
    s = s.slice(1).trim()
    if (s.startsWith("-") && !negative) {
      negative = true
      s = s.slice(1).trim()
    }
  }
  const suffix = /^(.*?)\s*(%|[A-Za-zµ°][A-Za-zµ°/²³]{0,5})$/.exec(s)
  if (suffix !== null && suffix[1] !== "") {
    if (unit !== null && suffix[2] === "%") return null
    unit = unit === null ? suffix[2]! : `${unit}${suffix[2]!}`
    s = suffix[1]!
  }
  if (!NUMBER.test(s)) return null
  const value = Number(s.replace(/[, \u2009\u00a0']/g, ""))
  if (!Number.isFinite(value)) return null
  return { value: negative ? (value === 0 ? 0 : -value) : value, unit }
}
