local M = {}
function M.x()
  return 1 +
end
return M
