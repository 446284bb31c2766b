package card

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/drift"
)

// Action ids of the buttons. A run card button's value is ButtonValue: the state
// the card showed when it was drawn, so a click from an older card is recognised.
const (
	ActSubmit       = "rotabot_submit"
	ActMint         = "rotabot_mint" // a minted kind's Generate, again
	ActApprove      = "rotabot_approve"
	ActCancel       = "rotabot_cancel"
	ActRollback     = "rotabot_rollback"
	ActRetry        = "rotabot_retry"
	ActRevokeAPI    = "rotabot_revoke_api"
	ActRevokeManual = "rotabot_revoke_manual"
	ActDone         = "rotabot_done"
	ActStart        = "rotabot_start" // a reminder's Start rotation
	ActAbandon      = "rotabot_abandon"
	// A drift post's buttons: Set it from Infisical, and the second ops
	// member's Approve of a repair that writes every destination (labelled
	// LabelApprove).
	ActDriftRepair  = "rotabot_drift_repair"
	ActDriftApprove = "rotabot_drift_approve"
)

// Button labels, exactly as people and tests find them.
const (
	LabelSubmit       = "Submit new token"
	LabelMint         = "Generate new key"
	LabelApprove      = "Approve"
	LabelCancel       = "Cancel"
	LabelRollback     = "Rollback"
	LabelRetry        = "Retry"
	LabelRevokeAPI    = "Revoke old token now"
	LabelRevokeManual = "I revoked the old token"
	LabelDone         = "Done"
	LabelStart        = "Start rotation"
	LabelAbandon      = "Abandon"
	LabelDriftRepair  = "Set it from Infisical"
)

// Modal ids.
const (
	ViewSubmitToken = "rotabot_submit_token"
	BlockToken      = "token"
	ActionToken     = "token_input"
	ViewAbandon     = "rotabot_abandon"
	BlockReason     = "reason"
	ActionReason    = "reason_input"
)

// ButtonValue is "RUN_ID|STATE|STAMP": the run, the state the card showed when it
// was drawn, and the run's creation time — run ids start again at r1 when a
// bbolt file is lost, and an old card's button must not act on a new r1.
func ButtonValue(r *rotation.Run) string {
	return r.ID + "|" + string(r.State) + "|" + RunStamp(r)
}

// RunStamp is the run's creation time as a button or form carries it.
func RunStamp(r *rotation.Run) string { return strconv.FormatInt(r.Created.UnixNano(), 36) }

// ParseButtonValue splits "RUN_ID|STATE|STAMP" (a shell-rc operator's Done
// carries no state: "RUN_ID||STAMP").
func ParseButtonValue(v string) (id string, state rotation.State, stamp string) {
	parts := strings.SplitN(v, "|", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	return parts[0], rotation.State(parts[1]), parts[2]
}

// doneValue is a shell-rc operator's Done: the run, no state, its stamp.
func doneValue(r *rotation.Run) string { return r.ID + "||" + RunStamp(r) }

// tokenFormMetadata binds the token form to its run, as the stamp binds buttons:
// "RUN_ID|CHANNEL|STAMP".
func tokenFormMetadata(r *rotation.Run, channel string) string {
	return r.ID + "|" + channel + "|" + RunStamp(r)
}

// ParseTokenForm splits the token form's private_metadata, "RUN_ID|CHANNEL|STAMP".
func ParseTokenForm(v string) (id, channel, stamp string) {
	parts := strings.SplitN(v, "|", 3)
	if len(parts) < 3 {
		return parts[0], "", ""
	}
	return parts[0], parts[1], parts[2]
}

// abandonFormMetadata is the abandon form's private_metadata: the run's button
// value now and the channel the click came from.
func abandonFormMetadata(r *rotation.Run, channel string) string {
	return ButtonValue(r) + "|" + channel
}

// ParseAbandonForm splits the abandon form's private_metadata.
func ParseAbandonForm(v string) (id string, shown rotation.State, stamp, channel string) {
	if i := strings.LastIndex(v, "|"); i >= 0 {
		v, channel = v[:i], v[i+1:]
	}
	id, shown, stamp = ParseButtonValue(v)
	return id, shown, stamp, channel
}

// driftValue is a drift button's value: key|stamp|version.
func driftValue(d drift.Record, version int) string {
	return fmt.Sprintf("%s|%s|%d", d.Key, d.Stamp(), version)
}

// ParseDriftButton reads a drift button's value: key|stamp|version (a post made
// before versions were named has none: 0, the record's).
func ParseDriftButton(value string) (key, stamp string, version int) {
	parts := strings.SplitN(value, "|", 3)
	key = parts[0]
	if len(parts) > 1 {
		stamp = parts[1]
	}
	if len(parts) > 2 {
		version, _ = strconv.Atoi(parts[2])
	}
	return key, stamp, version
}
