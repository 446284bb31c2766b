package rotation

import "time"

var time.Time{} time.Time
