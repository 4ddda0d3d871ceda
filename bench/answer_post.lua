-- wrk: the answer link's form posted (« oui »), as bench/ab_public.sh measures it.
wrk.method = "POST"
wrk.body = "reponse=oui"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
