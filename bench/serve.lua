-- bench/serve.lua — wrk's script for bench/serve: POSTs purchases to `upline serve`, every order id
-- unique, checks every answer and prints one line of JSON at the end.
--
--   wrk -t T -c C -d D -s bench/serve.lua URL -- MODE PREFIX MEMBERS_FILE [LINES]
--
--   MODE          event: one purchase per POST /v1/events
--                 batch: LINES purchases (default 1000) per POST /v1/events/batch, JSON Lines
--   PREFIX        starts every order id: ids are PREFIX-<thread>-<counter>. wrk's connections of a
--                 thread share its Lua state, so thread and counter make an id unique; give each
--                 run its own PREFIX.
--   MEMBERS_FILE  member ids, one a line: each purchase's buyer is a uniform one of them
--
-- A purchase: shop "main", a uniform amount 1.00..200.00, a fixed `at`. An answer is good when
-- its status is 200 and it holds one ,"status":"ok","effects": per event sent — every event was
-- accepted, and (the server answers only then) is durable. The last line of output is
--   UPLINE_WRK {"requests":..,"events_ok":..,"events_bad":..,"non_200":..,"errors":{..},
--               "duration_s":..,"latency_us":{"p50":..,"p90":..,"p99":..,"max":..,"mean":..},"sample_bad":".."}

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  mode = args[1] or "event"
  prefix = args[2] or "w"
  lines = tonumber(args[4] or "1000")
  members = {}
  for l in io.lines(args[3]) do
    if l ~= "" then members[#members + 1] = l end
  end
  assert(#members > 0, "bench/serve.lua: no member ids in " .. tostring(args[3]))
  math.randomseed(tid * 7919 + 17)
  counter, events_ok, events_bad, non_200, sample_bad = 0, 0, 0, 0, ""
  wrk.method = "POST"
  wrk.path = mode == "batch" and "/v1/events/batch" or "/v1/events"
  wrk.headers["Content-Type"] = mode == "batch" and "application/x-ndjson" or "application/json"
end

local fmt = string.format
local random = math.random
local find = string.find
local concat = table.concat
local amounts = {}  -- "1.00" .. "200.00", built once: a request costs string concatenations only
for c = 100, 20000 do amounts[#amounts + 1] = fmt("%d.%02d", math.floor(c / 100), c % 100) end

local function purchase()
  counter = counter + 1
  return '{"type":"purchase","order":"' .. prefix .. "-" .. tid .. "-" .. counter .. '","member":' .. members[random(#members)] ..
         ',"shop":"main","amount":"' .. amounts[random(#amounts)] .. '","at":1800000000000}'
end

function request()
  if mode == "batch" then
    local t = {}
    for i = 1, lines do t[i] = purchase() end
    t[lines + 1] = ""
    return wrk.format(nil, nil, nil, concat(t, "\n"))
  end
  return wrk.format(nil, nil, nil, purchase())
end

local function bad(n, what)
  events_bad = events_bad + n
  if sample_bad == "" then sample_bad = string.sub(what, 1, 300) end
end

-- Every line of an answer is {"seq":N,"status":CODE,"effects":[...]...}; effects hold no
-- "effects" key, so the plain occurrences of ,"status":"ok","effects": count the accepted events.
local OK = ',"status":"ok","effects":'

function response(status, headers, body)
  local expect = mode == "batch" and lines or 1
  if status ~= 200 then
    non_200 = non_200 + 1
    return bad(expect, status .. " " .. body)
  end
  local ok, at = 0, 1
  while true do
    local s, e = find(body, OK, at, true)
    if not s then break end
    ok = ok + 1
    at = e + 1
  end
  events_ok = events_ok + ok
  if ok ~= expect then bad(expect - ok, body) end
end

function done(summary, latency, requests)
  local ok, badn, n200, sample = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    ok = ok + t:get("events_ok")
    badn = badn + t:get("events_bad")
    n200 = n200 + t:get("non_200")
    if sample == "" then sample = t:get("sample_bad") end
  end
  local e = summary.errors
  sample = string.gsub(string.gsub(sample, '\\', '\\\\'), '"', '\\"')
  sample = string.gsub(sample, '%c', ' ')
  io.write(fmt('UPLINE_WRK {"requests":%d,"events_ok":%d,"events_bad":%d,"non_200":%d,' ..
               '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"duration_s":%.6f,' ..
               '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},"sample_bad":"%s"}\n',
               summary.requests, ok, badn, n200, e.connect, e.read, e.write, e.status, e.timeout,
               summary.duration / 1e6, latency:percentile(50), latency:percentile(90), latency:percentile(99),
               latency.max, latency.mean, sample))
end
