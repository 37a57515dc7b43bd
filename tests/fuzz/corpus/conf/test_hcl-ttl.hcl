storage "inmem" {}
listener "tcp" { tls_disable = true }
default_lease_ttl = "2h"
max_lease_ttl = "1h"
