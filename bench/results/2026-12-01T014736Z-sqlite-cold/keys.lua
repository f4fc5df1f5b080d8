-- keys.lua: wrk sends POST requests whose JSON bodies are the lines of a
-- file. The baseline and keybox are driven by this same script, so that wrk
-- spends the same work per request on both sides.
--
--   wrk ... -s keys.lua URL -- FILE ORDER SEED THREADS
--
-- ORDER random:     each request sends a line drawn at random; every thread
--                   draws its own sequence (seeded with SEED and its number).
-- ORDER sequential: every line is sent once at most: thread i (from 0) sends
--                   lines i+1, i+1+THREADS, …; once past the end it sends a
--                   key that does not exist, which keybox refuses (counted by
--                   wrk as a non-2xx answer). (wrk calls the first thread's
--                   request() once before the run to inspect it: that line is
--                   never sent.)

local threads = 0

function setup(thread)
   thread:set("id", threads)
   threads = threads + 1
end

local bodies, count, order, step, nextLine
local exhausted = '{"key":"BENCH-POOL-EXHAUSTED","machineId":"none"}'

function init(args)
   local file, seed = args[1], tonumber(args[3])
   order, step = args[2], tonumber(args[4])
   if file == nil or seed == nil or step == nil or (order ~= "random" and order ~= "sequential") then
      error("usage: -- FILE random|sequential SEED THREADS")
   end
   bodies = {}
   for line in io.lines(file) do
      if line ~= "" then
         bodies[#bodies + 1] = line
      end
   end
   count = #bodies
   if count == 0 then
      error(file .. " has no lines")
   end
   math.randomseed(seed + 7919 * id)
   nextLine = id + 1
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   local body
   if order == "random" then
      body = bodies[math.random(count)]
   else
      body = bodies[nextLine] or exhausted
      nextLine = nextLine + step
   end
   return wrk.format(nil, nil, nil, body)
end
