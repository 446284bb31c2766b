package rotation

import (
	"strconv"
	"time"
)

// A drift record: what the drift check (rotation/drift) found at one place
// between runs, kept by every Store (DriftStore) so a post is made once and
// updated in place, and so what rotabot last wrote there outside runs is known.
// Like everything else, it holds names, versions and fingerprints of
// Infisical's value, never a value and never a digest of what a destination
// holds.

// DriftKind says what drifted.
type DriftKind string

const (
	// DriftValue: a Heroku config var does not hold Infisical's current value.
	DriftValue DriftKind = "value"
	// DriftWritten: a GitHub Actions secret was written after rotabot last
	// wrote it, or is gone.
	DriftWritten DriftKind = "written"
	// DriftVersion: Infisical holds a version rotabot did not write.
	DriftVersion DriftKind = "version"
)

// DriftRecord is one place that drifted — now (Open) or before. Its key stays
// the same across drifts of the same place, so what rotabot last wrote there
// outside runs (Wrote, Adopted) is kept.
type DriftRecord struct {
	Key    string    `json:"key"`
	Secret string    `json:"secret"`
	Kind   DriftKind `json:"kind"`
	// Dest, Target and Name are the destination (none for DriftVersion).
	Dest   DestKind `json:"dest,omitempty"`
	Target string   `json:"target,omitempty"`
	Name   string   `json:"name,omitempty"`

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
	Retired *Retirement `json:"retired,omitempty"`

	// RequestedBy pressed Set it from Infisical at RequestedAt on a drift
	// whose repair writes every destination (DriftVersion), for Infisical's
	// RequestedVersion: a second ops member approves it (ApprovedBy) before
	// anything is written.
	RequestedBy      string    `json:"requested_by,omitempty"`
	RequestedAt      time.Time `json:"requested_at,omitzero"`
	RequestedVersion int       `json:"requested_version,omitempty"`
	ApprovedBy       string    `json:"approved_by,omitempty"`

	// Post is the drift's message in the ops channel; Shown is what it shows
	// (ShowState), "" before it was posted.
	Post  CardRef `json:"post,omitzero"`
	Shown string  `json:"shown,omitempty"`

	// Wrote is when a repair last wrote this destination: with the runs'
	// writes, what a GitHub Actions secret's updated_at is compared with.
	Wrote time.Time `json:"wrote,omitzero"`
	// Adopted is the Infisical version a repair set on every destination
	// (DriftVersion): with the runs', what the current version is compared with.
	Adopted int `json:"adopted,omitempty"`
}

// DriftKey is the key of a destination's drift record (dest "" for the vault).
func DriftKey(secret string, dest DestKind, target, name string) string {
	if dest == "" {
		return secret + ":vault"
	}
	return secret + ":" + string(dest) + ":" + target + ":" + name
}

// Stamp tells this drift from an earlier one of the same place: a button of an
// older post does nothing.
func (d DriftRecord) Stamp() string { return strconv.FormatInt(d.Since.UnixNano(), 36) }

// Label names the drifted place for people.
func (d DriftRecord) Label() string {
	if d.Dest == "" {
		return "Infisical " + d.Secret
	}
	name := d.Name
	if name == d.Secret {
		name = "" // the matrix's default: not named
	}
	return Destination{Kind: d.Dest, Target: d.Target, Name: name}.Label()
}

// ShowState is what the record's post should show: "open:PROBLEM" (with
// "|asked:USER:VERSION" once a repair is asked for), "resolved" or "repaired".
func (d DriftRecord) ShowState() string {
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

// ActionDriftRepaired is the audit action of a repair.
const ActionDriftRepaired AuditAction = "secret.drift.repaired"
