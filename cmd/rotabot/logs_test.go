package main

import (
	"encoding/json"
	"github.com/raxx-app/rotabot/sandbox/demo"
	"strings"
	"testing"

	"github.com/raxx-app/rotabot/handlers"
)

// Every log line of a whole run is JSON; every line about the run names the run,
// the secret and the step.
func TestLogLinesOfAWholeRun(t *testing.T) {
	h := startBot(t)
	card := h.toApproval(t, "r1")
	must(t, h.Click(demo.Bob, card, handlers.LabelApprove))
	card = h.mustCard(t, "r1", "Waiting for revoke")
	must(t, h.Click(demo.Bob, card, handlers.LabelRevokeAPI))
	h.mustCard(t, "r1", "Completed")
	h.StopBot()

	// Lines about the process, not a run.
	process := map[string]bool{"connecting to Slack": true, "connected to Slack": true, "store opened": true,
		"stopping: finishing the step in hand": true, "stopped": true}
	lines := strings.Split(strings.TrimSpace(h.Logs.String()), "\n")
	aboutRun := 0
	for _, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		msg, _ := rec["msg"].(string)
		if process[msg] || strings.HasPrefix(msg, "reminder") || strings.Contains(msg, "expiry") {
			continue
		}
		aboutRun++
		for _, k := range []string{"run", "secret", "step"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("line without %q: %s", k, line)
			}
		}
	}
	if aboutRun < 8 {
		t.Fatalf("only %d log lines about the run:\n%s", aboutRun, h.Logs.String())
	}
}
