storage "file" { path = "/e" }
