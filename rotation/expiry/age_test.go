package expiry_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/expiry"
)

// Age (max_age): a token is due at the earlier of its expiry and its creation
// plus max_age; the reminders say so at the same thresholds, then daily.

const day = 24 * time.Hour

// ageStart is an hour of today's wall clock: the age tests' clock starts there,
// so no fixture carries a date the wall clock will pass.
func ageStart() time.Time { return rotation.WallNow().UTC().Truncate(time.Hour) }

// ageWorld is the reminder world at ageStart with the secret's max_age set and
// its token (A) expiring at expires (zero: never).
func ageWorld(t *testing.T, maxAge time.Duration, expires time.Time) (*remWorld, time.Time) {
	t.Helper()
	w := newRemWorld(t)
	t0 := ageStart()
	w.set(t0)
	w.matrix.Secrets[remSecret].MaxAge = maxAge
	w.gh.add(remTokenA, "raxx-bot", expires)
	return w, t0
}

func TestAgeRemindersOfATokenThatNeverExpires(t *testing.T) {
	t.Parallel()
	w, t0 := ageWorld(t, 30*day, time.Time{})
	aged := t0.Add(30 * day)
	got := w.walk(aged.Add(2*day+time.Hour), 3*time.Hour)
	// First seen now: its age counts from now, and it is marked as unknown.
	if rec := w.record(remSecret); !rec.Created.Equal(t0) || !rec.CreatedUnknown {
		t.Fatalf("record created %v (unknown %v), want %v, unknown", rec.Created, rec.CreatedUnknown, t0)
	}
	keys := byKey(got)
	if len(keys["no-expiry"]) > 0 {
		t.Errorf("with max_age, a token that never expires is not told 'no expiry': %v", keys["no-expiry"])
	}
	for _, c := range []struct {
		key  string
		days int
	}{{"14d", 14}, {"7d", 7}, {"3d", 3}, {"1d", 1}} {
		ss := keys[c.key]
		if places(ss) != everyone {
			t.Errorf("%s went to %q, want %s", c.key, places(ss), everyone)
			continue
		}
		want := "reaches its max age of 30 days in " + words.Plural(c.days, "day", "days") + ", on " + words.DateText(aged)
		for _, s := range ss {
			if !s.at.Equal(aged.Add(-time.Duration(c.days)*day)) || s.rem.Sentence() != want || !s.rem.ByAge || !s.rem.CreatedUnknown {
				t.Errorf("%s: %s (by age %v, created unknown %v), want %q at %s", c.key, s, s.rem.ByAge, s.rem.CreatedUnknown, want, aged.Add(-time.Duration(c.days)*day))
			}
		}
	}
	// Past it: daily, as an expired token is.
	past := keys["expired"]
	if len(past) != 3*3 {
		t.Fatalf("past its max age: %v, want 3 daily reports to 3 places", past)
	}
	for i, s := range past {
		if at := aged.Add(time.Duration(i/3) * day); !s.at.Equal(at) {
			t.Errorf("report %d at %s, want %s", i, s.at, at)
		}
	}
	if s := past[len(past)-1].rem.Sentence(); s != "passed its max age of 30 days on "+words.DateText(aged)+", 2 days ago" {
		t.Errorf("the last report says %q", s)
	}
}

