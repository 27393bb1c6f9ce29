-- Create, then complete what was created: a pair is counted when the complete answers 200.
-- State is per thread (wrk gives each thread its own Lua state), shared by its
-- connections, so created ids queue up and the next free request completes one.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local rpc = os.getenv("RPC_PATH")
local headers = {["Content-Type"] = "application/json"}
local create_body = '{"jsonrpc":"2.0","id":1,"method":"task/create","params":{}}'
local created = {}
completed_pairs = 0

function request()
  local id = table.remove(created)
  if id then
    return wrk.format("POST", "/tasks/" .. id .. "/complete", headers, '{"reason":"bench"}')
  end
  return wrk.format("POST", rpc, headers, create_body)
end

function response(status, hdrs, body)
  if status ~= 200 then return end
  if body:find('"jsonrpc"', 1, true) then
    -- The task id is the first quoted "id" (the JSON-RPC id is the number 1).
    local id = body:match('"id":"([^"]+)"')
    if id then table.insert(created, id) end
  else
    completed_pairs = completed_pairs + 1
  end
end
