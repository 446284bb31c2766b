package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Envelopes on the Socket Mode link: delivered round-robin, queued while no link
// is open, redelivered on request, and timed against the ack deadline.

// Envelope is one Socket Mode envelope, as it travels on the link.
type Envelope struct {
	Type                   string          `json:"type"` // slash_commands | interactive | events_api
	EnvelopeID             string          `json:"envelope_id"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
	Payload                json.RawMessage `json:"payload"`
}

// deliver sends a frame on the next open link, or queues it until one opens.
func (s *Slack) deliver(b []byte) error {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return errors.New("sandbox: slack stand-in closed")
		}
		if len(s.links) == 0 {
			s.pending = append(s.pending, b)
			s.notifyLocked()
			s.mu.Unlock()
			return nil
		}
		l := s.links[s.rr%len(s.links)]
		s.rr++
		s.mu.Unlock()
		if err := l.write(b); err == nil {
			s.markDelivered(b)
			return nil
		}
		s.removeLink(l)
	}
}

// SlackAckDeadline is how long Slack waits for the ack of a slash command or a view
// submission, from when it delivered the envelope; it is also a trigger_id's life.
const SlackAckDeadline = 3 * time.Second

// SetAckDeadline changes the ack deadline and trigger_id life (SlackAckDeadline).
func (s *Slack) SetAckDeadline(d time.Duration) {
	s.mu.Lock()
	s.ackWithin = d
	s.mu.Unlock()
}

// LateAcks returns the acks that came after the deadline and were discarded.
func (s *Slack) LateAcks() []LateAck {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]LateAck(nil), s.lateAcks...)
}

// markDelivered notes when the envelope in frame b went out: the ack deadline and
// its trigger_id's life count from then.
func (s *Slack) markDelivered(b []byte) {
	var env struct {
		EnvelopeID string          `json:"envelope_id"`
		Payload    json.RawMessage `json:"payload"`
	}
	if json.Unmarshal(b, &env) != nil || env.EnvelopeID == "" {
		return
	}
	var p struct {
		TriggerID string `json:"trigger_id"`
	}
	_ = json.Unmarshal(env.Payload, &p)
	now := time.Now()
	s.mu.Lock()
	s.delivered[env.EnvelopeID] = now
	if tr := s.triggers[p.TriggerID]; tr != nil && !tr.used {
		tr.at = now
	}
	s.mu.Unlock()
}

// SendEnvelope delivers env as is (an empty EnvelopeID is made up). Sending an envelope
// id again with RetryAttempt > 0 is how Slack redelivers one it thinks was not acked.
// A trigger_id in its payload becomes usable with views.open.
func (s *Slack) SendEnvelope(env Envelope) (string, error) {
	if env.EnvelopeID == "" {
		env.EnvelopeID = slackRandID()
	}
	if len(env.Payload) == 0 {
		env.Payload = json.RawMessage("{}")
	}
	var p struct {
		TriggerID string `json:"trigger_id"`
		UserID    string `json:"user_id"`
		User      struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	_ = json.Unmarshal(env.Payload, &p)
	b, err := json.Marshal(env)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	if p.TriggerID != "" {
		if _, ok := s.triggers[p.TriggerID]; !ok {
			user := p.UserID
			if user == "" {
				user = p.User.ID
			}
			s.triggers[p.TriggerID] = &slackTrigger{user: user, at: time.Now()}
		}
	}
	s.sent[env.EnvelopeID] = append(s.sent[env.EnvelopeID], env)
	s.mu.Unlock()
	return env.EnvelopeID, s.deliver(b)
}

// Redeliver sends an envelope again with the next retry_attempt, as Slack does when an
// ack did not arrive in time (reason: "timeout").
func (s *Slack) Redeliver(envelopeID, reason string) error {
	s.mu.Lock()
	sent := s.sent[envelopeID]
	s.mu.Unlock()
	if len(sent) == 0 {
		return fmt.Errorf("sandbox: no envelope %q was sent", envelopeID)
	}
	env := sent[len(sent)-1]
	env.RetryAttempt++
	env.RetryReason = reason
	_, err := s.SendEnvelope(env)
	return err
}

// Envelope returns the envelope last sent with that id.
func (s *Slack) Envelope(envelopeID string) (Envelope, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sent := s.sent[envelopeID]
	if len(sent) == 0 {
		return Envelope{}, false
	}
	return sent[len(sent)-1], true
}

// TriggerID returns the trigger_id an envelope carried ("" if none).
func (s *Slack) TriggerID(envelopeID string) string {
	env, _ := s.Envelope(envelopeID)
	var p struct {
		TriggerID string `json:"trigger_id"`
	}
	_ = json.Unmarshal(env.Payload, &p)
	return p.TriggerID
}

func (s *Slack) newTriggerIDLocked() string {
	s.idSeq++
	return fmt.Sprintf("%d.%d.%s", s.tsBase, s.idSeq, strings.ReplaceAll(slackRandID(), "-", ""))
}
