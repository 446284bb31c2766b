package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/sandbox/demo"

	"github.com/raxx-app/rotabot/handlers"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/sandbox"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
	"github.com/raxx-app/rotabot/store/bbolt"
	"github.com/slack-go/slack"
	bolt "go.etcd.io/bbolt"
)

// reminderOf waits for the start-up reminder of GITHUB_API_READONLY_TOKEN (its
// token expires in four and a half days: the 7-day reminder) in owen's DM and in #ops.
func (h *harness) reminderOf(t *testing.T) (dm, post sbslack.Message) {
	t.Helper()
	const says = "GITHUB_API_READONLY_TOKEN expires in 4 days, on "
	must(t, demo.WaitFor("the reminder DM and the ops post", func() bool {
		dms := h.World.Slack.DMs(demo.Owner)
		posts := h.reminderPosts()
		if len(dms) > 0 && len(posts) > 0 {
			dm, post = dms[0], posts[0]
			return true
		}
		return false
	}))
	for _, m := range []sbslack.Message{dm, post} {
		if !strings.HasPrefix(m.Text, says) {
			t.Errorf("reminder %q, want it to start %q", m.Text, says)
		}
		if _, ok := m.Button(handlers.LabelStart); !ok {
			t.Errorf("reminder without a %s button: %s", handlers.LabelStart, m.Content())
		}
	}
	if !strings.Contains(post.Content(), "Owners: <@"+demo.Owner+">") {
		t.Errorf("the ops post does not name the owner: %s", post.Content())
	}
	return dm, post
}

// reminderPosts are the reminders posted in #ops.
func (h *harness) reminderPosts() []sbslack.Message {
	var out []sbslack.Message
	for _, m := range h.World.Slack.Messages(demo.OpsChannel) {
		if strings.Contains(m.Text, " expires in ") || strings.Contains(m.Text, " expired on ") {
			out = append(out, m)
		}
	}
	return out
}

func TestReminderStartRotationFromTheDM(t *testing.T) {
	h := startBot(t)
	// owen owns the secret and is in the ops group here.
	h.World.Slack.AddUsergroup(h.Matrix.OpsUsergroup, demo.Alice, demo.Bob, demo.Operator, demo.Owner)
	dm, post := h.reminderOf(t)
	must(t, h.Click(demo.Owner, dm, handlers.LabelStart))
	card := h.mustCard(t, "r1", "Waiting for token")
	if card.Channel != demo.OpsChannel {
		t.Errorf("the card went to %s, want the ops channel", card.Channel)
	}
	if text := demo.CardText(card); !strings.Contains(text, "<@"+demo.Owner+">") {
		t.Errorf("the card does not name owen as the requester:\n%s", text)
	}
	h.mustEphemeral(t, demo.Owner, 1, "Started *r1*, a rotation of GITHUB_API_READONLY_TOKEN: its card is in <#C0OPS>")
	// Pressed again (here by alice, on the ops post): the open run, not a second one.
	must(t, h.Click(demo.Alice, post, handlers.LabelStart))
	h.mustEphemeral(t, demo.Alice, 1, "GITHUB_API_READONLY_TOKEN already has an open run, *r1*")
	if _, ok := h.Card("r2"); ok {
		t.Fatal("a second run started")
	}
	// One reminder each: a DM to the owner and one post.
	if n, m := len(h.World.Slack.DMs(demo.Owner)), len(h.reminderPosts()); n != 1 || m != 1 {
		t.Errorf("%d DMs and %d posts, want one each", n, m)
	}
}

func TestReminderStartRotationRefusedToNonOps(t *testing.T) {
	h := startBot(t)
	dm, post := h.reminderOf(t)
	// owen owns the secret but is not in the ops group.
	must(t, h.Click(demo.Owner, dm, handlers.LabelStart))
	h.mustEphemeral(t, demo.Owner, 1, "Only members of the ops user group")
	must(t, h.Click(demo.Mallory, post, handlers.LabelStart))
	h.mustEphemeral(t, demo.Mallory, 1, "Only members of the ops user group")
	time.Sleep(50 * time.Millisecond)
	if _, ok := h.Card(""); ok {
		t.Fatal("a refused Start rotation started a run")
	}
}

// ---- /rotate expiring with a thousand secrets ----

const bigOps = "U0BIGOPS"

// expiringBench is the handlers of a bot with n configured secrets, talking to
// the Slack stand-in through slack-go, and a way to make a fresh response_url
// (each takes five answers).
type expiringBench struct {
	slack *sbslack.Slack
	h     *handlers.Handlers
	st    *bbolt.Store
}

