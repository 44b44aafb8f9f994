-- Answers with the name of the node it runs on (lever.env.NODE), so a test sees where a
-- call forwarded across nodes ran.
local lever = require("lever")
local M = {}

local function me()
  return lever.env.NODE or "?"
end

function M.who()
  return me()
end

function M.whoRes()
  return me() .. ":" .. tostring(lever.resource())
end

function M.echoChan(s)
  while true do
    local m = s:recv()
    if m == nil then break end
    s:send(me() .. ":" .. tostring(m))
  end
  return "done"
end

return M
