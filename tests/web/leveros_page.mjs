// Runs leveros_checks.mjs in Chromium against the module the node serves.
//   node leveros_page.mjs <node URL>
// Opens <node URL>/lever/leveros.mjs (so the page is on the node's origin), imports the module
// from there and the checks as a data: URL, and prints one line: {"results", "errors"}.
import { readFileSync } from 'node:fs'
import { deadline, emit, fail, launch } from './lib.mjs'

const [base] = process.argv.slice(2)
if (!base) fail('usage: leveros_page.mjs <node URL>')
deadline(60000, 'leveros_page')
const src = readFileSync(new URL('./leveros_checks.mjs', import.meta.url), 'utf8')
const { page, errors, close } = await launch()
const out = { errors }
try {
  await page.goto(base + '/lever/leveros.mjs', { timeout: 20000 })
  out.results = await page.evaluate(async (src) => {
    const leveros = (await import('/lever/leveros.mjs')).default
    const { checks } = await import('data:text/javascript,' + encodeURIComponent(src))
    // forceHost empty: the page's own node, as a page served by it would call.
    return await checks(leveros, '')
  }, src)
} catch (e) {
  out.error = e.message.split('\n')[0]
}
await close()
emit(out)
process.exit(0)
