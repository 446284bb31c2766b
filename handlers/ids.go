package handlers

import (
	"github.com/raxx-app/rotabot/handlers/card"
	"github.com/slack-go/slack"
)

// The ids and labels of what package card draws, under the names the callers
// that drive gestures use (the end-to-end tests, the demo, the bench): they are
// card's, given here so a caller need not import card to press a button.
const (
	ActSubmit       = card.ActSubmit
	ActMint         = card.ActMint
	ActApprove      = card.ActApprove
	ActCancel       = card.ActCancel
	ActRollback     = card.ActRollback
	ActRetry        = card.ActRetry
	ActRevokeAPI    = card.ActRevokeAPI
	ActRevokeManual = card.ActRevokeManual
	ActDone         = card.ActDone
	ActStart        = card.ActStart
	ActAbandon      = card.ActAbandon
	ActDriftRepair  = card.ActDriftRepair
	ActDriftApprove = card.ActDriftApprove

	LabelSubmit       = card.LabelSubmit
	LabelMint         = card.LabelMint
	LabelApprove      = card.LabelApprove
	LabelCancel       = card.LabelCancel
	LabelRollback     = card.LabelRollback
	LabelRetry        = card.LabelRetry
	LabelRevokeAPI    = card.LabelRevokeAPI
	LabelRevokeManual = card.LabelRevokeManual
	LabelDone         = card.LabelDone
	LabelStart        = card.LabelStart
	LabelAbandon      = card.LabelAbandon
	LabelDriftRepair  = card.LabelDriftRepair

	ViewSubmitToken = card.ViewSubmitToken
	BlockToken      = card.BlockToken
	ActionToken     = card.ActionToken
	ViewAbandon     = card.ViewAbandon
	BlockReason     = card.BlockReason
	ActionReason    = card.ActionReason
)

// BlocksText renders blocks as plain text: what a person would read
// (card.BlocksText; the demo prints cards with it).
func BlocksText(blocks []slack.Block) string { return card.BlocksText(blocks) }
