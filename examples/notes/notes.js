// The notes page: calls the notesBackend service with the leveros client the node serves.
// The environment is ?env= of the page's URL, else dev.lever.
import leveros from '/lever/leveros.mjs'

const env = new URLSearchParams(location.search).get('env') || 'dev.lever'
const notes = new leveros.Client().service(env, 'notesBackend')
const list = document.getElementById('notes')
const status = document.getElementById('status')
const text = document.getElementById('text')

function say (e) {
  status.textContent = e ? e.message : ''
}

async function refresh () {
  // No notes come as {}: an empty Lua table has no way to say it is a list.
  const got = await notes.invoke('listNotes')
  const all = Array.isArray(got) ? got : []
  list.replaceChildren(...all.map((n) => {
    const li = document.createElement('li')
    const span = document.createElement('span')
    span.textContent = n.note
    const del = document.createElement('button')
    del.textContent = 'Delete'
    del.dataset.id = n.id
    del.addEventListener('click', () => {
      notes.invoke('deleteNote', n.id).then(refresh).then(() => say(null), say)
    })
    li.append(span, del)
    return li
  }))
  document.body.dataset.loaded = String(all.length)
}

document.getElementById('add').addEventListener('submit', (ev) => {
  ev.preventDefault()
  const note = text.value.trim()
  if (!note) return
  notes.invoke('addNote', note)
    .then(() => { text.value = ''; return refresh() })
    .then(() => say(null), say)
})

refresh().catch(say)
