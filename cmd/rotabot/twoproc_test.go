package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/sandbox/demo"

	"github.com/jackc/pgx/v5"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox"
	sbgithub "github.com/raxx-app/rotabot/sandbox/github"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
	"github.com/raxx-app/rotabot/store/postgres"
	"github.com/raxx-app/rotabot/store/postgres/pgtest"
)

// TestTwoProcessesOnePostgres runs two `rotabot serve` processes on one PostgreSQL
// database, as two Heroku worker dynos would. The Slack stand-in spreads envelopes
// over both connections, so every gesture may land on either process. It shows:
//   - a redelivered envelope reaching the other process is handled once;
//   - two /rotate of one secret landing on both processes at once make one run;
//   - two Approve clicks landing on both processes make one transition;
//   - the process carrying a run on is killed (SIGKILL) while a Heroku write is in
//     flight: the other takes the run over once the claim expires, and finishes it;
//   - every run completes exactly once, with one audit entry, and every destination
//     ends with the new value.
func TestTwoProcessesOnePostgres(t *testing.T) {
	dbURL := pgtest.URL(t)
	ctx := context.Background()
	h, err := newWorld(rotation.WallNow())
	if err != nil {
		t.Fatal(err)
	}
	w, env := h.World, h.Env
	t.Cleanup(h.Close)
	// The dispatch secret's new token (classic), and its shell-rc operator's DM.
	dispatchNew := "ghp_" + sandbox.RandomHex(18)
	w.GitHub.AddToken(sbgithub.TokenSpec{Value: dispatchNew, Login: "raxx-bot", Expires: rotation.WallNow().Add(90 * 24 * time.Hour),
		Scopes: []string{"read:org", "repo:status", "workflow"}, Repos: []string{"raxx-app/TradeMasterAPI"}})
	w.Slack.AddChannel("D0AJ7K184TV", "directmessage")
	env["DATABASE_URL"] = dbURL
	env["ROTABOT_CLAIM_TTL"] = "2s" // a dead process's run is taken over within seconds

	procs := []*proc{startProc(t, "A", env, "serve"), startProc(t, "B", env, "serve")}
	if err := w.Slack.WaitConnected(2, 60*time.Second); err != nil {
		t.Fatalf("%v\nA:\n%s\nB:\n%s", err, procs[0].output(), procs[1].output())
	}
	db := pgConn(t, dbURL)

	// r1: GITHUB_API_READONLY_TOKEN. Its envelope is redelivered: the next
	// envelope goes to the other process, which must drop it.
	id, err := w.Slack.SendSlashCommand(sbslack.SlashCommand{User: demo.Alice, Channel: demo.OpsChannel, Command: "/rotate", Text: "GITHUB_API_READONLY_TOKEN"})
	must(t, err)
	_, err = w.Slack.WaitAck(id, 10*time.Second)
	must(t, err)
	must(t, w.Slack.Redeliver(id, "timeout"))
	_, err = w.Slack.WaitAck(id, 10*time.Second)
	must(t, err)
	card := h.mustCardOf(t, procs, "r1", "Waiting for token")

	// r2: alice and bob both type /rotate GITHUB_API_DISPATCH_TOKEN at once; the
	// two envelopes go to the two processes.
	var ids []string
	for _, u := range []string{demo.Alice, demo.Bob} {
		id, err := w.Slack.SendSlashCommand(sbslack.SlashCommand{User: u, Channel: demo.OpsChannel, Command: "/rotate", Text: "GITHUB_API_DISPATCH_TOKEN"})
		must(t, err)
		ids = append(ids, id)
	}
	for _, id := range ids {
		_, err := w.Slack.WaitAck(id, 10*time.Second)
		must(t, err)
	}
	card2 := h.mustCardOf(t, procs, "r2", "Waiting for token")
	var requester string
	must(t, demo.WaitFor("the busy answer to the second /rotate", func() bool {
		for _, u := range []string{demo.Alice, demo.Bob} {
			for _, e := range w.Slack.Ephemerals(u) {
				if strings.Contains(e.Text, "GITHUB_API_DISPATCH_TOKEN already has an open run, *r2*") {
					requester = map[string]string{demo.Alice: demo.Bob, demo.Bob: demo.Alice}[u]
					return true
				}
			}
		}
		return false
	}))
	if n := len(w.Slack.Ephemerals(demo.Alice)) + len(w.Slack.Ephemerals(demo.Bob)); n != 1 {
		t.Fatalf("%d answers to the three /rotate, want 1 (the busy one): the redelivered envelope was handled again?", n)
	}

	// Tokens submitted; r2 approved and propagated as usual.
	ack, err := h.SubmitToken(demo.Alice, card, h.Fresh[0])
	must(t, err)
	if strings.Contains(string(ack), "errors") {
		t.Fatalf("r1's token refused: %s", ack)
	}
	card = h.mustCardOf(t, procs, "r1", "Waiting for approval")
	ack, err = h.SubmitToken(requester, card2, dispatchNew)
	must(t, err)
	if strings.Contains(string(ack), "errors") {
		t.Fatalf("r2's token refused: %s", ack)
	}
	card2 = h.mustCardOf(t, procs, "r2", "Waiting for approval")
	must(t, h.Click(demo.Operator, card2, handlers.LabelApprove))
	card2 = h.mustCardOf(t, procs, "r2", "Waiting for revoke")

	// r1: one Heroku app answers slowly, so propagation is in flight for a while.
	// Bob's Approve arrives twice, once at each process: one transition.
	w.Heroku.Fail("PATCH /apps/{app}/config-vars", &sandbox.Fault{Latency: 30 * time.Second, Times: 1})
	before := h.EphemeralCount(demo.Bob)
	var approvals []string
	for range 2 {
		id, err := w.Slack.Click(demo.Bob, card, handlers.LabelApprove)
		must(t, err)
		approvals = append(approvals, id)
	}
	for _, id := range approvals {
		_, err := w.Slack.WaitAck(id, 10*time.Second)
		must(t, err)
	}
	h.mustEphemeral(t, demo.Bob, before+1, "This run has moved on: r1 is now")

	// Kill the process that holds r1's claim while the slow write is in flight.
	var owner string
	must(t, demo.WaitFor("r1 to be propagating, with one Heroku write in flight", func() bool {
		r := storedRun(t, db, "r1")
		writing, pending := 0, 0
		for _, d := range r.Destinations {
			switch d.State {
			case rotation.DestWriting:
				if d.Kind == rotation.DestHeroku {
					writing++
				} else {
					pending++ // not yet done: wait for the fast ones
				}
			case rotation.DestPending:
				pending++
			}
		}
		owner = claimOwner(t, db, "r1")
		return r.State == rotation.StatePropagating && writing == 1 && pending == 0 && owner != ""
	}))
	holder, survivor := procOfOwner(t, procs, owner)
	holder.kill()
	killedAt := time.Now()
	t.Logf("killed %s (pid %d), which held r1's claim mid-propagation", holder.name, holder.pid())
	must(t, demo.WaitFor("the Slack stand-in to drop the dead link", func() bool { return w.Slack.Connections() == 1 }))

	// The survivor takes r1 over once the claim expires, and redoes the write.
	card = h.mustCardOf(t, []*proc{survivor}, "r1", "Waiting for revoke")
	t.Logf("%s took r1 over and finished propagation %s after the kill", survivor.name, time.Since(killedAt).Round(100*time.Millisecond))
	for _, c := range []sbslack.Message{card, card2} {
		must(t, h.Click(demo.Alice, c, handlers.LabelRevokeAPI))
	}
	h.mustCardOf(t, []*proc{survivor}, "r1", "Completed")
	h.mustCardOf(t, []*proc{survivor}, "r2", "Completed")

	// Every run completed once, with one audit entry each.
	st, err := postgres.Open(ctx, dbURL)
	must(t, err)
	defer st.Close()
	runs, err := st.ListRuns(ctx, rotation.RunFilter{})
	must(t, err)
	if len(runs) != 2 || runs[0].State != rotation.StateCompleted || runs[1].State != rotation.StateCompleted {
		t.Fatalf("runs: %v", runStates(runs))
	}
	audits, err := st.ListAudit(ctx, "", 0)
	must(t, err)
	perRun := map[string]int{}
	for _, a := range audits {
		if a.Action == rotation.ActionCompleted {
			perRun[a.RunID]++
		}
	}
	if len(audits) != 2 || perRun["r1"] != 1 || perRun["r2"] != 1 {
		t.Fatalf("audit entries: %+v", audits)
	}
	must(t, demo.WaitFor("two audit posts", func() bool { return len(w.Slack.Messages(demo.AuditChannel)) >= 2 }))
	time.Sleep(100 * time.Millisecond)
	if posts := w.Slack.Messages(demo.AuditChannel); len(posts) != 2 {
		t.Fatalf("%d audit posts, want 2", len(posts))
	}
	logs := procs[0].output() + procs[1].output()
	for _, r := range []string{"r1", "r2"} {
		if n := countLogLines(logs, "run moved", r, string(rotation.StateCompleted)); n != 1 {
			t.Errorf("%s moved to completed %d times in the two processes' logs", r, n)
		}
	}
	// Every destination holds the new value; the old tokens are revoked.
	for secret, want := range map[string]string{"GITHUB_API_READONLY_TOKEN": h.Fresh[0], "GITHUB_API_DISPATCH_TOKEN": dispatchNew} {
		for dest, v := range h.destValues(secret) {
			if v != want {
				t.Errorf("%s: %s holds %s, want the new token %s", secret, dest, rotation.Fingerprint(v), rotation.Fingerprint(want))
			}
		}
	}
	if !w.GitHub.Revoked(h.OldToken) || !w.GitHub.Revoked(h.DispatchToken) {
		t.Error("an old token was not revoked")
	}
	if code := survivor.stop(15 * time.Second); code != 0 {
		t.Errorf("the survivor exited %d at SIGTERM:\n%s", code, survivor.stderr.String())
	}
	// No token reached Slack, a log line or the database.
	everything := w.Slack.AllText() + "\n" + procs[0].output() + "\n" + procs[1].output() + "\n" + dumpTables(t, db)
	if l := demo.Leaks(everything, append(h.Secrets(), dispatchNew)); l != "" {
		t.Fatalf("leaked: %s", l)
	}
}

