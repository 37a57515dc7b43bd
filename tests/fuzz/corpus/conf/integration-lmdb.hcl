storage "lmdb" {
  path = "/tmp/d"
}
listener "tcp" {
  address = "127.0.0.1:0"
  tls_disable = true
}
disable_mlock = true
log_level = "debug"
