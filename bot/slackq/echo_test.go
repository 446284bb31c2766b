package slackq_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/raxx-app/rotabot/bot/slackq"
	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
)

// recorder keeps the answers as they reached slack-go.
type recorder struct {
	next    http.RoundTripper
	answers map[string]string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r.answers[req.URL.Path[strings.LastIndex(req.URL.Path, "/")+1:]] = string(body)
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp, nil
}

// A post and an update through WithoutEcho reach slack-go without the message
// Slack echoes (its blocks), and slack-go still hands back the channel, the ts and
// the text; the message itself is posted and updated as sent, and an error
// answer passes as it came.
func TestWithoutEchoDropsTheMessageSlackEchoes(t *testing.T) {
	s := sbslack.New(bot, app)
	t.Cleanup(s.Close)
	s.AddUser("U1", "alice")
	s.AddChannel("C0OPS", "ops")
	s.SetLimits(sbslack.Limits{})
	rec := &recorder{next: slackq.WithoutEcho(nil), answers: map[string]string{}}
	api := slack.New(bot, slack.OptionAPIURL(s.APIURL()), slack.OptionHTTPClient(&http.Client{Transport: rec}))
	ctx := context.Background()
	section := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*Rotation r1*: Waiting for token", false, false), nil, nil)
	ch, ts, err := api.PostMessageContext(ctx, "C0OPS", slack.MsgOptionText("Rotation r1: Waiting for token", false), slack.MsgOptionBlocks(section))
	if err != nil || ch != "C0OPS" || ts == "" {
		t.Fatalf("post: %q %q %v", ch, ts, err)
	}
	section = slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*Rotation r1*: Completed", false, false), nil, nil)
	ch, uts, text, err := api.UpdateMessageContext(ctx, "C0OPS", ts, slack.MsgOptionText("Rotation r1: Completed", false), slack.MsgOptionBlocks(section))
	if err != nil || ch != "C0OPS" || uts != ts || text != "Rotation r1: Completed" {
		t.Fatalf("update: %q %q %q %v", ch, uts, text, err)
	}
	for _, m := range []string{"chat.postMessage", "chat.update"} {
		a := rec.answers[m]
		if !strings.Contains(a, `"ok":true`) || !strings.Contains(a, `"ts":"`+ts+`"`) || strings.Contains(a, `"message"`) || strings.Contains(a, "Rotation r1*") {
			t.Errorf("%s's answer reached slack-go as %s", m, a)
		}
	}
	if m, ok := s.Message("C0OPS", ts); !ok || m.Text != "Rotation r1: Completed" || !strings.Contains(m.Content(), "*Rotation r1*: Completed") {
		t.Errorf("the message in the channel: %+v", m)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C0OPS", "1.999", slack.MsgOptionText("x", false)); err == nil || !strings.Contains(err.Error(), "message_not_found") {
		t.Errorf("an error answer: %v", err)
	}
	// Every other method's answer passes whole.
	if _, err := api.PostEphemeralContext(ctx, "C0OPS", "U1", slack.MsgOptionText("only you", false)); err != nil {
		t.Fatal(err)
	}
	if a := rec.answers["chat.postEphemeral"]; !strings.Contains(a, `"message_ts":"`) {
		t.Errorf("chat.postEphemeral's answer reached slack-go as %s", a)
	}
}

// BenchmarkWithoutEcho is one chat.update answer with a run card's echo (the
// card of a run with three Heroku apps mid-way) going through WithoutEcho.
func BenchmarkWithoutEcho(b *testing.B) {
	golden, err := os.ReadFile("../../handlers/card/testdata/run_heroku_phases.golden.json")
	if err != nil {
		b.Fatal(err)
	}
	var card struct {
		Text   string          `json:"text"`
		Blocks json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(golden, &card); err != nil {
		b.Fatal(err)
	}
	msg, _ := json.Marshal(map[string]any{"type": "message", "user": "U0BOT", "bot_id": "B0BOT", "app_id": "A0APP", "team": "T0TEAM",
		"text": card.Text, "ts": "1733400000.000100", "blocks": card.Blocks})
	answer, _ := json.Marshal(map[string]any{"ok": true, "channel": "C0OPS", "ts": "1733400000.000100", "text": card.Text, "message": json.RawMessage(msg)})
	rt := slackq.WithoutEcho(roundTripper(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(answer))}, nil
	}))
	req, _ := http.NewRequest(http.MethodPost, "https://slack.com/api/chat.update", nil)
	b.SetBytes(int64(len(answer)))
	b.ReportAllocs()
	for b.Loop() {
		resp, err := rt.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		if out, _ := io.ReadAll(resp.Body); bytes.Contains(out, []byte(`"message"`)) || !bytes.Contains(out, []byte(`"ts"`)) {
			b.Fatalf("trimmed to %s", out)
		}
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
