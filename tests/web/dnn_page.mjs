// Opens a DNN page and waits for the provider's content to replace it.
//   node dnn_page.mjs <pageUrl> <expectText> [timeoutMs]
// Prints one line:
//   {"ok":bool, "firstContentMs":N|null, "node":url|null, "url":string, "sameUrl":bool,
//    "text":string, "errors":[...], "error"?:string}
// ok: the body shows expectText within timeoutMs (default 15000) and the page did not navigate
// away. firstContentMs: from navigation start to the first time expectText is in
// document.body.innerText, measured in the page (performance.now(), a MutationObserver plus
// a 20 ms poll). node: window.leither.node, the provider the template chose. url: page.url()
// afterwards; sameUrl: it is still pageUrl (the template replaces the document in place).
// text: the first 300 characters of the body text. errors: console errors and page errors.
import { bodyText, deadline, emit, evalSafe, fail, intArg, launch, pollPage } from './lib.mjs'

const [pageUrl, expectText, t] = process.argv.slice(2)
if (!pageUrl || !expectText) fail('usage: dnn_page.mjs <pageUrl> <expectText> [timeoutMs]')
const timeoutMs = intArg(t, 15000, 'timeoutMs')
deadline(timeoutMs + 40000, 'dnn_page')

const { page, errors, close } = await launch()
await page.addInitScript((x) => {
  window.__leitherFirst = null
  const check = () => {
    if (window.__leitherFirst == null && document.body && document.body.innerText.includes(x)) {
      window.__leitherFirst = performance.now()
    }
  }
  new MutationObserver(check).observe(document, { childList: true, subtree: true, characterData: true })
  setInterval(check, 20)
}, expectText)

const out = { ok: false, firstContentMs: null, node: null, url: pageUrl, sameUrl: false, text: '', errors }
try {
  await page.goto(pageUrl, { waitUntil: 'commit', timeout: timeoutMs })
  const first = await pollPage(page, () => window.__leitherFirst, null, timeoutMs)
  out.firstContentMs = first == null ? null : Math.round(first)
  out.node = await evalSafe(page, () => (window.leither && window.leither.node) || null)
} catch (e) {
  out.error = e.message.split('\n')[0]
}
out.url = page.url()
out.sameUrl = out.url === pageUrl || out.url === new URL(pageUrl).href
out.text = await bodyText(page)
out.ok = out.firstContentMs != null && out.sameUrl && !out.error
await close()
emit(out)
process.exit(0)
