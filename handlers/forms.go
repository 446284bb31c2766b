package handlers

import (
	"context"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/slack-go/slack"
)

// defaultAckBudget bounds a view submission's answer when ctx has no deadline
// (the bot gives one that counts from the envelope's arrival).
const defaultAckBudget = 2500 * time.Millisecond

// ViewSubmission handles a form's submission — the token form, the abandon
// form — and returns the ack's payload: nil closes the form; errors show under
// the input, and the form stays open. It answers by ctx's deadline (Slack's ack
// budget; defaultAckBudget when ctx has none).
func (h *Handlers) ViewSubmission(ctx context.Context, cb slack.InteractionCallback) *slack.ViewSubmissionResponse {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultAckBudget)
		defer cancel()
	}
	switch cb.View.CallbackID {
	case ViewSubmitToken:
		return h.submitToken(ctx, cb)
	case ViewAbandon:
		return h.submitAbandon(ctx, cb)
	}
	return nil
}

// recoverForm stops a panic in a form's submission: it is logged without its
// value, and the form shows failed under its input and stays open. Defer it
// directly, with the submission's named result.
func (h *Handlers) recoverForm(what string, resp **slack.ViewSubmissionResponse, failed *slack.ViewSubmissionResponse) {
	if p := recover(); p != nil {
		h.logPanic(what, p)
		*resp = failed
	}
}

// beforeAck runs work on its own goroutine, under h.Work (it must finish even
// when the ack cannot wait for it), and waits for it as long as ctx allows: the
// ack's budget. When work ends in time, late is nil and err is work's error;
// otherwise late delivers work's error when it ends. A panic in work is logged
// without its value and ends it as an internal error.
func (h *Handlers) beforeAck(ctx context.Context, what string, work func() error) (late <-chan error, err error) {
	result := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				h.logPanic(what, p)
				result <- rotation.Errorf(rotation.EINTERNAL, "internal error, see the bot's logs")
			}
		}()
		result <- work()
	}()
	select {
	case err := <-result:
		return nil, err
	case <-ctx.Done():
		return result, nil
	}
}
