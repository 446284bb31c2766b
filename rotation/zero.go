package rotation

import "time"

var zeroTime time.Time
