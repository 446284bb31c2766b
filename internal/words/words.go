// Package words is how rotabot writes for people what every part of it writes:
// a person named (a Slack mention), a count with its noun, a date, a duration,
// days left, an expiry. One way each, so a card, a reminder, the CLI and the
// audit trail say the same thing the same way. It knows nothing of runs,
// secrets or Slack beyond the mention's form: standard library only.
package words

import (
	"strconv"
	"strings"
	"time"
)

// Mention names a person in a line for people: a Slack mention for a Slack user
// id, the name as is otherwise (a CLI user).
func Mention(user string) string {
	if len(user) > 1 && (user[0] == 'U' || user[0] == 'W') && strings.ToUpper(user) == user {
		return "<@" + user + ">"
	}
	return user
}

// Plural counts for people: "1 repository", "3 repositories".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// DaysLeft is whole days until at, rounded down (negative once at has passed):
// 2 days 23 hours is 2 days; 1 hour past is -1.
func DaysLeft(at, now time.Time) int {
	d := at.Sub(now)
	days := int(d / (24 * time.Hour))
	if d < 0 && d%(24*time.Hour) != 0 {
		days--
	}
	return days
}

// DateText is how reminders and lists show an expiry: "2026-12-01 10:00 UTC".
func DateText(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// HumanDuration writes a duration the way people do: 5m, 90s, 1h30m (never
// less than 1s). The adapters' messages use it too.
func HumanDuration(d time.Duration) string {
	d = max(d.Round(time.Second), time.Second)
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ExpiryText says when a token expires, for people.
func ExpiryText(t time.Time) string {
	if t.IsZero() {
		return "never expires"
	}
	return "expires " + t.UTC().Format("2006-01-02 15:04 UTC")
}
