// The page's failover after the content is shown: the node the page chose goes down later.
//   node dnn_failover.mjs <pageUrl> <expectText> [timeoutMs]
// Prints two lines. First, once the content is shown:
//   {"phase":"loaded","node":url|""|null}   ("": the page's own origin)
// then waits for a line on stdin (the test kills that node meanwhile) and prints:
//   {"ok":bool, "from":url, "node":url|null, "ms":N|null, "sameUrl":bool, "text":string, "errors":[...]}
// ok: window.leither.node moved to another provider within timeoutMs (default 20000; the
// template's heartbeat runs every 10 s), the content shows again, and the URL's origin and path
// are still pageUrl's.
// ms: from the line on stdin to the switch.
import { createInterface } from 'node:readline'
import { bodyText, deadline, emit, evalSafe, fail, intArg, launch, pollPage } from './lib.mjs'

const [pageUrl, expectText, t] = process.argv.slice(2)
if (!pageUrl || !expectText) fail('usage: dnn_failover.mjs <pageUrl> <expectText> [timeoutMs]')
const timeoutMs = intArg(t, 20000, 'timeoutMs')
deadline(2 * timeoutMs + 60000, 'dnn_failover')

const { page, errors, close } = await launch()
// The DNN (or the node that holds an app) as the chosen node is "" (the page's own origin).
const shown = (x) => !!(document.body && document.body.innerText.includes(x) && window.leither && window.leither.node !== 0)
const out = { ok: false, from: null, node: null, ms: null, sameUrl: false, text: '', errors }
try {
  await page.goto(pageUrl, { waitUntil: 'commit', timeout: timeoutMs })
  await pollPage(page, shown, expectText, timeoutMs)
  out.from = await evalSafe(page, () => (window.leither ? window.leither.node : null))
  emit({ phase: 'loaded', node: out.from })
  const rl = createInterface({ input: process.stdin })
  await new Promise((resolve) => rl.once('line', resolve))
  rl.close()
  const t0 = Date.now()
  const moved = await pollPage(page, ([from, x]) => {
    const n = window.leither && window.leither.node
    return n && n !== from && document.body && document.body.innerText.includes(x) ? n : null
  }, [out.from, expectText], timeoutMs, 50)
  if (moved) {
    out.node = moved
    out.ms = Date.now() - t0
  }
} catch (e) {
  out.error = e.message.split('\n')[0]
}
// Origin and path: an app under the page may change the query (setParam).
const path = (u) => { try { const x = new URL(u); return x.origin + x.pathname } catch { return u } }
out.sameUrl = path(page.url()) === path(pageUrl)
out.text = await bodyText(page)
out.ok = out.node != null && out.sameUrl && !out.error
await close()
emit(out)
process.exit(0)