func newExpiringBench(tb testing.TB, n int) *expiringBench {
	tb.Helper()
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	bot, app := "xoxb-"+sandbox.RandomHex(6)+"-"+sandbox.RandomHex(12), "xapp-1-"+sandbox.RandomHex(12)
	s := sbslack.New(bot, app)
	tb.Cleanup(s.Close)
	s.AddUser(bigOps, "ops")
	s.AddUsergroup("S0OPS", bigOps)
	s.AddChannel(demo.OpsChannel, "ops")
	m := &rotation.Matrix{OpsUsergroup: "S0OPS", Channel: demo.OpsChannel, Secrets: map[string]*rotation.SecretConfig{}}
	// Written in one transaction (store's layout: bucket "expiry", JSON by secret):
	// a thousand PutExpiry calls would take seconds of fsync.
	path := filepath.Join(tb.TempDir(), "rotabot.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("expiry"))
		if err != nil {
			return err
		}
		for i := range n {
			name := fmt.Sprintf("GITHUB_PAT_FOR_SOME_LONG_SERVICE_NAME_%04d", i)
			m.Secrets[name] = &rotation.SecretConfig{Name: name, Kind: rotation.FineGrained}
			rec := rotation.ExpiryRecord{Secret: name, Fingerprint: rotation.Fingerprint(name), Login: "raxx-bot",
				Kind: rotation.FineGrained, ExpiresAt: now.Add(time.Duration(i*7%400-10) * 24 * time.Hour), CheckedAt: now}
			if i%50 == 0 {
				rec.Problem = "GitHub refuses the current token `" + rec.Fingerprint + "` (401): it was revoked, deleted or has expired"
			}
			v, _ := json.Marshal(rec)
			if err := b.Put([]byte(name), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = db.Close()
	}
	if err != nil {
		tb.Fatal(err)
	}
	st, err := bbolt.Open(path, time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	api := slack.New(bot, slack.OptionAPIURL(s.APIURL()))
	h := handlers.New(handlers.Config{Matrix: m, Store: st, Slack: api, HTTP: &http.Client{Timeout: 10 * time.Second},
		Now: func() time.Time { return now }, Work: context.Background()})
	return &expiringBench{slack: s, h: h, st: st}
}

// command is /rotate expiring as Slack would hand it to the handler: with a
// response_url the stand-in made (the envelope waits unread: no bot is connected).
func (e *expiringBench) command(tb testing.TB) slack.SlashCommand {
	id, err := e.slack.SendSlashCommand(sbslack.SlashCommand{User: bigOps, Channel: demo.OpsChannel, Command: "/rotate", Text: "expiring"})
	if err != nil {
		tb.Fatal(err)
	}
	env, _ := e.slack.Envelope(id)
	var cmd slack.SlashCommand
	if err := json.Unmarshal(env.Payload, &cmd); err != nil || cmd.ResponseURL == "" {
		tb.Fatalf("no response_url in %s (%v)", env.Payload, err)
	}
	return cmd
}

func TestRotateExpiringWithAThousandSecrets(t *testing.T) {
	e := newExpiringBench(t, 1000)
	e.h.Command(context.Background(), e.command(t))
	answers := e.slack.Ephemerals(bigOps)
	if len(answers) == 0 || len(answers) > handlers.ExpiryMaxMessages {
		t.Fatalf("%d answers", len(answers))
	}
	listed := 0
	for i, a := range answers {
		if n := len([]rune(a.Text)); n > 40000 || a.Method != "response_url" {
			t.Errorf("answer %d: %d characters via %s", i, n, a.Method)
		}
		for _, line := range strings.Split(a.Text, "\n") {
			if strings.HasPrefix(line, "`") {
				listed++
			}
		}
	}
	if !strings.HasPrefix(answers[0].Text, "*Expiry of 1000 secrets, soonest first* · 🚨 20 with a problem") {
		t.Errorf("first answer starts %.120q", answers[0].Text)
	}
	if listed != 1000 {
		t.Errorf("%d secrets listed in %d answers, want all 1000", listed, len(answers))
	}
}

// BenchmarkRotateExpiring1000 times the /rotate expiring handler with 1,000
// configured secrets: the bbolt read, the ops-group check (cached after the
// first) and every answer posted to the Slack stand-in's response_url through
// slack-go. The envelope is acked before the handler runs; this is how long the
// person waits for the list.
func BenchmarkRotateExpiring1000(b *testing.B) {
	e := newExpiringBench(b, 1000)
	ctx := context.Background()
	e.h.Command(ctx, e.command(b)) // warm the ops-group cache and connections
	for b.Loop() {
		b.StopTimer()
		cmd := e.command(b)
		b.StartTimer()
		e.h.Command(ctx, cmd)
	}
}
