package expiry

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
)

// Kind says why people are told about a token.
type Kind string

const (
	// Due: one of reminders.days_before has been reached.
	Due Kind = "due"
	// Expired: the token has expired; said again every day until rotated.
	Expired Kind = "expired"
	// NoExpiry: the token never expires; said once per token.
	NoExpiry Kind = "no-expiry"
	// Broken: the token cannot be used (GitHub refuses it, it is not a
	// GitHub token, or it is missing from the vault); said again every day.
	Broken Kind = "broken"
)

// Reminder is one thing to tell a secret's owners and the ops channel. It holds a
// fingerprint, never a token.
type Reminder struct {
	Kind   Kind
	Secret string
	// Owners are the secret's owners (the ops-channel post names them).
	Owners []string
	// Threshold is the days_before entry reached (Due).
	Threshold int
	// ExpiresAt is when the token is due (zero: never, or not known, Broken):
	// its expiry or, when ByAge, its creation plus MaxAge.
	ExpiresAt time.Time
	ByAge     bool
	MaxAge    time.Duration
	// Created is when the token was made (ByAge); CreatedUnknown: it is only
	// when rotabot first saw it, and the token may be older.
	Created        time.Time
	CreatedUnknown bool
	Fingerprint    string
	Login          string
	TokenKind      rotation.TokenKind
	// Problem says why the token cannot be used (Broken).
	Problem string
	// Notes are extra lines (rotation.MigrateWarning for a classic token).
	Notes []string
	// ExpiresInDays is the expiry the routing matrix asks new tokens to have.
	ExpiresInDays int
	// OpenRun names a rotation already open for the secret ("r3 (Waiting for
	// approval)"), "" for none.
	OpenRun string
	// At is when the reminder was made: days are counted from it.
	At time.Time
}

func daysText(n int) string {
	if n <= 0 {
		return "less than a day"
	}
	return words.Plural(n, "day", "days")
}

// Sentence is what the reminder says of the token, without the secret's name:
// "expires in 2 days, on 2026-12-01 10:00 UTC".
func (r Reminder) Sentence() string {
	switch r.Kind {
	case Due, Expired:
		return DueText(r.ExpiresAt, r.ByAge, r.MaxAge, r.At)
	case NoExpiry:
		return "never expires: GitHub recommends giving every token an expiry date"
	case Broken:
		return "is broken: " + r.Problem
	}
	return string(r.Kind)
}

// DueAt is when the record's token is due, and whether by its age: the earlier
// of its expiry and its creation plus maxAge (rotation.ExpiryRecord.Deadline),
// except that once its expiry has passed, that is what counts. Zero: not known.
func DueAt(rec rotation.ExpiryRecord, maxAge time.Duration, now time.Time) (at time.Time, byAge bool) {
	if !rec.ExpiresAt.IsZero() && !rec.ExpiresAt.After(now) {
		return rec.ExpiresAt, false
	}
	return rec.Deadline(maxAge)
}

// DueText says when a token is due at, seen at now, without the secret's name:
// "expires in 2 days, on 2026-12-01 10:00 UTC", "expired on …, 3 days ago", or
// by its max age (byAge) "reaches its max age of 90 days in 6 days, on …",
// "passed its max age of 90 days on …, 1 day ago".
func DueText(at time.Time, byAge bool, maxAge time.Duration, now time.Time) string {
	switch {
	case byAge && at.After(now):
		return "reaches its max age of " + AgeText(maxAge) + " in " + daysText(words.DaysLeft(at, now)) + ", on " + words.DateText(at)
	case byAge:
		return "passed its max age of " + AgeText(maxAge) + " on " + words.DateText(at) + ", " + daysText(words.DaysLeft(now, at)) + " ago"
	case at.After(now):
		return "expires in " + daysText(words.DaysLeft(at, now)) + ", on " + words.DateText(at)
	}
	return "expired on " + words.DateText(at) + ", " + daysText(words.DaysLeft(now, at)) + " ago"
}

// AgeText says a max age as people do: "90 days", "36 hours".
func AgeText(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return words.Plural(int(d/(24*time.Hour)), "day", "days")
	}
	return words.Plural(int(d/time.Hour), "hour", "hours")
}

