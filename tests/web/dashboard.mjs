// Opens a node's dashboard (src/dnn/dashboard.html) and reports what it shows.
//   node dashboard.mjs <nodeUrl> [ppt|@pptFile] [mid]
// <nodeUrl>: the node (http://127.0.0.1:PORT): opens <nodeUrl>/. A URL holding '#' or ending in
// .html is opened as given (e.g. a static copy: http://127.0.0.1:8000/dashboard.html#node=...).
// ppt: a pass (PPT text, from `leither lpki signppt`), or @FILE to read it from a file; given, it
// logs in and clicks one write: "publish" on the first Mimei row, else (no rows, e.g. a node
// without MiMeiList) "publish" in the Mimei form with [mid]. ppt "" or "-" skips the login.
// Prints one line:
//   {"ok":bool, "url":string, "id":string|null, "peerid":string|null, "session":"guest"|...,
//    "sections":{"identity":{"state":"ok"|"error"|null,"error":string|null,"rows":N},...}
//      (identity, addresses, peers, mimeis, services; error: the failed calls' texts joined;
//      rows: table rows shown, or identity's fields),
//    "writeButtons":{"total":N,"disabled":N,"titled":N}, "login":null|{"ok":bool,"session":..,
//    "error":string|null,"writeButtons":{...}}, "write":null|{"action","mid","ok","text"},
//    "consoleErrors":[...], "pageErrors":[...], "error"?:string}
// ok: the node id shows, every section rendered (ok or its error text, never blank), every write
// button is disabled and titled "log in to change things" as a guest, and (with a ppt) the login
// worked and the write buttons became enabled. The write's own result is in "write".
import { readFileSync } from 'node:fs'
import { deadline, emit, evalSafe, fail, launch, pollPage } from './lib.mjs'

const [nodeUrl, pptArg, midArg] = process.argv.slice(2)
if (!nodeUrl) fail('usage: dashboard.mjs <nodeUrl> [ppt|@pptFile] [mid]')
let ppt = pptArg && pptArg !== '-' ? pptArg : ''
if (ppt.startsWith('@')) {
  try { ppt = readFileSync(ppt.slice(1), 'utf8').trim() } catch (e) { fail(`cannot read ${ppt.slice(1)}: ${e.message}`) }
}
const url = nodeUrl.includes('#') || /\.html?$/.test(nodeUrl) ? nodeUrl : nodeUrl.replace(/\/+$/, '') + '/'
const WAIT = Number(process.env.WEB_TIMEOUT_MS || 15000)
deadline(4 * WAIT + 30000, 'dashboard')

const IDS = ['identity', 'addresses', 'peers', 'mimeis', 'services']
const { page, errors, close } = await launch()
page.on('dialog', (d) => d.accept().catch(() => {}))

// What the page shows now.
const snapshot = () => evalSafe(page, (ids) => {
  const q = (s) => document.querySelector(s)
  const btn = [...document.querySelectorAll('button[data-w]')]
  const sections = {}
  for (const id of ids) {
    const s = q('#' + id)
    const e = s ? [...s.querySelectorAll('.b .fail')].map((x) => x.textContent) : []
    const b = s && s.querySelector('.b')
    sections[id] = {
      state: (s && s.dataset.state) || null,
      error: e.length ? e.join('; ') : null,
      // table rows (without headers and hidden detail rows), or identity's fields
      rows: b ? b.querySelectorAll('tr:not([hidden])').length - b.querySelectorAll('table').length + b.querySelectorAll('dt').length : 0
    }
  }
  return {
    id: q('#nodeid') ? q('#nodeid').textContent : null,
    peerid: q('#peerid') ? q('#peerid').textContent : null,
    session: document.body.dataset.session || null,
    sections,
    writeButtons: {
      total: btn.length,
      disabled: btn.filter((b) => b.disabled).length,
      titled: btn.filter((b) => b.title === 'log in to change things').length
    }
  }
}, IDS)
const rendered = () => pollPage(page, (ids) => ids.every((id) => {
  const s = document.getElementById(id)
  return s && s.dataset.state
}), IDS, WAIT)

const out = { ok: false, url, id: null, peerid: null, session: null, sections: {}, writeButtons: null, login: null, write: null }
try {
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: WAIT })
  await pollPage(page, () => {
    const e = document.getElementById('nodeid'); const s = document.getElementById('identity')
    return (e && e.textContent) || (s && s.dataset.state === 'error')
  }, null, WAIT)
  const all = await rendered()
  Object.assign(out, await snapshot())
  const wb = out.writeButtons
  let ok = !!out.id && !!all && out.session === 'guest' && wb.disabled === wb.total && wb.titled === wb.total

  if (ppt) {
    await page.fill('#ppt', ppt)
    await page.click('#login button')
    const got = await pollPage(page, () => document.body.dataset.session === 'user' ||
      document.getElementById('lerr').textContent || null, null, WAIT)
    const lerr = await evalSafe(page, () => document.getElementById('lerr').textContent || null)
    // the sections reload with the user session
    await pollPage(page, () => !document.querySelector('section .b.mute'), null, WAIT)
    await page.waitForTimeout(300)
    await rendered()
    const snap = await snapshot()
    out.login = { ok: snap.session === 'user', session: snap.session, error: got === true ? null : lerr, writeButtons: snap.writeButtons }
    out.sections = snap.sections
    ok = ok && out.login.ok && snap.writeButtons.disabled === 0

    if (out.login.ok) {
      let b = await page.$('#mimeis table button[data-act="publish"]')
      let mid = b ? await b.getAttribute('data-mid') : midArg || ''
      if (!b && mid) {
        await page.fill('#mid', mid)
        b = await page.$('#mimeis p button[data-act="publish"]')
      }
      if (b) {
        await evalSafe(page, () => { delete document.getElementById('mimeis').dataset.result })
        await b.click()
        await pollPage(page, () => document.getElementById('mimeis').dataset.result, null, WAIT)
        out.write = await evalSafe(page, () => {
          const s = document.getElementById('mimeis')
          return { ok: s.dataset.result === 'ok' ? true : s.dataset.result === 'error' ? false : null, text: s.querySelector('.out').textContent }
        })
        out.write = { action: 'publish', mid, ...out.write }
      } else {
        out.write = { action: 'publish', mid: null, ok: null, text: 'no Mimei to publish: no rows and no mid argument' }
      }
    }
  }
  out.ok = ok
} catch (e) {
  out.error = e.message.split('\n')[0]
}
out.consoleErrors = errors.filter((e) => e.startsWith('console: ')).map((e) => e.slice(9))
out.pageErrors = errors.filter((e) => e.startsWith('pageerror: ')).map((e) => e.slice(11))
await close()
emit(out)
process.exit(0)
