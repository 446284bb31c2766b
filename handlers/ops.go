package handlers

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// groupLookupTimeout bounds one usergroups.users.list lookup, whoever waits for it.
const groupLookupTimeout = 20 * time.Second

// ErrOpsUnreadable is why a gesture was refused when the ops group's members could
// not be read: Slack failed for longer than the last list may be trusted.
var ErrOpsUnreadable = errors.New("the ops user group cannot be read")

// opsGroup is the ops user group's member list as last read from Slack. It fails
// closed: on a Slack error the last list is used for at most GroupStale past its
// refresh, then nobody is an ops member until Slack answers again. One lookup runs
// at a time and its answer is shared; no lock is held while it runs, and a caller
// waits for it only as long as its own context allows.
type opsGroup struct {
	mu      sync.Mutex
	members map[string]bool
	at      time.Time    // when members was read
	flight  *groupFlight // the lookup in progress, if any
}

// groupFlight is one lookup; done closes when members or err is set.
type groupFlight struct {
	done    chan struct{}
	members map[string]bool
	err     error
}

// isOps reports whether user is in the ops user group. Membership is read with
// usergroups.users.list and kept for GroupTTL; see opsGroup for Slack errors.
func (h *Handlers) isOps(ctx context.Context, user string) (bool, error) {
	g := &h.ops
	g.mu.Lock()
	if g.members != nil && h.now().Sub(g.at) < h.GroupTTL {
		ok := g.members[user]
		g.mu.Unlock()
		return ok, nil
	}
	f := g.flight
	if f == nil {
		f = &groupFlight{done: make(chan struct{})}
		g.flight = f
		// The lookup outlives the caller that started it: others share it.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), groupLookupTimeout)
		go func() {
			defer cancel()
			users, err := h.Slack.GetUserGroupMembersContext(lctx, h.Matrix.OpsUsergroup)
			g.mu.Lock()
			defer g.mu.Unlock()
			if err == nil {
				f.members = make(map[string]bool, len(users))
				for _, u := range users {
					f.members[u] = true
				}
				g.members, g.at = f.members, h.now()
			}
			f.err = err
			g.flight = nil
			close(f.done)
		}()
	}
	g.mu.Unlock()

	select {
	case <-f.done:
	case <-ctx.Done():
		return false, opsUnreadable(ctx.Err())
	}
	if f.err == nil {
		return f.members[user], nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.members != nil && h.now().Sub(g.at) < h.GroupTTL+h.GroupStale {
		h.Log.Warn("could not refresh the ops group; using the last list", "group", h.Matrix.OpsUsergroup,
			"read_at", g.at, "err", f.err)
		return g.members[user], nil
	}
	return false, opsUnreadable(f.err)
}

// opsUnreadable is the refusal people see when the members cannot be read.
func opsUnreadable(cause error) error {
	why := ""
	var se slack.SlackErrorResponse
	switch {
	case errors.As(cause, &se):
		why = " (Slack answered usergroups.users.list with " + se.Err + ")"
	case errors.Is(cause, context.DeadlineExceeded):
		why = " (Slack did not answer in time)"
	}
	return &rotation.Error{Code: rotation.EUNAVAILABLE, Err: errors.Join(ErrOpsUnreadable, cause),
		Message: "I cannot read the ops user group right now" + why + ", so I cannot tell whether you may do this. Try again in a minute."}
}
