-- Shared by every bench scenario (loaded with dofile by each script).
-- Environment (set by bench/run.py): BENCH_TOKEN (API token), BENCH_THREADS (wrk -t).
-- Counts answers outside 2xx per thread and prints one line "BENCH_JSON {...}" in done(),
-- which bench/run.py reads: requests, duration, latency percentiles (ms), errors.

token = os.getenv("BENCH_TOKEN") or ""
nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Accept"] = "application/json"

local threads = {}

function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

function read_lines(path)
   local lines = {}
   local file = assert(io.open(path, "r"), "cannot open " .. tostring(path))
   for line in file:lines() do
      if line ~= "" then
         table.insert(lines, line)
      end
   end
   file:close()
   return lines
end

-- Per thread (each thread has its own Lua state): answers outside 2xx and the first one seen.
non2xx = 0
first_error = ""
exhausted = 0 -- set by a script that ran out of its input (confirm.lua)

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      if first_error == "" then
         first_error = tostring(status) .. " " .. string.sub(body or "", 1, 300)
      end
   end
end

local function json_string(s)
   s = string.gsub(s, '[%c"\\]', function(c)
      if c == '"' then return '\\"' end
      if c == "\\" then return "\\\\" end
      return " "
   end)
   return '"' .. s .. '"'
end

function done(summary, latency, requests)
   local bad, first, ran_out = 0, "", 0
   for _, thread in ipairs(threads) do
      bad = bad + (tonumber(thread:get("non2xx")) or 0)
      ran_out = ran_out + (tonumber(thread:get("exhausted")) or 0)
      local message = thread:get("first_error")
      if first == "" and message and message ~= "" then
         first = message
      end
   end
   local errors = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "mean_ms": %.3f, "p50_ms": %.3f, '
         .. '"p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "non2xx": %d, "connect_errors": %d, '
         .. '"read_errors": %d, "write_errors": %d, "timeouts": %d, "exhausted": %d, "first_error": %s}\n',
      summary.requests, summary.duration, summary.bytes, latency.mean / 1000,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
      latency.max / 1000, bad, errors.connect, errors.read, errors.write, errors.timeout, ran_out, json_string(first)))
end