func TestAgeCountsFromTheRunThatValidatedTheToken(t *testing.T) {
	t.Parallel()
	w, t0 := ageWorld(t, 90*day, time.Time{})
	made := t0.Add(-80 * day)
	ctx := context.Background()
	// An older run made another token; the newest one validated A.
	for i, tok := range []string{remTokenB, remTokenA} {
		r := &rotation.Run{Secret: remSecret, State: rotation.StateCompleted, Method: rotation.MethodSlack, Requester: "U0ALICE",
			DigestKey: strings.Repeat("ab", 16), Created: made.Add(time.Duration(i-1) * 90 * day)}
		r.NewDigest, r.NewFingerprint = r.DigestOf(rotation.NewSecret(tok)), rotation.Fingerprint(tok)
		r.Steps = []rotation.StepRecord{{Name: rotation.StepValidate, State: rotation.StepDone, Finished: r.Created.Add(time.Minute)}}
		if _, err := w.st.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	w.mustPass()
	rec := w.record(remSecret)
	if want := made.Add(time.Minute); !rec.Created.Equal(want) || rec.CreatedUnknown {
		t.Fatalf("created %v (unknown %v), want %v from the run that validated it", rec.Created, rec.CreatedUnknown, want)
	}
	got := w.notes.take()
	if len(got) != 3 || got[0].rem.Key() != "14d" || !strings.HasPrefix(got[0].rem.Sentence(), "reaches its max age of 90 days in 10 days") {
		t.Fatalf("got %v, want the 14-day reminder of its max age", got)
	}
	// The record keeps it: the next pass looks nothing up and writes nothing new.
	w.set(t0.Add(time.Hour))
	w.mustPass()
	if rec2 := w.record(remSecret); !rec2.Created.Equal(rec.Created) {
		t.Errorf("created moved to %v", rec2.Created)
	}
}

func TestAgeFromTheServiceWins(t *testing.T) {
	t.Parallel()
	w, t0 := ageWorld(t, 90*day, time.Time{})
	made := t0.Add(-85 * day)
	w.gh.mu.Lock()
	info := w.gh.tokens[remTokenA]
	info.CreatedAt = made
	w.gh.tokens[remTokenA] = info
	w.gh.mu.Unlock()
	w.mustPass()
	if rec := w.record(remSecret); !rec.Created.Equal(made) || rec.CreatedUnknown {
		t.Fatalf("created %v (unknown %v), want the service's %v", rec.Created, rec.CreatedUnknown, made)
	}
	got := w.notes.take()
	if len(got) != 3 || got[0].rem.Key() != "7d" || !got[0].rem.Created.Equal(made) {
		t.Fatalf("got %v, want the 7-day reminder of its max age", got)
	}
}

func TestAgeTheEarlierOfExpiryAndMaxAgeWins(t *testing.T) {
	t.Parallel()
	t0 := ageStart()
	cases := []struct {
		name    string
		maxAge  time.Duration
		expires time.Time
		want    string
	}{
		{"expiry first", 90 * day, t0.Add(5 * day), "expires in 5 days, on " + words.DateText(t0.Add(5*day))},
		{"max age first", 5 * day, t0.Add(200 * day), "reaches its max age of 5 days in 5 days, on " + words.DateText(t0.Add(5*day))},
		{"in hours", 36 * time.Hour, t0.Add(200 * day), "reaches its max age of 36 hours in 1 day, on " + words.DateText(t0.Add(36*time.Hour))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w, _ := ageWorld(t, c.maxAge, c.expires)
			w.mustPass()
			got := w.notes.take()
			if len(got) != 3 || got[0].rem.Sentence() != c.want {
				t.Fatalf("got %v, want %q", got, c.want)
			}
		})
	}
}

func TestDueAt(t *testing.T) {
	t0 := ageStart()
	made := t0.Add(-10 * day)
	cases := []struct {
		name   string
		rec    rotation.ExpiryRecord
		maxAge time.Duration
		at     time.Time
		byAge  bool
	}{
		{"expiry only", rotation.ExpiryRecord{ExpiresAt: t0.Add(day)}, 0, t0.Add(day), false},
		{"no max age, creation ignored", rotation.ExpiryRecord{ExpiresAt: t0.Add(day), Created: made}, 0, t0.Add(day), false},
		{"age earlier", rotation.ExpiryRecord{ExpiresAt: t0.Add(50 * day), Created: made}, 20 * day, made.Add(20 * day), true},
		{"expiry earlier", rotation.ExpiryRecord{ExpiresAt: t0.Add(day), Created: made}, 20 * day, t0.Add(day), false},
		{"never expires", rotation.ExpiryRecord{Created: made}, 20 * day, made.Add(20 * day), true},
		{"creation not known", rotation.ExpiryRecord{}, 20 * day, time.Time{}, false},
		{"expired after its age passed: the expiry counts", rotation.ExpiryRecord{ExpiresAt: t0.Add(-time.Hour), Created: made}, 5 * day, t0.Add(-time.Hour), false},
	}
	for _, c := range cases {
		at, byAge := expiry.DueAt(c.rec, c.maxAge, t0)
		if !at.Equal(c.at) || byAge != c.byAge {
			t.Errorf("%s: %v (by age %v), want %v (%v)", c.name, at, byAge, c.at, c.byAge)
		}
	}
}
