path "secret/*" "x" "y" {
  capabilities = ["read"]
}
