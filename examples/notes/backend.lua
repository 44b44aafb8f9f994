-- The notes service: Lever's notesAppJS backend (addNote, getNotes) in Lua, keeping the notes
-- in the service's own database instead of a MongoDB, plus what a page needs to delete one
-- (listNotes with IDs, deleteNote).
--
-- Storage: hash "notes" of zero-padded ID -> text, so Hgetall (fields in byte order) lists
-- them oldest first; "notes:next" is the last ID given.

local db = require("db")

local M = {}

-- Bounds: a note's size and how many the service keeps.
local MAX_NOTE = 4096
local MAX_NOTES = 1000

local function key(id)
  return string.format("%012d", id)
end

-- Lever's addNote(note): stores it; answers nothing.
function M.addNote(note)
  if type(note) ~= "string" or note == "" then
    error("addNote: the note must be a non-empty string", 0)
  end
  if #note > MAX_NOTE then
    error("addNote: a note may be at most " .. MAX_NOTE .. " bytes, this one is " .. #note, 0)
  end
  if db.Hlen("notes") >= MAX_NOTES then
    error("addNote: the service keeps at most " .. MAX_NOTES .. " notes; delete some first", 0)
  end
  local id = db.Incr("notes:next")
  db.Hset("notes", key(id), note)
  return nil
end

-- {id, note} of every note, oldest first.
function M.listNotes()
  local out = {}
  for _, fv in ipairs(db.Hgetall("notes") or {}) do
    out[#out + 1] = { id = tonumber(fv.Field), note = fv.Value }
  end
  return out
end

-- Lever's getNotes(): the notes' texts, oldest first.
function M.getNotes()
  local out = {}
  for _, n in ipairs(M.listNotes()) do
    out[#out + 1] = n.note
  end
  return out
end

-- Deletes note `id`; true when there was one.
function M.deleteNote(id)
  if math.type(id) ~= "integer" or id < 1 then
    error("deleteNote: the ID must be a positive whole number, as listNotes gives it", 0)
  end
  return db.Hdel("notes", key(id)) == 1
end

return M
