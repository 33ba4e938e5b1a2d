-- POST /api/v1/sales/: a pending sale of BENCH_ITEMS lines (distinct random variants, 1 unit each)
-- for a random customer, with a unique Idempotency-Key per request.
-- Environment: BENCH_ITEMS (default 3), BENCH_VARIANTS, BENCH_CUSTOMERS (ids are 1..N).
dofile((os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/common.lua")

local items = tonumber(os.getenv("BENCH_ITEMS") or "3")
local variants = tonumber(os.getenv("BENCH_VARIANTS") or "10000")
local customers = tonumber(os.getenv("BENCH_CUSTOMERS") or "50000")
local counter = 0
local prefix

function init(args)
   math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
   prefix = string.format("bench-%d-%d-%d", os.time(), tid or 0, math.random(1000000000))
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   counter = counter + 1
   local chosen, lines = {}, {}
   while #lines < items do
      local variant = math.random(variants)
      if not chosen[variant] then
         chosen[variant] = true
         table.insert(lines, string.format('{"variant": %d, "quantity": 1}', variant))
      end
   end
   local body = string.format('{"status": "pending", "customer": %d, "items": [%s]}',
      math.random(customers), table.concat(lines, ", "))
   -- wrk.format uses the headers given instead of wrk.headers, so copy those in.
   local headers = {["Idempotency-Key"] = prefix .. "-" .. counter}
   for name, value in pairs(wrk.headers) do
      headers[name] = value
   end
   return wrk.format("POST", "/api/v1/sales/", headers, body)
end
