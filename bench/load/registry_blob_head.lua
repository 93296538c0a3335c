-- wrk script of bench/load/registry.sh: blob existence checks, as clients make before
-- each upload.
wrk.method = "HEAD"
