package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// The outbox is what waits to be shown of each run's card once the card is
// posted: its latest drawing and the thread notes not yet posted. A run changes
// faster than Slack lets a card be updated (chat.update is Tier 3, about 50 a
// minute for the whole workspace; posting is about one a second per channel), so:
//
//   - one card update is in flight per card, and a card waits only to be drawn
//     again: it is drawn from its run as stored when its update's turn comes,
//     so the states a run went through meanwhile are never drawn, nor an older
//     one after a newer (nor drawn at all: drawing a card is a good part of the
//     machine time its update costs);
//   - thread notes queue per card, in order, and when several are waiting they
//     are joined into one message — joined when the post's turn in the channel
//     comes, not when it starts waiting; none is dropped;
//   - a card's updates and its notes go out from a goroutine each, which exists
//     only while the card has something of its kind waiting, one update (one
//     post) every CardEvery at most: the first change of a quiet card goes at
//     once, the ones that follow it closely are shown together;
//   - a card's drawing does not wait for its notes: posting in a channel is
//     about one message a second for every card in it, so on a busy morning a
//     card drawn only after its notes would stay behind its run for as long as
//     the channel's queue of notes; the card may be seconds ahead of its thread.
//
// Retry-After is honoured below, in the process-wide queue the Slack client is
// (package slackq); here a failed update or post is tried again with a backoff.

// noteMax is how much joined text goes in one thread message: Slack shows up to
// about 4,000 characters of a message before cutting it.
const noteMax = 3500

// outboxTries is how many times in a row a card update or a post may fail before
// the outbox stops trying (the card is then redrawn later from the store).
const outboxTries = 5

// cardBox is one card's waiting work; it lives in Notifier.boxes while busy.
type cardBox struct {
	card rotation.CardRef
	// redraw is the id of the run whose card is to be drawn again ("" for none).
	redraw string
	notes  []string
	// drawer and noter are set while the card's drawing sender and its note
	// sender run.
	drawer, noter bool
}

// enqueue tells a card's outbox that the card of run id is to be drawn again ("" for
// not) and hands it a note ("" for none), starting its sender of each when it is idle.
func (n *Notifier) enqueue(card rotation.CardRef, id string, note string) {
	n.boxMu.Lock()
	defer n.boxMu.Unlock()
	if n.boxes == nil {
		n.boxes = map[rotation.CardRef]*cardBox{}
	}
	b := n.boxes[card]
	if b == nil {
		b = &cardBox{card: card}
		n.boxes[card] = b
	}
	if id != "" {
		b.redraw = id
		if !b.drawer {
			b.drawer = true
			n.sending.Add(1)
			go n.drain(func() (outgoing, bool) { return n.takeDrawing(b) })
		}
	}
	if note != "" {
		b.notes = append(b.notes, note)
		if !b.noter {
			b.noter = true
			n.sending.Add(1)
			go n.drain(func() (outgoing, bool) { return n.takeNotes(b) })
		}
	}
}

// outgoing is one thing a sender sends: send tries it, putBack returns it to the
// box after a failure, giveUp drops it after outboxTries failures in a row.
type outgoing struct {
	send    func(context.Context) error
	putBack func()
	giveUp  func(error)
}

// takeDrawing takes the card's redraw, drawn when it goes out; when there is
// none, the drawing sender ends, and the box leaves the outbox once both
// senders have (under the same lock, so a later enqueue starts a new one).
func (n *Notifier) takeDrawing(b *cardBox) (outgoing, bool) {
	n.boxMu.Lock()
	defer n.boxMu.Unlock()
	id := b.redraw
	if id == "" {
		b.drawer = false
		n.leaveLocked(b)
		return outgoing{}, false
	}
	b.redraw = ""
	return outgoing{
		send: func(ctx context.Context) error {
			fallback, blocks, err := n.draw(ctx, id)
			if err != nil {
				return err
			}
			if _, _, _, err := n.slack.UpdateMessageContext(ctx, b.card.Channel, b.card.TS, slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...)); err != nil {
				return rotation.Wrap(rotation.EUNAVAILABLE, err, "could not update the card of %s", id)
			}
			return nil
		},
		putBack: func() {
			n.boxMu.Lock()
			defer n.boxMu.Unlock()
			b.redraw = id
		},
		giveUp: func(error) { n.healLater(id) },
	}, true
}

