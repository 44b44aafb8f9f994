// Opens a page that should give its app Leither's page contract (getParam, setParam,
// requestEntry) and reports what the app or the page saw.
//   node page_contract.mjs <pageUrl> app [timeoutMs]
//   node page_contract.mjs <pageUrl> probe [timeoutMs]
// app: waits (default 15000 ms) for the app of tests/web/leither_app to set
// window.pcResult.done, and prints it as `result`.
// probe: waits for window.getParam, then 1 s more (time for an injected script to run), and
// prints getParam() as `param`.
// Both print one line: {"ok", "result"|"param", "pwned", "url", "sameUrl", "text", "errors"}:
// sameUrl: the page kept its origin and path (setParam may change the query); pwned is true when window.__pwned was set (what every injection attack of
// tests/page_contract.rs tries to do); ok: the wait succeeded and nothing was pwned.
import { bodyText, deadline, emit, evalSafe, fail, intArg, launch, pollPage, sleep } from './lib.mjs'

const [pageUrl, mode, t] = process.argv.slice(2)
if (!pageUrl || !['app', 'probe'].includes(mode)) fail('usage: page_contract.mjs <pageUrl> app|probe [timeoutMs]')
const timeoutMs = intArg(t, 15000, 'timeoutMs')
deadline(timeoutMs + 40000, 'page_contract')

const { page, errors, close } = await launch()
const out = { ok: false, pwned: false, url: pageUrl, sameUrl: false, text: '', errors }
try {
  await page.goto(pageUrl, { waitUntil: 'commit', timeout: timeoutMs })
  if (mode === 'app') {
    const done = await pollPage(page, () => window.pcResult && window.pcResult.done, null, timeoutMs)
    out.result = await evalSafe(page, () => window.pcResult || null)
    out.ok = !!done
  } else {
    const has = await pollPage(page, () => typeof window.getParam === 'function', null, timeoutMs)
    await sleep(1000)
    out.param = await evalSafe(page, () => (window.getParam ? window.getParam() : null))
    out.ok = !!has
  }
  out.pwned = await evalSafe(page, () => !!window.__pwned)
} catch (e) {
  out.error = e.message.split('\n')[0]
}
out.url = page.url()
const path = (u) => { try { const x = new URL(u); return x.origin + x.pathname } catch { return u } }
out.sameUrl = path(out.url) === path(pageUrl)
out.text = await bodyText(page)
out.ok = out.ok && !out.pwned && !out.error
await close()
emit(out)
process.exit(0)
