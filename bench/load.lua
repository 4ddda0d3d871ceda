-- wrk script of bench/load.py (`--driver wrk`): the same mix of requests as its Python clients,
-- sent by wrk (C, its own process) so that the clients do not take the server's cores.
--
-- Run with as many threads as connections (`-tN -cN`): each thread then has one connection, on
-- which a response always answers the last request the thread made. That is what lets a
-- response be counted for its kind and an answer link's 200 be tied to its token (wrk gives
-- no other way to pair a response with its request). bench/load.py writes the data file
-- (LOAD_DATA: the bearer token, feed tokens, answer tokens, organisations, searches, today),
-- reads the lines `done` prints, then checks the database: no lost write, no lost answer.

local data = dofile(os.getenv("LOAD_DATA"))
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("number", #threads)
end

-- Per thread (each thread runs its own copy of this script).
sent = {}
answered = {}
statuses = {}
acknowledged = {}
writes = 0
local kind = nil
local answer = nil

function init(args)
  math.randomseed(tonumber(data.seed) * 1000 + number)
end

local function pick(list)
  return list[math.random(#list)]
end

local function choose_kind()
  local draw = math.random(data.total_weight)
  for _, entry in ipairs(data.mix) do
    draw = draw - entry[2]
    if draw <= 0 then
      return entry[1]
    end
  end
  return data.mix[#data.mix][1]
end

local function api_headers()
  return { ["Authorization"] = "Bearer " .. data.token }
end

function request()
  kind = choose_kind()
  answer = nil
  sent[kind] = (sent[kind] or 0) + 1
  if kind == "lecture" then
    return wrk.format("GET", "/api/v1/organisations?limit=20", api_headers())
  elseif kind == "recherche" then
    return wrk.format("GET", "/api/v1/contacts?q=" .. pick(data.searches), api_headers())
  elseif kind == "écriture" then
    local headers = api_headers()
    headers["Content-Type"] = "application/json"
    local body = string.format(
      '{"occurred_on": "%s", "kind": "appel", "summary": "Appel de charge %.12f", '
        .. '"organisations": [%d]}',
      data.today, math.random(), pick(data.organisations))
    return wrk.format("POST", "/api/v1/interactions", headers, body)
  elseif kind == "flux" then
    return wrk.format("GET", "/calendar/feeds/" .. pick(data.feeds) .. ".ics", {})
  end
  answer = pick(data.answers)
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  return wrk.format("POST", "/r/" .. answer, headers, "reponse=" .. pick(data.choices))
end

function response(status, headers, body)
  local key = kind .. " " .. status
  statuses[key] = (statuses[key] or 0) + 1
  if kind == "écriture" and status == 201 then
    writes = writes + 1
  elseif answer ~= nil and status == 200 then
    acknowledged[answer] = true
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("summary %d %d\n", summary.requests, summary.duration))
  io.write(string.format(
    "socket %d %d %d %d\n", errors.connect, errors.read, errors.write, errors.timeout))
  io.write(string.format(
    "latency %d %d %d\n", latency:percentile(50), latency:percentile(99), latency.max))
  for _, thread in ipairs(threads) do
    for name, count in pairs(thread:get("sent")) do
      io.write(string.format("sent %s %d\n", name, count))
    end
    for key, count in pairs(thread:get("statuses")) do
      io.write(string.format("status %s %d\n", key, count))
    end
    for token, _ in pairs(thread:get("acknowledged")) do
      io.write(string.format("answer %s\n", token))
    end
    io.write(string.format("writes %d\n", thread:get("writes")))
  end
end
