//go:build linux

package bbolt

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// mappedKB is how much of the file at path is resident in this process, from
// /proc/self/smaps.
func mappedKB(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kb, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) >= 5 && strings.Contains(fields[0], "-"):
			in = len(fields) >= 6 && fields[5] == path
		case in && len(fields) >= 2 && fields[0] == "Rss:":
			var n int
			fmt.Sscan(fields[1], &n)
			kb += n
		}
	}
	return kb
}

// A secret's history read whole (as the retired-token check reads it) does not
// keep the file resident in the process: the pages it read are dropped after
// the read, and a later read finds the same runs.
func TestAReadOfAWholeHistoryLeavesTheFileOutOfResidentMemory(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	at := time.Unix(1_700_000_000, 0).UTC()
	for i := range 300 {
		r := &rotation.Run{Secret: "A_TOKEN", State: rotation.StateCompleted, Created: at, Updated: at,
			Notice: strings.Repeat(fmt.Sprintf("run %d. ", i), 400)}
		if _, err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	size, err := os.Stat(s.path)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := s.ListRuns(ctx, rotation.RunFilter{Secret: "A_TOKEN"})
	if err != nil || len(runs) != 300 {
		t.Fatalf("%d runs, %v", len(runs), err)
	}
	if kb := mappedKB(t, s.path); kb > int(size.Size()/1024/8) {
		t.Errorf("%d KB of the %d KB file still resident after reading its history", kb, size.Size()/1024)
	}
	again, err := s.ListRuns(ctx, rotation.RunFilter{Secret: "A_TOKEN", Limit: 1})
	if err != nil || len(again) != 1 || again[0].Notice != runs[0].Notice {
		t.Fatalf("the newest run read again: %v", err)
	}
	// A read of a few runs keeps what it read.
	if kb := mappedKB(t, s.path); kb == 0 {
		t.Error("a read of one run left nothing resident: the measure shows nothing")
	}
}

// Runs read one by one as a process carries them on do not keep the file
// resident either: once dropEvery has passed, the next run written drops the
// pages read since.
func TestRunsReadOneByOneLeaveTheFileOutOfResidentMemory(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	var ids []string
	for i := range 300 {
		r, err := s.CreateRun(ctx, &rotation.Run{Secret: fmt.Sprintf("TOKEN_%d", i), State: rotation.StateCompleted,
			Notice: strings.Repeat(fmt.Sprintf("run %d. ", i), 400)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	for _, id := range ids {
		if _, err := s.GetRun(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	size, err := os.Stat(s.path)
	if err != nil {
		t.Fatal(err)
	}
	if kb := mappedKB(t, s.path); kb < int(size.Size()/1024/2) {
		t.Fatalf("only %d KB of %d KB resident after reading every run: the measure shows nothing", kb, size.Size()/1024)
	}
	s.dropped.Store(time.Now().Add(-dropEvery).UnixNano())
	if _, err := s.UpdateRun(ctx, ids[0], func(r *rotation.Run) error { r.Notice = "read again"; return nil }); err != nil {
		t.Fatal(err)
	}
	if kb := mappedKB(t, s.path); kb > int(size.Size()/1024/8) {
		t.Errorf("%d KB of the %d KB file still resident after a run was written past dropEvery", kb, size.Size()/1024)
	}
}
