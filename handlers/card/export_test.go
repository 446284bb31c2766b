package card

// SlackLen is slackLen for the external tests, which check what Slack would
// refuse.
var SlackLen = slackLen
