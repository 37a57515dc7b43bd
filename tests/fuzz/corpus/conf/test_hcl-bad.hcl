storage "lmdb" {}
listener "tcp" { tls_disable = "maybe" }
bogus = 1
log_level = "loud"
worker_threads = 0
default_lease_ttl = "2d"
