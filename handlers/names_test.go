package handlers

import (
	"context"
	"testing"
	"time"

	"github.com/slack-go/slack"

	sbslack "github.com/raxx-app/rotabot/sandbox/slack"
)

// A burst of dry runs names each shell-rc operator once: users.info is asked
// once a person in NameTTL (it is Tier 4, about 100 calls a minute for the
// workspace), then again once the name is older.
func TestPeopleNamesAskSlackOncePerPerson(t *testing.T) {
	s := sbslack.New("xoxb-test", "xapp-test")
	defer s.Close()
	s.AddUser("U0OLGA", "olga")
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	users := &knownUsers{api: slack.New("xoxb-test", slack.OptionAPIURL(s.APIURL())), now: c.now}
	ctx := context.Background()
	for range 150 {
		if names := PeopleNames(ctx, users, []string{"U0OLGA"}); names["U0OLGA"] != "@olga" {
			t.Fatalf("names = %v", names)
		}
	}
	if n := s.Count("POST /api/users.info", true); n != 1 {
		t.Fatalf("users.info asked %d times for 150 answers, want 1", n)
	}
	c.add(NameTTL)
	PeopleNames(ctx, users, []string{"U0OLGA"})
	if n := s.Count("POST /api/users.info", true); n != 2 {
		t.Errorf("users.info asked %d times after NameTTL, want 2", n)
	}
	if st := s.LimitStats(); st.Answered429() != 0 {
		t.Errorf("Slack limited users.info: %v", st.Limited)
	}
}
