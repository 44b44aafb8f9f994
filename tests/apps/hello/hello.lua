-- Lever's README hello service, in Lua.
local M = {}

function M.SayHello(name)
  return "Hello, " .. name .. "!"
end

return M
