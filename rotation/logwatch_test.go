package rotation_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// The log watch shows a matched line only masked (rotation/mask, through the
// engine's Masker), or withholds it.

// leaked returns the first stretch of secret (8 characters, or the whole of a
// shorter one, in any letter case) that s still holds, or "".
func leaked(s, secret string) string {
	low, sec := strings.ToLower(s), strings.ToLower(secret)
	if len(sec) < 8 {
		if strings.Contains(low, sec) {
			return secret
		}
		return ""
	}
	for i := 0; i+8 <= len(sec); i++ {
		if strings.Contains(low, sec[i:i+8]) {
			return secret[i : i+8]
		}
	}
	return ""
}

// noRunTokenIn fails the test when text holds 8 characters of a token of the test.
func noRunTokenIn(t *testing.T, what, text string) {
	t.Helper()
	for _, tok := range []string{oldToken, newToken, otherToken} {
		if l := leaked(text, strings.TrimPrefix(tok, "github_pat_")); l != "" {
			t.Errorf("%s holds %q of a token: %q", what, l, text)
		}
	}
}

// A matched line that holds pieces of the run's old and new token, in shapes no
// pattern knows, reaches the card, the thread and the store with both masked.
func TestLogWatchMasksTheRunsOwnValues(t *testing.T) {
	w, f, r := watchWorld(t, time.Minute, nil)
	waitRun(t, w, r.ID, "prod's log open", func(r *rotation.Run) bool { return dest(t, r, "raxx-console-prod").Watch.Read })
	line := "GitHub 401 Bad credentials with key ending " + newToken[len(newToken)-12:] + ", previous started " + oldToken[11:21]
	f.inject("raxx-console-prod", rotation.LogLine{Time: realNow(), Source: "app[web.1]", Text: line})
	r = waitRun(t, w, r.ID, "the match", func(r *rotation.Run) bool { return r.State == rotation.StateVerifyFailed })
	d := dest(t, r, "raxx-console-prod")
	if !strings.Contains(d.Watch.Match, "app[web.1]: GitHub 401 Bad credentials with key ending [masked], previous started [masked]") {
		t.Errorf("the match as recorded: %q", d.Watch.Match)
	}
	noRunTokenIn(t, "the match", d.Watch.Match)
	noRunTokenIn(t, "the destination's error", d.LastError)
	noRunTokenIn(t, "the run's notice", r.Notice)
	w.eng.Drain()
	w.eng.Wait()
	w.notes.mu.Lock()
	noRunTokenIn(t, "the thread", strings.Join(w.notes.notes, "\n"))
	w.notes.mu.Unlock()
	w.assertNoTokenInFile()
}

// When the run's values cannot be read to mask the line with, the line is
// withheld: the card says when, where and which pattern, and the match still
// fails the destination.
func TestLogWatchWithholdsALineItCannotMask(t *testing.T) {
	w, f, r := watchWorld(t, time.Minute, nil)
	waitRun(t, w, r.ID, "prod's log open", func(r *rotation.Run) bool { return dest(t, r, "raxx-console-prod").Watch.Read })
	w.vault.FailVersions(rotation.Errorf(rotation.EUNAVAILABLE, "Infisical did not answer in time"))
	f.inject("raxx-console-prod", rotation.LogLine{Time: realNow(), Source: "app[web.1]", Text: "GitHub said Bad credentials; retrying with key part " + newToken[20:30]})
	r = waitRun(t, w, r.ID, "the match", func(r *rotation.Run) bool { return r.State == rotation.StateVerifyFailed })
	d := dest(t, r, "raxx-console-prod")
	want := `app[web.1]: (the line is withheld — rotabot could not read the run's old token from Infisical to mask it (Infisical did not answer in time); it matched "Bad credentials": read it in the app's log)`
	if d.State != rotation.DestFailed || !strings.Contains(d.Watch.Match, want) || strings.Contains(d.Watch.Match, "retrying") {
		t.Errorf("prod: %s, match %q", d.State, d.Watch.Match)
	}
	noRunTokenIn(t, "the destination's error", d.LastError)
	w.eng.Drain()
	w.eng.Wait()
	w.assertNoTokenInFile()
}

// An engine without a Masker shows no matched line at all: the line is told by
// its time, source and pattern, and the match still fails the destination.
func TestLogWatchWithoutAMaskerWithholdsTheLine(t *testing.T) {
	w := newWorld(t)
	w.matrix.Secrets[secretName].LogWatch = rotation.LogWatch{Window: time.Minute}
	f := newFakeHeroku(realNow, "raxx-console-prod", "raxx-console-staging")
	w.restarting(f, nil)
	w.withEngine(func(c *rotation.EngineConfig) { c.Masker = nil })
	ctx := context.Background()
	r := w.toApproval(ctx)
	ok(t)(w.eng.Approve(ctx, r.ID, "U0BOB"))
	r = ok(t)(w.eng.Advance(ctx, r.ID))
	wantState(t, r, rotation.StateWaitingRevoke)
	waitRun(t, w, r.ID, "prod's log open", func(r *rotation.Run) bool { return dest(t, r, "raxx-console-prod").Watch.Read })
	f.inject("raxx-console-prod", rotation.LogLine{Time: realNow(), Source: "app[web.1]", Text: "GitHub 401 Bad credentials; user=raxx-bot"})
	r = waitRun(t, w, r.ID, "the match", func(r *rotation.Run) bool { return r.State == rotation.StateVerifyFailed })
	d := dest(t, r, "raxx-console-prod")
	want := `app[web.1]: (the line is withheld — rotabot has no masker for log lines; it matched "Bad credentials": read it in the app's log)`
	if d.State != rotation.DestFailed || !strings.Contains(d.Watch.Match, want) || strings.Contains(d.Watch.Match, "raxx-bot") {
		t.Errorf("prod: %s, match %q", d.State, d.Watch.Match)
	}
	w.eng.Drain()
	w.eng.Wait()
}
