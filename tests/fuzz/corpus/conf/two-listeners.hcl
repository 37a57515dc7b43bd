listener "tcp" { address = "127.0.0.1:1" tls_disable = "t" }
listener "tcp" "x" {}
listener "udp" { }
/* comment */ // comment
# comment
api_addr = <<EOT
http://x
EOT
max_lease_ttl = "1.5h"
