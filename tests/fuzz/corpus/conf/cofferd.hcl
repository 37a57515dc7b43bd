# cofferd.hcl -- the configuration "make run" uses.  See cofferd.hcl(5).

# LMDB in ./data, created on first start.
storage "lmdb" {
  path = "./data"
}

# Plain HTTP on the loopback interface only.  Anything reachable from
# other hosts should set tls_cert_file and tls_key_file instead.
listener "tcp" {
  address     = "127.0.0.1:8200"
  tls_disable = true
}

api_addr = "http://127.0.0.1:8200"

# Unprivileged users often have a small RLIMIT_MEMLOCK.  In production
# set this to false (and raise the limit) so keys never reach swap.
disable_mlock = true

log_level = "info"