// Key is the name under which the reminder is remembered in rotation.ExpiryRecord.Sent:
// "14d", "expired", "no-expiry", "broken".
func (r Reminder) Key() string {
	if r.Kind == Due {
		return thresholdKey(r.Threshold)
	}
	return string(r.Kind)
}

func thresholdKey(days int) string { return fmt.Sprintf("%dd", days) }

// Notifier tells people about a token's expiry. Each call reaches one place;
// an error means it did not, and only that place is tried again at the next pass.
type Notifier interface {
	// RemindOwner sends the reminder to one of the secret's owners (a DM).
	RemindOwner(ctx context.Context, owner string, r Reminder) error
	// RemindChannel posts the reminder once in the ops channel.
	RemindChannel(ctx context.Context, r Reminder) error
}

// due decides what, if anything, is to be said of the token now. also lists
// keys to mark as sent with it (thresholds passed while nobody was told), and
// daily says the reminder repeats every day. A secret with max_age is due at the
// earlier of its token's expiry and its creation plus max_age (and is never told
// "no expiry"); once the expiry itself has passed, that is what is said.
func (l *Loop) due(sc *rotation.SecretConfig, rec rotation.ExpiryRecord, v verdict, now time.Time) (rem *Reminder, also []string, daily bool) {
	base := Reminder{Secret: rec.Secret, Fingerprint: rec.Fingerprint, Login: rec.Login, TokenKind: rec.Kind,
		ExpiresAt: rec.ExpiresAt, Created: rec.Created, CreatedUnknown: rec.CreatedUnknown, At: now}
	if sc != nil {
		base.Owners = slices.Clone(sc.Owners)
		base.ExpiresInDays = sc.ExpiresInDays
		base.MaxAge = sc.MaxAge
		if base.TokenKind == "" {
			base.TokenKind = sc.Kind
		}
	}
	if base.ExpiresInDays <= 0 {
		base.ExpiresInDays = rotation.DefaultExpiresInDays
	}
	if base.TokenKind == rotation.Classic {
		base.Notes = []string{rotation.MigrateWarning}
	}
	pending := func(key string, daily bool) bool {
		last, ok := rec.Sent[key]
		return !ok || daily && now.Sub(last) >= l.dailyGap()
	}
	at, byAge := DueAt(rec, base.MaxAge, now)
	base.ByAge = byAge
	switch {
	case v == verdictBroken:
		base.Kind, base.Problem = Broken, rec.Problem
		if !known(rec) {
			base.ExpiresAt = time.Time{}
		}
		base.ByAge = false
		if pending(base.Key(), true) {
			return &base, nil, true
		}
		return nil, nil, false
	case !known(rec):
		return nil, nil, false // nothing known of this token's expiry yet
	case at.IsZero() && base.MaxAge > 0:
		return nil, nil, false // when it was made is not known yet
	case at.IsZero() && base.TokenKind.Minted():
		return nil, nil, false // a key rotabot makes is made to last: no expiry to advise
	case at.IsZero():
		base.Kind = NoExpiry
		if pending(base.Key(), false) {
			return &base, nil, false
		}
		return nil, nil, false
	}
	base.ExpiresAt = at
	if !at.After(now) {
		base.Kind = Expired
		if pending(base.Key(), true) {
			return &base, l.reached(at, now), true
		}
		return nil, nil, false
	}
	reached := l.reached(at, now)
	if len(reached) == 0 {
		return nil, nil, false
	}
	// The most urgent threshold reached is the one said; the others passed
	// unsaid (first start, lost database) and are only marked.
	base.Kind, base.Threshold = Due, l.mostUrgent(at, now)
	if !pending(base.Key(), false) {
		return nil, nil, false
	}
	return &base, reached, false
}

// reached lists the keys of the thresholds whose moment has come.
func (l *Loop) reached(expires, now time.Time) []string {
	var keys []string
	for _, d := range l.thresholds {
		if expires.Sub(now) <= time.Duration(d)*24*time.Hour {
			keys = append(keys, thresholdKey(d))
		}
	}
	return keys
}

func (l *Loop) mostUrgent(expires, now time.Time) int {
	best := 0
	for _, d := range l.thresholds {
		if expires.Sub(now) <= time.Duration(d)*24*time.Hour {
			best = d
		}
	}
	return best
}
