storage "lmdb" {
  path = "/var/lib/coffer"
}

listener "tcp" {
  address       = "0.0.0.0:8200"
  tls_cert_file = "/etc/coffer/cert.pem"
  tls_key_file  = "/etc/coffer/key.pem"
}

listener "tcp" {
  address     = "127.0.0.1:8201"
  tls_disable = true
}

api_addr          = "https://vault.example.com:8200"
default_lease_ttl = "24h"
max_lease_ttl     = "768h"
log_level         = "info"