// takeNotes takes the card's waiting notes, to be posted joined; when there are
// none, the note sender ends (see takeDrawing).
func (n *Notifier) takeNotes(b *cardBox) (outgoing, bool) {
	n.boxMu.Lock()
	defer n.boxMu.Unlock()
	notes := b.notes
	if len(notes) == 0 {
		b.noter = false
		n.leaveLocked(b)
		return outgoing{}, false
	}
	b.notes = nil
	return outgoing{
		send: func(ctx context.Context) error {
			for len(notes) > 0 {
				used := 0
				// The post waits its turn in the channel (one post a second
				// for every card in it once Slack has limited it): it takes
				// the notes that came meanwhile too, so a card's thread is at
				// most one post behind its run, not one wait per note.
				build := func() []slack.MsgOption {
					n.boxMu.Lock()
					notes = append(notes, b.notes...)
					b.notes = nil
					n.boxMu.Unlock()
					var text string
					text, used = joinNotes(notes)
					return []slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionTS(b.card.TS)}
				}
				if err := n.postWhenDue(ctx, b.card.Channel, build); err != nil {
					return rotation.Wrap(rotation.EUNAVAILABLE, err, "could not post in a card's thread")
				}
				notes = notes[used:]
			}
			return nil
		},
		putBack: func() { // ahead of the ones that came since
			n.boxMu.Lock()
			defer n.boxMu.Unlock()
			b.notes = append(notes, b.notes...)
		},
		giveUp: func(err error) {
			n.log.Error("thread notes could not be posted: Slack keeps refusing", "channel", b.card.Channel, "card", b.card.TS, "notes", len(notes), "err", rotation.ErrorMessage(err))
		},
	}, true
}

// duePoster is a Slack client that builds a post when its turn in the channel
// comes (slackq.Client, which the process talks to Slack through).
type duePoster interface {
	PostMessageWhenDue(ctx context.Context, channelID string, build func() []slack.MsgOption) (string, string, error)
}

// postWhenDue posts what build returns when the post goes out; a client with no
// queue of its own builds it at once.
func (n *Notifier) postWhenDue(ctx context.Context, channel string, build func() []slack.MsgOption) error {
	if q, ok := n.slack.(duePoster); ok {
		_, _, err := q.PostMessageWhenDue(ctx, channel, build)
		return err
	}
	_, _, err := n.slack.PostMessageContext(ctx, channel, build()...)
	return err
}

// leaveLocked takes b out of the outbox once neither of its senders runs.
func (n *Notifier) leaveLocked(b *cardBox) {
	if !b.drawer && !b.noter && n.boxes[b.card] == b {
		delete(n.boxes, b.card)
	}
}

// drain sends what take hands out until it hands out nothing, one thing every
// CardEvery at most (what comes meanwhile is sent together); a failure is put
// back and tried again with a backoff, and given up after outboxTries in a row.
func (n *Notifier) drain(take func() (outgoing, bool)) {
	defer n.sending.Done()
	ctx := n.work
	fails := 0
	wait := 500 * time.Millisecond
	var sent time.Time
	for {
		if pause := CardEvery - time.Since(sent); !sent.IsZero() && pause > 0 && rotation.Sleep(ctx, pause) != nil {
			return
		}
		o, ok := take()
		if !ok {
			return
		}
		sent = time.Now()
		err := o.send(ctx)
		if err == nil {
			fails, wait = 0, 500*time.Millisecond
			continue
		}
		if ctx.Err() != nil {
			return
		}
		fails++
		if fails >= outboxTries {
			o.giveUp(err)
			fails = 0
			continue
		}
		o.putBack()
		var rl *slack.RateLimitedError
		if errors.As(err, &rl) && rl.RetryAfter > wait {
			wait = rl.RetryAfter
		}
		if rotation.Sleep(ctx, wait) != nil {
			return
		}
		wait = min(2*wait, time.Minute)
	}
}

// joinNotes joins as many notes from the front as fit in one message (at least one,
// cut to noteMax) and says how many it took.
func joinNotes(notes []string) (string, int) {
	var b strings.Builder
	used := 0
	for _, s := range notes {
		if used > 0 && b.Len()+1+len(s) > noteMax {
			break
		}
		if used > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(s)
		used++
	}
	text := b.String()
	if len(text) > noteMax {
		text = card.Clip(text, noteMax)
	}
	return text, used
}

// Wait returns once every card's outbox is empty, or ctx ends (the process stops:
// what is left is in the runs' records and the cards are redrawn at the next start).
func (n *Notifier) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { n.sending.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("card updates still waiting: %w", ctx.Err())
	}
}
