package rotation

import "fmt"

// State is where a run stands. The values are stable words: they are stored and
// logged, so never rename one.
type State string

const (
	StatePrechecking     State = "prechecking"      // step 1, bot
	StatePrecheckFailed  State = "precheck_failed"  // step 1 failed; Retry or Cancel
	StateWaitingToken    State = "waiting_token"    // step 2: the operator makes and submits the new token
	StateWaitingApproval State = "waiting_approval" // step 3 passed; a second ops member approves
	StateStoring         State = "storing"          // step 4, bot
	StateStoreFailed     State = "store_failed"
	StatePropagating     State = "propagating" // step 5, bot
	StatePropagateFailed State = "propagate_failed"
	StateVerifying       State = "verifying" // step 6, bot
	StateVerifyFailed    State = "verify_failed"
	StateWaitingRevoke   State = "waiting_revoke" // step 7: the operator revokes the old token
	StateRevoking        State = "revoking"       // step 7: the bot revokes and/or checks the old token answers 401
	StateAuditing        State = "auditing"       // step 8, bot
	StateAuditFailed     State = "audit_failed"
	StateRollingBack     State = "rolling_back"
	StateRollbackFailed  State = "rollback_failed"
	StateCompleted       State = "completed"
	StateRolledBack      State = "rolled_back"
	StateCancelled       State = "cancelled"
	// StateAbandoned: a person gave the run up where it stood, with a reason;
	// rotabot stopped tracking it and the secret is free for a new run.
	StateAbandoned State = "abandoned"
)

// States lists every state, in the order of the SOP.
var States = []State{
	StatePrechecking, StatePrecheckFailed, StateWaitingToken, StateWaitingApproval,
	StateStoring, StateStoreFailed, StatePropagating, StatePropagateFailed,
	StateVerifying, StateVerifyFailed, StateWaitingRevoke, StateRevoking,
	StateAuditing, StateAuditFailed, StateRollingBack, StateRollbackFailed,
	StateCompleted, StateRolledBack, StateCancelled, StateAbandoned,
}

// Event is something that happens to a run: a person's gesture or a step's outcome.
type Event string

const (
	EvPrecheckOK    Event = "precheck_ok"
	EvPrecheckFail  Event = "precheck_fail"
	EvSubmit        Event = "submit" // a validated token was staged as the pending value
	EvApprove       Event = "approve"
	EvCancel        Event = "cancel"
	EvStored        Event = "stored"
	EvStoreFail     Event = "store_fail"
	EvPropagated    Event = "propagated"
	EvPropagateFail Event = "propagate_fail"
	EvVerified      Event = "verified"
	EvVerifyFail    Event = "verify_fail"
	EvRevoke        Event = "revoke"         // either revoke button
	EvRevokeConfirm Event = "revoke_confirm" // the old token answers 401
	EvRevokePending Event = "revoke_pending" // the old token still works: keep waiting
	EvSkipRevoke    Event = "skip_revoke"    // the CLI leaves revoking to a person (SOP step 5 bridge)
	EvAudited       Event = "audited"
	EvAuditFail     Event = "audit_fail"
	EvRetry         Event = "retry"
	EvRollback      Event = "rollback"
	EvRolledBack    Event = "rolled_back"
	EvRollbackFail  Event = "rollback_fail"
	EvAbandon       Event = "abandon"    // give the run up where it stands (a failed step, or waiting for a person)
	EvWatchFail     Event = "watch_fail" // a log watch saw a GitHub authentication failure
)

// Events lists every event.
var Events = []Event{
	EvPrecheckOK, EvPrecheckFail, EvSubmit, EvApprove, EvCancel, EvStored, EvStoreFail,
	EvPropagated, EvPropagateFail, EvVerified, EvVerifyFail, EvRevoke, EvRevokeConfirm,
	EvRevokePending, EvSkipRevoke, EvAudited, EvAuditFail, EvRetry, EvRollback,
	EvRolledBack, EvRollbackFail, EvAbandon, EvWatchFail,
}

type move struct {
	from State
	ev   Event
}

