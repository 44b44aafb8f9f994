// Drives the notes example's page (examples/notes) in Chromium: adds two notes, deletes the
// first, reloads.
//   node notes_page.mjs <pageUrl>
// Prints one line: {"initial", "afterAdd", "afterDelete", "afterReload", "status", "errors",
// "error"?}: each a list of the note texts the page shows at that point (null when it did
// not get there within 10 s), status the page's error line at the end.
import { deadline, emit, fail, launch, pollPage } from './lib.mjs'

const [pageUrl] = process.argv.slice(2)
if (!pageUrl) fail('usage: notes_page.mjs <pageUrl>')
deadline(90000, 'notes_page')

const shown = () => Array.from(document.querySelectorAll('#notes li span')).map((s) => s.textContent)
// The list once the page has loaded it and it holds `n` notes.
const listOf = (page, n) => pollPage(page, (n) => {
  if (document.body.dataset.loaded !== String(n)) return null
  return Array.from(document.querySelectorAll('#notes li span')).map((s) => s.textContent)
}, n, 10000)

const { page, errors, close } = await launch()
const out = { initial: null, afterAdd: null, afterDelete: null, afterReload: null, status: '', errors }
try {
  await page.goto(pageUrl, { timeout: 20000 })
  out.initial = await listOf(page, 0)
  for (const note of ['first note', 'second <b>note</b>']) {
    await page.fill('#text', note)
    await page.click('#add button')
    await page.waitForFunction(() => document.getElementById('text').value === '', null, { timeout: 10000 })
  }
  out.afterAdd = await listOf(page, 2)
  await page.click('#notes li:first-child button')
  out.afterDelete = await listOf(page, 1)
  await page.reload({ timeout: 20000 })
  out.afterReload = await listOf(page, 1)
  out.shownHtml = await page.evaluate(() => document.querySelectorAll('#notes li span b').length)
  out.status = await page.evaluate(() => document.getElementById('status').textContent)
} catch (e) {
  out.error = e.message.split('\n')[0]
  try { out.status = await page.evaluate(() => document.getElementById('status').textContent) } catch {}
  try { out.now = await page.evaluate(shown) } catch {}
}
await close()
emit(out)
process.exit(0)
