-- wrk script for scenario (d): POST a 1 MiB body to /upload on every request.
wrk.method = "POST"
wrk.body = string.rep("x", 1024 * 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
