h = <<EOT
line 1
  line 2
EOT
i = <<-EOT
    indented
    EOT
j = "a\"b\\c\u00e9"
k = [1, 2,]
l = { m = "n", o = 0x1f }
