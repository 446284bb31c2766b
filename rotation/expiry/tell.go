package expiry

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// record writes the changed records of a pass in one store transaction and
// reports which were written: not those for which a rotation recorded a newer
// token meanwhile (the next pass sees it), none when the store fails.
func (l *Loop) record(ctx context.Context, checks []*checked, stats *passStats) map[string]bool {
	var changed []saving
	for _, c := range checks {
		if c != nil && c.changed {
			changed = append(changed, saving{basedOn: c.basedOn, rec: &c.rec})
		}
	}
	if len(changed) == 0 {
		return nil
	}
	written, err := l.save(ctx, changed)
	if err != nil {
		stats.fail(fmt.Errorf("recording the expiry of %d secrets: %w", len(changed), err))
	}
	return written
}

// channelTarget is the Sent key suffix of the ops-channel post.
const channelTarget = "channel"

// tell sends rem to every owner and the ops channel, each once: a place already
// told in this round is skipped, so a pass that failed half-way only retries the
// rest. It reports whether everyone was told.
func (l *Loop) tell(ctx context.Context, rem Reminder, rec *rotation.ExpiryRecord, also []string, daily bool, now time.Time) bool {
	key := rem.Key()
	told := func(target string) bool {
		at, ok := rec.Sent[key+"@"+target]
		if !ok || !daily {
			return ok
		}
		last, done := rec.Sent[key]
		return !done || at.After(last) // told since the last full round
	}
	var targets []string
	for _, o := range rem.Owners {
		if o != "" && !slices.Contains(targets, o) {
			targets = append(targets, o)
		}
	}
	if l.Matrix.Channel != "" {
		targets = append(targets, channelTarget)
	}
	all := true
	for _, target := range targets {
		if told(target) {
			continue
		}
		cctx, cancel := l.callCtx(ctx)
		var err error
		if target == channelTarget {
			err = l.Notifier.RemindChannel(cctx, rem)
		} else {
			err = l.Notifier.RemindOwner(cctx, target, rem)
		}
		cancel()
		if err != nil {
			all = false
			l.Log.Warn("could not send a reminder", "secret", rem.Secret, "reminder", key, "to", target,
				"err", rotation.ErrorMessage(err), "cause", err)
			continue
		}
		if rec.Sent == nil {
			rec.Sent = map[string]time.Time{}
		}
		rec.Sent[key+"@"+target] = now
		if written, err := l.save(ctx, []saving{{basedOn: rec.Fingerprint, rec: rec}}); err != nil || !written[rec.Secret] {
			return false
		}
	}
	if !all {
		return false
	}
	if rec.Sent == nil {
		rec.Sent = map[string]time.Time{}
	}
	rec.Sent[key] = now
	for _, k := range also {
		if _, ok := rec.Sent[k]; !ok {
			rec.Sent[k] = now
		}
	}
	l.Log.Info("reminder sent", "secret", rem.Secret, "fingerprint", rem.Fingerprint, "reminder", key, "to", len(targets))
	written, err := l.save(ctx, []saving{{basedOn: rec.Fingerprint, rec: rec}})
	return err == nil && written[rec.Secret]
}

// saving is a record to write, and the fingerprint of the record it was worked
// out from ("" for none).
type saving struct {
	basedOn string
	rec     *rotation.ExpiryRecord
}

// save writes the records in one store transaction, each unless the stored
// record meanwhile names a token other than its basedOn (what the pass read) and
// its own: the engine records a newly rotated token on its own, and that must
// win. When the stored record is of the same token, reminders it marks as sent
// are kept (and added to the record in hand). It reports which were written.
func (l *Loop) save(ctx context.Context, list []saving) (map[string]bool, error) {
	secrets := make([]string, len(list))
	for i, s := range list {
		secrets[i] = s.rec.Secret
	}
	var written map[string]bool
	err := l.Store.UpdateExpiry(ctx, secrets, func(stored map[string]rotation.ExpiryRecord) ([]rotation.ExpiryRecord, error) {
		written = make(map[string]bool, len(list))
		out := make([]rotation.ExpiryRecord, 0, len(list))
		for _, s := range list {
			rec := s.rec
			cur, ok := stored[rec.Secret]
			if ok && cur.Fingerprint != rec.Fingerprint && cur.Fingerprint != s.basedOn {
				l.Log.Info("a newer token was recorded meanwhile; leaving it", "secret", rec.Secret, "fingerprint", cur.Fingerprint)
				continue
			}
			if ok && cur.Fingerprint == rec.Fingerprint {
				for k, at := range cur.Sent {
					if mine, has := rec.Sent[k]; !has || mine.Before(at) {
						if rec.Sent == nil {
							rec.Sent = map[string]time.Time{}
						}
						rec.Sent[k] = at
					}
				}
			}
			written[rec.Secret] = true
			out = append(out, *rec)
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	return written, nil
}
