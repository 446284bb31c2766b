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
//   - one card update is in flight per card, and only the latest drawing waits:
//     the ones in between are dropped, never sent after a newer one;
//   - thread notes queue per card, in order, and when several are waiting they
//     are joined into one message; none is dropped;
//   - a card's updates and notes go out from one goroutine that exists only while
//     the card has something waiting, at most one update every CardEvery: the
//     first change of a quiet card goes at once, the ones that follow it closely
//     are shown together.
//
// Retry-After is honoured below, in the process-wide queue the Slack client is
// (package slackq); here a failed update or post is tried again with a backoff.

// noteMax is how much joined text goes in one thread message: Slack shows up to
// about 4,000 characters of a message before cutting it.
const noteMax = 3500

// outboxTries is how many times in a row a card update or a post may fail before
// the outbox stops trying (the card is then redrawn later from the store).
const outboxTries = 5

// drawing is one rendering of a card.
type drawing struct {
	id, fallback string
	blocks       []slack.Block
}

// cardBox is one card's waiting work; it lives in Notifier.boxes while busy.
type cardBox struct {
	card   rotation.CardRef
	latest *drawing
	notes  []string
}

// enqueue hands a card's latest drawing (nil for none) and a note ("" for none) to
// the card's outbox, starting its sender when it is idle.
func (n *Notifier) enqueue(card rotation.CardRef, d *drawing, note string) {
	n.boxMu.Lock()
	defer n.boxMu.Unlock()
	if n.boxes == nil {
		n.boxes = map[rotation.CardRef]*cardBox{}
	}
	b, busy := n.boxes[card]
	if !busy {
		b = &cardBox{card: card}
		n.boxes[card] = b
	}
	if d != nil {
		b.latest = d
	}
	if note != "" {
		b.notes = append(b.notes, note)
	}
	if !busy {
		n.sending.Add(1)
		go n.send(b)
	}
}

// take removes what b has waiting; when nothing is, b leaves the outbox and its
// sender ends (under the same lock, so a later enqueue starts a new one).
func (n *Notifier) take(b *cardBox) (*drawing, []string, bool) {
	n.boxMu.Lock()
	defer n.boxMu.Unlock()
	d, notes := b.latest, b.notes
	if d == nil && len(notes) == 0 {
		delete(n.boxes, b.card)
		return nil, nil, false
	}
	b.latest, b.notes = nil, nil
	return d, notes, true
}

// putBack returns what could not be sent yet: a drawing only if none newer came,
// notes ahead of the ones that came since.
func (n *Notifier) putBack(b *cardBox, d *drawing, notes []string) {
	n.boxMu.Lock()
	defer n.boxMu.Unlock()
	if d != nil && b.latest == nil {
		b.latest = d
	}
	if len(notes) > 0 {
		b.notes = append(notes, b.notes...)
	}
}

// send posts b's notes and shows its card the latest drawing until nothing waits.
func (n *Notifier) send(b *cardBox) {
	defer n.sending.Done()
	ctx := n.work
	fails := 0
	wait := 500 * time.Millisecond
	var sent time.Time
	for {
		if pause := n.every - time.Since(sent); !sent.IsZero() && pause > 0 && rotation.Sleep(ctx, pause) != nil {
			return
		}
		d, notes, ok := n.take(b)
		if !ok {
			return
		}
		sent = time.Now()
		err := n.sendOnce(ctx, b.card, d, &notes)
		if err == nil {
			fails, wait = 0, 500*time.Millisecond
			continue
		}
		if ctx.Err() != nil {
			return
		}
		fails++
		if fails >= outboxTries {
			n.gaveUp(b, d, notes, err)
			fails = 0
			continue
		}
		n.putBack(b, d, notes)
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

// sendOnce posts the notes joined, then updates the card: a card that shows a
// state has the notes that led to it in its thread. notes keeps what was not
// posted; the drawing is returned when it was not shown.
func (n *Notifier) sendOnce(ctx context.Context, card rotation.CardRef, d *drawing, notes *[]string) error {
	for len(*notes) > 0 {
		text, used := joinNotes(*notes)
		if _, _, err := n.slack.PostMessageContext(ctx, card.Channel, slack.MsgOptionText(text, false), slack.MsgOptionTS(card.TS)); err != nil {
			return rotation.Wrap(rotation.EUNAVAILABLE, err, "could not post in a card's thread")
		}
		*notes = (*notes)[used:]
	}
	if d != nil {
		if _, _, _, err := n.slack.UpdateMessageContext(ctx, card.Channel, card.TS, slack.MsgOptionText(d.fallback, false), slack.MsgOptionBlocks(d.blocks...)); err != nil {
			return rotation.Wrap(rotation.EUNAVAILABLE, err, "could not update the card of %s", d.id)
		}
	}
	return nil
}

// gaveUp logs what the outbox could not send after outboxTries; the card is redrawn
// later from the store, the notes are named by count (they stay in the run's record).
func (n *Notifier) gaveUp(b *cardBox, d *drawing, notes []string, err error) {
	if d != nil {
		n.healLater(d.id)
	}
	if len(notes) > 0 {
		n.log.Error("thread notes could not be posted: Slack keeps refusing", "channel", b.card.Channel, "card", b.card.TS, "notes", len(notes), "err", rotation.ErrorMessage(err))
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