// mustCardOf waits for run id's card to show word; on failure it shows the card
// and what the processes printed.
func (h *harness) mustCardOf(t *testing.T, procs []*proc, id, word string) sbslack.Message {
	t.Helper()
	m, err := h.WaitCard(id, word)
	if err != nil {
		got, _ := h.Card(id)
		var out strings.Builder
		for _, p := range procs {
			fmt.Fprintf(&out, "--- %s (pid %d):\n%s\n", p.name, p.pid(), p.output())
		}
		t.Fatalf("%v; the card shows:\n%s\n%s", err, demo.CardText(got), out.String())
	}
	return m
}

func pgConn(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// storedRun reads a run as the database holds it now (zero before it exists).
func storedRun(t *testing.T, db *pgx.Conn, id string) rotation.Run {
	t.Helper()
	var r rotation.Run
	n, _ := strconv.Atoi(strings.TrimPrefix(id, "r"))
	var raw []byte
	err := db.QueryRow(context.Background(), `SELECT run FROM runs WHERE id = $1`, n).Scan(&raw)
	if err == pgx.ErrNoRows {
		return r
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// claimOwner is who holds the claim on a run ("" for nobody).
func claimOwner(t *testing.T, db *pgx.Conn, id string) string {
	t.Helper()
	var owner string
	err := db.QueryRow(context.Background(), `SELECT owner FROM run_claims WHERE run_id = $1 AND until > now()`, id).Scan(&owner)
	if err != nil && err != pgx.ErrNoRows {
		t.Fatal(err)
	}
	return owner
}

// procOfOwner finds the process named by a claim owner ("host:pid:nanos", the
// engine's default owner name) and returns it and the other one.
func procOfOwner(t *testing.T, procs []*proc, owner string) (holder, other *proc) {
	t.Helper()
	parts := strings.Split(owner, ":")
	if len(parts) < 3 {
		t.Fatalf("claim owner %q does not name a pid", owner)
	}
	pid, _ := strconv.Atoi(parts[len(parts)-2])
	for i, p := range procs {
		if p.pid() == pid {
			return p, procs[1-i]
		}
	}
	t.Fatalf("claim owner %q is neither process (%d, %d)", owner, procs[0].pid(), procs[1].pid())
	return nil, nil
}

// countLogLines counts JSON log lines with message msg for run whose "to" is to.
func countLogLines(logs, msg, run, to string) int {
	n := 0
	for _, l := range strings.Split(logs, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) != nil {
			continue
		}
		if rec["msg"] == msg && rec["run"] == run && rec["to"] == to {
			n++
		}
	}
	return n
}

func runStates(rs []*rotation.Run) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID+" "+string(r.State))
	}
	return out
}

// dumpTables is every row the bot stored, as text, for leak checks.
func dumpTables(t *testing.T, db *pgx.Conn) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{`SELECT run::text FROM runs`, `SELECT entry::text FROM audit`, `SELECT record::text FROM expiry`,
		`SELECT id FROM envelopes`, `SELECT owner FROM run_claims`} {
		rows, err := db.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		vals, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(strings.Join(vals, "\n"))
		b.WriteString("\n")
	}
	return b.String()
}
