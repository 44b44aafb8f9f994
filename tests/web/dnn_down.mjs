// Opens a DNN page whose providers are all unreachable and waits for the template's message.
//   node dnn_down.mjs <pageUrl> [timeoutMs]
// Prints one line:
//   {"ok":bool, "ms":N|null, "text":string, "node":url|null, "url":string, "errors":[...],
//    "error"?:string}
// ok: within timeoutMs (default 20000) the page shows its "no node" message: window.leither.down
// is set and the body says "None of the N nodes ... answered" or "No node holding this content
// is online right now". ms: navigation start to that moment, measured in the page
// (performance.now(), a MutationObserver plus a 20 ms poll). text: the first 300 characters of
// the body text. node: window.leither.node (expected null).
import { bodyText, deadline, emit, evalSafe, fail, intArg, launch, pollPage } from './lib.mjs'

const [pageUrl, t] = process.argv.slice(2)
if (!pageUrl) fail('usage: dnn_down.mjs <pageUrl> [timeoutMs]')
const timeoutMs = intArg(t, 20000, 'timeoutMs')
deadline(timeoutMs + 40000, 'dnn_down')

const { page, errors, close } = await launch()
await page.addInitScript(() => {
  window.__leitherDown = null
  const re = /None of the \d+ nodes? holding this content answered|No node holding this content is online/
  const check = () => {
    if (window.__leitherDown == null && window.leither && window.leither.down &&
        document.body && re.test(document.body.innerText)) {
      window.__leitherDown = performance.now()
    }
  }
  new MutationObserver(check).observe(document, { childList: true, subtree: true, characterData: true })
  setInterval(check, 20)
})

const out = { ok: false, ms: null, text: '', node: null, url: pageUrl, errors }
try {
  await page.goto(pageUrl, { waitUntil: 'commit', timeout: timeoutMs })
  const ms = await pollPage(page, () => window.__leitherDown, null, timeoutMs)
  out.ms = ms == null ? null : Math.round(ms)
  out.node = await evalSafe(page, () => (window.leither && window.leither.node) || null)
} catch (e) {
  out.error = e.message.split('\n')[0]
}
out.url = page.url()
out.text = await bodyText(page)
out.ok = out.ms != null && !out.error
await close()
emit(out)
process.exit(0)