// transitions is the one table of every allowed move. Anything not here is
// refused. Rollback is allowed from approval until the revoke is under way; cancel
// only before approval; every failed step can be retried; a run that failed or
// waits for a person can be abandoned.
var transitions = map[move]State{
	// step 1
	{StatePrechecking, EvPrecheckOK}:   StateWaitingToken,
	{StatePrechecking, EvPrecheckFail}: StatePrecheckFailed,
	{StatePrecheckFailed, EvRetry}:     StatePrechecking,
	// steps 2–3
	{StateWaitingToken, EvSubmit}: StateWaitingApproval,
	// approval
	{StateWaitingApproval, EvApprove}: StateStoring,
	// cancel, before approval only
	{StatePrechecking, EvCancel}:     StateCancelled,
	{StatePrecheckFailed, EvCancel}:  StateCancelled,
	{StateWaitingToken, EvCancel}:    StateCancelled,
	{StateWaitingApproval, EvCancel}: StateCancelled,
	// step 4
	{StateStoring, EvStored}:    StatePropagating,
	{StateStoring, EvStoreFail}: StateStoreFailed,
	{StateStoreFailed, EvRetry}: StateStoring,
	// step 5
	{StatePropagating, EvPropagated}:    StateVerifying,
	{StatePropagating, EvPropagateFail}: StatePropagateFailed,
	{StatePropagateFailed, EvRetry}:     StatePropagating,
	// step 6
	{StateVerifying, EvVerified}:   StateWaitingRevoke,
	{StateVerifying, EvVerifyFail}: StateVerifyFailed,
	{StateVerifyFailed, EvRetry}:   StatePropagating, // rewrite what failed, then verify all
	// step 7
	{StateWaitingRevoke, EvRevoke}:     StateRevoking,
	{StateWaitingRevoke, EvSkipRevoke}: StateAuditing,
	{StateRevoking, EvRevokeConfirm}:   StateAuditing,
	{StateRevoking, EvRevokePending}:   StateWaitingRevoke,
	// a log watch matched while the run waits for revoke: verify failed after
	// all, and rollback is still possible
	{StateWaitingRevoke, EvWatchFail}: StateVerifyFailed,
	// step 8
	{StateAuditing, EvAudited}:   StateCompleted,
	{StateAuditing, EvAuditFail}: StateAuditFailed,
	{StateAuditFailed, EvRetry}:  StateAuditing,
	// rollback: from approval until step 7 is confirmed
	{StateStoring, EvRollback}:         StateRollingBack,
	{StateStoreFailed, EvRollback}:     StateRollingBack,
	{StatePropagating, EvRollback}:     StateRollingBack,
	{StatePropagateFailed, EvRollback}: StateRollingBack,
	{StateVerifying, EvRollback}:       StateRollingBack,
	{StateVerifyFailed, EvRollback}:    StateRollingBack,
	{StateWaitingRevoke, EvRollback}:   StateRollingBack,
	{StateRollingBack, EvRolledBack}:   StateRolledBack,
	{StateRollingBack, EvRollbackFail}: StateRollbackFailed,
	{StateRollbackFailed, EvRetry}:     StateRollingBack,
	// abandon: from every failed step and every wait for a person — the way out
	// when neither retry nor rollback can finish (an old version gone from
	// Infisical, an archived audit channel). Nothing is written; the card and the
	// audit entry say what the run leaves where.
	{StatePrecheckFailed, EvAbandon}:  StateAbandoned,
	{StateWaitingToken, EvAbandon}:    StateAbandoned,
	{StateWaitingApproval, EvAbandon}: StateAbandoned,
	{StateStoreFailed, EvAbandon}:     StateAbandoned,
	{StatePropagateFailed, EvAbandon}: StateAbandoned,
	{StateVerifyFailed, EvAbandon}:    StateAbandoned,
	{StateWaitingRevoke, EvAbandon}:   StateAbandoned,
	{StateAuditFailed, EvAbandon}:     StateAbandoned,
	{StateRollbackFailed, EvAbandon}:  StateAbandoned,
}

// Next returns the state that ev moves from into, or an ECONFLICT error when the
// table has no such move.
func Next(from State, ev Event) (State, error) {
	if to, ok := transitions[move{from, ev}]; ok {
		return to, nil
	}
	return "", &Error{Code: ECONFLICT, Message: "This run has moved on: it is " + from.Word(),
		Err: fmt.Errorf("%w: no transition from %s on %s", ErrMovedOn, from, ev)}
}

// Allowed reports whether ev is allowed in state s.
func (s State) Allowed(ev Event) bool {
	_, ok := transitions[move{s, ev}]
	return ok
}

// Final reports whether the run is over.
func (s State) Final() bool {
	return s == StateCompleted || s == StateRolledBack || s == StateCancelled || s == StateAbandoned
}

// Automatic reports whether the bot, not a person, acts next in state s: a resumed
// process picks such runs up and carries them on.
func (s State) Automatic() bool {
	switch s {
	case StatePrechecking, StateStoring, StatePropagating, StateVerifying,
		StateRevoking, StateAuditing, StateRollingBack:
		return true
	}
	return false
}

// Failed reports whether a step failed and waits for Retry (or Rollback/Cancel).
func (s State) Failed() bool {
	switch s {
	case StatePrecheckFailed, StateStoreFailed, StatePropagateFailed, StateVerifyFailed,
		StateAuditFailed, StateRollbackFailed:
		return true
	}
	return false
}

