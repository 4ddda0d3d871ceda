-- wrk: end after a fixed number of answers (WRK_N, default 2000), so that the server's CPU is
-- read over the same number of requests on every side (bench/ab.sh, bench/ab_public.sh; run
-- with -t1). wrk has no request count of its own and its thread:stop() leaves the process
-- running until -d is over, so the script leaves wrk at the N-th answer (os.exit): wrk prints
-- nothing, the scripts time the run and read the server's CPU themselves. WRK_BODY set: the
-- request is that form, POSTed (the answer link's « oui »).
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
  if status >= 300 and status ~= 304 then
    io.stderr:write("status " .. status .. "\n")
  end
  if answered >= wanted then
    os.exit(0)
  end
end
