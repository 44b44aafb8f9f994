// Shared by the browser scripts in tests/web: Debian's chromium driven by npm playwright-core
// (installed in tests/interop/node_modules by tests/interop/install.sh), one JSON line on stdout.
//
// Contract of every script here: it prints ONE line of JSON and exits 0, also when the checks it
// makes fail (the Rust test asserts on the fields, with context). It exits 1 only when the
// harness itself breaks (no browser, bad arguments, overall deadline), printing {"error": ...}.
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const require = createRequire(new URL('../interop/package.json', import.meta.url))

/** The browser binary: Debian's chromium, or $CHROMIUM. */
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'

/** The flags shared/PEERS.md names (the fresh --user-data-dir is added by launch()). */
export const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run'
]

let cleanup = () => {}
process.on('exit', () => cleanup())

/** Prints one JSON object as one line on stdout. */
export function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

/** Harness error: prints `{"error": msg}` on stdout, the message on stderr, and exits 1. */
export function fail (msg) {
  emit({ error: String(msg) })
  process.stderr.write(`${process.argv[1]}: ${msg}\n`)
  process.exit(1)
}

/** Exits (as a harness error) if the script still runs after `ms`. */
export function deadline (ms, what) {
  const t = setTimeout(() => fail(`${what}: timed out after ${ms} ms`), ms)
  t.unref()
  return t
}

/** A positive integer argument, or `dflt` when absent. */
export function intArg (v, dflt, name) {
  if (v === undefined || v === '') return dflt
  const n = Number(v)
  if (!Number.isInteger(n) || n <= 0) fail(`${name}: not a positive integer: ${v}`)
  return n
}

/**
 * Starts chromium with FLAGS and a fresh user data dir (removed on exit). Returns
 * {context, page, errors, close}: `errors` collects console errors and uncaught page errors
 * (strings) of every page of the context.
 */
export async function launch () {
  let chromium
  try {
    ({ chromium } = require('playwright-core'))
  } catch (e) {
    fail(`playwright-core is missing: run \`bash tests/interop/install.sh\` (${e.message})`)
  }
  const dir = mkdtempSync(join(tmpdir(), 'leither-web-'))
  cleanup = () => { try { rmSync(dir, { recursive: true, force: true }) } catch {} }
  let context
  try {
    context = await chromium.launchPersistentContext(dir, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      timeout: 30000
    })
  } catch (e) {
    fail(`cannot start ${CHROMIUM}: ${e.message}`)
  }
  const errors = []
  const watch = (p) => {
    p.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`) })
    p.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
  }
  context.pages().forEach(watch)
  context.on('page', watch)
  const page = context.pages()[0] ?? await context.newPage()
  const close = async () => {
    try { await context.close() } catch {}
    cleanup()
  }
  return { context, page, errors, close }
}

/** Evaluates `fn(arg)` in the page, retrying when the document is being replaced. */
export async function evalSafe (page, fn, arg) {
  for (let i = 0; ; i++) {
    try {
      return await page.evaluate(fn, arg)
    } catch (e) {
      if (i >= 20 || page.isClosed()) throw e
      await sleep(25)
    }
  }
}

/** Polls `fn(arg)` in the page every `every` ms until it returns a truthy value or `ms` pass;
 * returns the value, or null on timeout. */
export async function pollPage (page, fn, arg, ms, every = 25) {
  const end = Date.now() + ms
  for (;;) {
    let v = null
    try { v = await page.evaluate(fn, arg) } catch {}
    if (v) return v
    if (Date.now() >= end) return null
    await sleep(every)
  }
}

export function sleep (ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** The page's visible text (document.body.innerText), at most `n` characters, or "". */
export async function bodyText (page, n = 300) {
  try {
    return await page.evaluate((n) => (document.body ? document.body.innerText : '').slice(0, n), n)
  } catch {
    return ''
  }
}
