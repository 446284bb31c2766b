package drift

import (
	"context"
	"strconv"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// A drift record: what the drift check (rotation/drift) found at one place
// between runs, kept by every store (RecordStore) so a post is made once and
// updated in place, and so what rotabot last wrote there outside runs is known.
// Like everything else, it holds names, versions and fingerprints of
// Infisical's value, never a value and never a digest of what a destination
// holds.

// Kind says what drifted.
type Kind string

const (
	// KindValue: a Heroku config var does not hold Infisical's current value.
	KindValue Kind = "value"
	// KindWritten: a GitHub Actions secret was written after rotabot last
	// wrote it, or is gone.
	KindWritten Kind = "written"
	// KindVersion: Infisical holds a version rotabot did not write.
	KindVersion Kind = "version"
)

// Record is one place that drifted — now (Open) or before. Its key stays
// the same across drifts of the same place, so what rotabot last wrote there
// outside runs (Wrote, Adopted) is kept.
type Record struct {
	Key    string `json:"key"`
	Secret string `json:"secret"`
	Kind   Kind   `json:"kind"`
	// Dest, Target and Name are the destination (none for KindVersion).
	Dest   rotation.DestKind `json:"dest,omitempty"`
	Target string            `json:"target,omitempty"`
	Name   string            `json:"name,omitempty"`

	Open bool `json:"open"`
	// Problem says what differs, for people.
	Problem string `json:"problem,omitempty"`
	// Since is when this drift was first seen; Resolved when it ended, by
	// itself or by RepairedBy pressing Set it from Infisical.
	Since      time.Time `json:"since,omitzero"`
	Resolved   time.Time `json:"resolved,omitzero"`
	RepairedBy string    `json:"repaired_by,omitempty"`
	// VaultVersion and Fingerprint are Infisical's current value when the
	// drift was seen (or repaired from). A drift whose version changes is a new
	// drift (a new Since): what was shown or asked for before no longer holds.
	VaultVersion int    `json:"vault_version,omitempty"`
	Fingerprint  string `json:"fingerprint,omitempty"`
	// Retired is set when that value is a token a finished run retired: it is
	// set nowhere, and the post says to rotate instead.
	Retired *rotation.Retirement `json:"retired,omitempty"`

	// RequestedBy pressed Set it from Infisical at RequestedAt on a drift
	// whose repair writes every destination (KindVersion), for Infisical's
	// RequestedVersion: a second ops member approves it (ApprovedBy) before
	// anything is written.
	RequestedBy      string    `json:"requested_by,omitempty"`
	RequestedAt      time.Time `json:"requested_at,omitzero"`
	RequestedVersion int       `json:"requested_version,omitempty"`
	ApprovedBy       string    `json:"approved_by,omitempty"`

	// Post is the drift's message in the ops channel; Shown is what it shows
	// (ShowState), "" before it was posted.
	Post  rotation.CardRef `json:"post,omitzero"`
	Shown string           `json:"shown,omitempty"`

	// Wrote is when a repair last wrote this destination: with the runs'
	// writes, what a GitHub Actions secret's updated_at is compared with.
	Wrote time.Time `json:"wrote,omitzero"`
	// Adopted is the Infisical version a repair set on every destination
	// (KindVersion): with the runs', what the current version is compared with.
	Adopted int `json:"adopted,omitempty"`
}

// Key is the key of a destination's drift record (dest "" for the vault).
func Key(secret string, dest rotation.DestKind, target, name string) string {
	if dest == "" {
		return secret + ":vault"
	}
	return secret + ":" + string(dest) + ":" + target + ":" + name
}

// Stamp tells this drift from an earlier one of the same place: a button of an
// older post does nothing.
func (d Record) Stamp() string { return strconv.FormatInt(d.Since.UnixNano(), 36) }

// Label names the drifted place for people.
func (d Record) Label() string {
	if d.Dest == "" {
		return "Infisical " + d.Secret
	}
	name := d.Name
	if name == d.Secret {
		name = "" // the matrix's default: not named
	}
	return rotation.Destination{Kind: d.Dest, Target: d.Target, Name: name}.Label()
}

// ShowState is what the record's post should show: "open:PROBLEM" (with
// "|asked:USER:VERSION" once a repair is asked for), "resolved" or "repaired".
func (d Record) ShowState() string {
	switch {
	case d.Open && d.RequestedBy != "":
		return "open:" + d.Problem + "|asked:" + d.RequestedBy + ":" + strconv.Itoa(d.RequestedVersion)
	case d.Open:
		return "open:" + d.Problem
	case d.RepairedBy != "":
		return "repaired"
	}
	return "resolved"
}

// RecordStore keeps drift records: every store implements it beside
// rotation.Store.
type RecordStore interface {
	// ListDrift returns every drift record, by key.
	ListDrift(ctx context.Context) ([]Record, error)
	// UpdateDrift loads the stored drift records of keys (those with none are
	// not in the map), calls fn and stores the records fn returns, in one
	// transaction no other write of drift records interleaves with. fn returns
	// only records of keys; when it returns none, nothing is written. fn's error
	// aborts and is returned.
	UpdateDrift(ctx context.Context, keys []string, fn func(stored map[string]Record) ([]Record, error)) error
}
