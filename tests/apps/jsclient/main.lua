-- The methods tests/lever_client.rs and tests/web/leveros_checks.mjs call.
local lever = require("lever")
local json = require("json")

local M = {}

function M.hello(name) return "Hello, " .. name .. "!" end
-- With a resource, Lever's convention puts it first.
function M.whoami(room, name) return room .. ":" .. name .. ":" .. tostring(lever.resource()) end
function M.shape() return { list = { 1, 2 }, name = "x" } end
function M.size(b) return #b end
function M.rev(b) return b:reverse() end
function M.boom() error("boom from jsclient") end
function M._private() return "never" end
function M._privChan(s) return "never" end

function M.echoChan(s, prefix)
  while true do
    local m = s:recv()
    if m == nil then break end
    s:send((prefix or "") .. json.encode(m))
  end
  return "done"
end

-- Bytes in, the same bytes out (binary messages over a WebSocket).
function M.catChan(s)
  while true do
    local m = s:recv()
    if m == nil then break end
    s:send(m)
  end
end

-- A stream on a resource: the stream, then the resource, then the caller's arguments.
function M.roomChan(s, room, prefix)
  return prefix .. room
end

function M.failChan(s)
  s:send("first")
  error("chan failed on purpose")
end

return M
