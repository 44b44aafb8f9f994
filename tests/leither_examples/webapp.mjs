// Drives the Leither web app in tests/leither_examples/webapp/ in headless chromium
// (tests/web/lib.mjs: Debian's chromium with playwright-core from tests/interop).
//
// Usage: node webapp.mjs <pageUrl> [timeoutMs]
// Prints ONE line of JSON: {"ok", "result": window.lxResult, "errors": [...], "text"}; exits 0
// also when the page's calls fail (the Rust test asserts on the fields), 1 only when the
// harness breaks. `ok`: the page finished with no error, read a non-empty mmroot listing and
// as many bytes of the file as MFReaddir said it has (up to 4096).
import { launch, emit, fail, deadline, intArg } from '../web/lib.mjs'

const [pageUrl, t] = process.argv.slice(2)
if (!pageUrl) fail('usage: webapp.mjs <pageUrl> [timeoutMs]')
const timeout = intArg(t, 30000, 'timeoutMs')
deadline(timeout + 30000, 'webapp.mjs')

const { page, errors, close } = await launch()
let result = null
let text = ''
let navError = null
try {
  await page.goto(pageUrl, { waitUntil: 'load', timeout })
  await page.waitForFunction(() => window.lxResult && window.lxResult.done, null, { timeout })
} catch (e) {
  navError = e.message
}
try {
  result = await page.evaluate(() => window.lxResult || null)
  text = (await page.evaluate(() => document.body ? document.body.innerText : '')).slice(0, 300)
} catch (e) {
  navError = navError || e.message
}
await close()
const ok = !navError && !!result && result.done && !result.error &&
  result.files.length > 0 && result.dataLength === result.wantLength && result.dataLength > 0
emit({ ok, navError, result, errors, text })
