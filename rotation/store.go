package rotation

import (
	"strconv"
	"strings"
	"time"
)

// What every Store shares, whatever keeps its data: how runs are numbered and how
// long a handled envelope id is remembered. The stores and their contract suite
// read these, so a second store cannot drift from the first.

// EnvelopeTTL is how long a Store remembers a handled Slack envelope id
// (MarkEnvelope). Slack redelivers within minutes; an hour is ample.
const EnvelopeTTL = time.Hour

// RunID is the id of run number n: 42 is "r42". Stores number runs from 1.
func RunID(n uint64) string { return "r" + strconv.FormatUint(n, 10) }

// ParseRunID turns "r42" into 42. Anything else is ENOTFOUND with a message that
// shows what a run id looks like.
func ParseRunID(id string) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimPrefix(id, "r"), 10, 64)
	if err != nil || !strings.HasPrefix(id, "r") || n == 0 {
		return 0, Errorf(ENOTFOUND, "%q is not a run id: run ids look like r42", id)
	}
	return n, nil
}
