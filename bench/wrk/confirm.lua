-- POST /api/v1/sales/<id>/confirm/ for pending sales made for the purpose (bench/run.py writes
-- their ids to BENCH_IDS). Thread t of n confirms the ids at positions t, t+n, ...; each id once.
-- A thread that runs out starts over: those confirms answer 409 and show as non-2xx, so a pool
-- too small for the server's speed is visible in the result rather than silently shortening it.
dofile((os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/common.lua")

local ids
local position

function init(args)
   ids = read_lines(os.getenv("BENCH_IDS"))
   position = (tid or 0) + 1
end

function request()
   if position > #ids then
      exhausted = 1
      position = (tid or 0) + 1
   end
   local id = ids[position]
   position = position + nthreads
   return wrk.format("POST", "/api/v1/sales/" .. id .. "/confirm/")
end
