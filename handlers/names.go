package handlers

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// UserInfo is the Slack call that names a person (users.info, scope users:read).
type UserInfo interface {
	GetUserInfoContext(ctx context.Context, user string, options ...slack.GetUserInfoOption) (*slack.User, error)
}

// PeopleNames names the Slack users among ids ("@olga" by user id) for plain text,
// where a mention cannot show a name: a code block, a terminal. A DM channel id,
// or a user Slack does not name (a token without users:read, a deleted user,
// Slack down), is left out, and rotation.PlainOperatorName says "Slack user U…".
func PeopleNames(ctx context.Context, api UserInfo, ids []string) map[string]string {
	names := map[string]string{}
	for _, id := range ids {
		if _, done := names[id]; done || words.Mention(id) == id {
			continue
		}
		u, err := api.GetUserInfoContext(ctx, id)
		if err != nil || u == nil || u.Deleted {
			continue
		}
		for _, n := range []string{u.Profile.DisplayName, u.Profile.RealName, u.RealName, u.Name} {
			if n = strings.TrimSpace(n); n != "" {
				names[id] = "@" + n
				break
			}
		}
	}
	return names
}

// ShellRCTargets are the shell-rc operators among destinations.
func ShellRCTargets(ds []rotation.Destination) []string {
	var out []string
	for _, d := range ds {
		if d.Kind == rotation.DestShellRC {
			out = append(out, d.Target)
		}
	}
	return out
}

// NameTTL is how long a person's name read with users.info is kept: a burst of
// dry runs asks Slack once a person, not once a command (users.info is Tier 4,
// about 100 calls a minute for the workspace).
const NameTTL = 10 * time.Minute

// knownUsers answers users.info from what it read in the last NameTTL; a user
// Slack could not name is asked again at the next call.
type knownUsers struct {
	api UserInfo
	now func() time.Time

	mu    sync.Mutex
	users map[string]knownUser
}

type knownUser struct {
	u  *slack.User
	at time.Time
}

func (k *knownUsers) GetUserInfoContext(ctx context.Context, user string, options ...slack.GetUserInfoOption) (*slack.User, error) {
	k.mu.Lock()
	if c, ok := k.users[user]; ok && k.now().Sub(c.at) < NameTTL {
		k.mu.Unlock()
		return c.u, nil
	}
	k.mu.Unlock()
	u, err := k.api.GetUserInfoContext(ctx, user, options...)
	if err != nil || u == nil {
		return u, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.users == nil || len(k.users) > 1000 {
		k.users = map[string]knownUser{}
	}
	k.users[user] = knownUser{u: u, at: k.now()}
	return u, nil
}
