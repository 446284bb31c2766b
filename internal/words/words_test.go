package words

import (
	"testing"
	"time"
)

func TestWords(t *testing.T) {
	at := time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct{ got, want string }{
		{Mention("U0OPS"), "<@U0OPS>"},
		{Mention("W0ENT"), "<@W0ENT>"},
		{Mention("alice"), "alice"},
		{Mention("D0DM"), "D0DM"},
		{Plural(1, "repository", "repositories"), "1 repository"},
		{Plural(0, "repository", "repositories"), "0 repositories"},
		{DateText(at.In(time.FixedZone("x", 2*3600))), "2030-03-04 10:00 UTC"},
		{HumanDuration(90 * time.Second), "1m30s"},
		{HumanDuration(5 * time.Minute), "5m"},
		{HumanDuration(2 * time.Hour), "2h"},
		{HumanDuration(10 * time.Millisecond), "1s"},
		{ExpiryText(time.Time{}), "never expires"},
		{ExpiryText(at), "expires 2030-03-04 10:00 UTC"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	for _, c := range []struct {
		left time.Duration
		want int
	}{{71 * time.Hour, 2}, {72 * time.Hour, 3}, {-time.Hour, -1}, {-24 * time.Hour, -1}, {0, 0}} {
		if got := DaysLeft(at.Add(c.left), at); got != c.want {
			t.Errorf("DaysLeft(%s) = %d, want %d", c.left, got, c.want)
		}
	}
}