// Step is the SOP step a run in state s is at.
func (s State) Step() StepName {
	switch s {
	case StatePrechecking, StatePrecheckFailed:
		return StepPrecheck
	case StateWaitingToken:
		return StepGenerate
	case StateWaitingApproval:
		return StepApproval
	case StateStoring, StateStoreFailed:
		return StepStore
	case StatePropagating, StatePropagateFailed:
		return StepPropagate
	case StateVerifying, StateVerifyFailed:
		return StepVerify
	case StateWaitingRevoke, StateRevoking:
		return StepRevoke
	case StateAuditing, StateAuditFailed, StateCompleted:
		return StepAudit
	case StateCancelled:
		return StepCancel
	case StateAbandoned:
		return StepAbandon
	}
	return StepRollback
}

// Word is the one status word people see for a state.
func (s State) Word() string {
	switch s {
	case StatePrechecking:
		return "Pre-checking"
	case StateWaitingToken:
		return "Waiting for token"
	case StateWaitingApproval:
		return "Waiting for approval"
	case StateStoring, StatePropagating:
		return "Propagating"
	case StateVerifying:
		return "Verifying"
	case StateWaitingRevoke, StateRevoking:
		return "Waiting for revoke"
	case StateAuditing:
		return "Auditing"
	case StateRollingBack:
		return "Rolling back"
	case StateCompleted:
		return "Completed"
	case StateRolledBack:
		return "Rolled back"
	case StateCancelled:
		return "Cancelled"
	case StateAbandoned:
		return "Abandoned"
	}
	if s.Failed() {
		return "Failed"
	}
	return string(s)
}

// DestState is where one destination of a run stands.
type DestState string

const (
	DestPending  DestState = "pending"  // not written yet
	DestWriting  DestState = "writing"  // a write is (or was, before a crash) in flight
	DestWritten  DestState = "written"  // the new value was set
	DestWaiting  DestState = "waiting"  // shell rc: DM sent, waiting for the operator's Done
	DestDone     DestState = "done"     // shell rc: the operator pressed Done
	DestVerified DestState = "verified" // read back and matched
	DestFailed   DestState = "failed"   // write or verify failed; can be retried alone
	DestReverted DestState = "reverted" // rollback set the old value back (or asked the operator to)
)

// DestEvent is something that happens to one destination.
type DestEvent string

const (
	DestEvWrite    DestEvent = "write"
	DestEvWritten  DestEvent = "written"
	DestEvAsked    DestEvent = "asked" // shell rc DM sent
	DestEvDone     DestEvent = "done"  // shell rc operator pressed Done
	DestEvVerified DestEvent = "verified"
	DestEvFail     DestEvent = "fail"
	DestEvRevert   DestEvent = "revert"
)

type destMove struct {
	from DestState
	ev   DestEvent
}

// destTransitions is the table for one destination inside a run.
var destTransitions = map[destMove]DestState{
	{DestPending, DestEvWrite}:     DestWriting,
	{DestFailed, DestEvWrite}:      DestWriting, // retry alone
	{DestWriting, DestEvWrite}:     DestWriting, // resumed after a crash: redo the write
	{DestWriting, DestEvWritten}:   DestWritten,
	{DestWriting, DestEvAsked}:     DestWaiting,
	{DestWriting, DestEvFail}:      DestFailed,
	{DestWaiting, DestEvDone}:      DestDone,
	{DestWritten, DestEvVerified}:  DestVerified,
	{DestWritten, DestEvFail}:      DestFailed,
	{DestVerified, DestEvVerified}: DestVerified,
	{DestVerified, DestEvFail}:     DestFailed,
	{DestWaiting, DestEvFail}:      DestFailed,
	{DestDone, DestEvFail}:         DestFailed,
	{DestReverted, DestEvRevert}:   DestReverted,
	{DestWriting, DestEvRevert}:    DestReverted,
	{DestWritten, DestEvRevert}:    DestReverted,
	{DestWaiting, DestEvRevert}:    DestReverted,
	{DestDone, DestEvRevert}:       DestReverted,
	{DestVerified, DestEvRevert}:   DestReverted,
	{DestFailed, DestEvRevert}:     DestReverted,
}

// NextDest returns the destination state ev moves into.
func NextDest(from DestState, ev DestEvent) (DestState, error) {
	if to, ok := destTransitions[destMove{from, ev}]; ok {
		return to, nil
	}
	return "", &Error{Code: ECONFLICT, Message: "This destination has moved on: it is " + string(from),
		Err: fmt.Errorf("no destination transition from %s on %s", from, ev)}
}
