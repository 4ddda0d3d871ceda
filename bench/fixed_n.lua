-- wrk: stop after a fixed number of answers (WRK_N, default 2000), so that the server's CPU is
-- read over the same number of requests on every side (bench/ab.sh, bench/ab_public.sh; run
-- with -t1 and a -d long enough to reach it). WRK_BODY set: the request is that form, POSTed
-- (the answer link's « oui », bench/answer_post.lua's request).
local wanted = tonumber(os.getenv("WRK_N") or "2000")
local answered = 0
local body = os.getenv("WRK_BODY")
if body and body ~= "" then
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function response(status, headers, body)
  answered = answered + 1
  if answered >= wanted then
    wrk.thread:stop()
  end
end
