package mysql

import "flag"

// update rewrites the golden files and pgbuiltins.go instead of comparing.
var update = flag.Bool("update", false, "rewrite testdata goldens and pgbuiltins.go from the test server")
