package card

import (
	"fmt"
	"strings"

	"github.com/raxx-app/rotabot/rotation"
)

// PlanLines is the plan as plain text lines, as a dry run shows it in Slack and
// in the terminal, with people named by names (user id → "@olga"; nil shows ids).
func PlanLines(p rotation.Plan, names map[string]string) []string {
	var out []string
	out = append(out, fmt.Sprintf("Plan for %s (%s PAT)", p.Secret, p.Kind))
	out = append(out, fmt.Sprintf("  vault: %s%s in %s (pending value at %s%s)", p.Vault.Path, p.Vault.Key, p.Vault.Environment, p.Pending.Path, p.Pending.Key))
	if p.Kind.Minted() {
		out[0] = fmt.Sprintf("Plan for %s (%s, minted by rotabot)", p.Secret, p.Kind)
		out = append(out, fmt.Sprintf("  new key: made by rotabot at %s, for the current key's account, with its scope unless scopes are listed", p.Kind.Service()))
	} else {
		out = append(out, fmt.Sprintf("  new token: name %s, expires in %d days", p.TokenName, p.ExpiresInDays))
	}
	if p.ResourceOwner != "" {
		out = append(out, "  resource owner: "+p.ResourceOwner)
	}
	if len(p.Repositories) > 0 {
		out = append(out, "  repositories: "+strings.Join(p.Repositories, ", "))
	}
	if len(p.Permissions) > 0 {
		out = append(out, "  permissions: "+p.PermissionList())
	}
	if len(p.Scopes) > 0 {
		out = append(out, "  scopes: "+strings.Join(p.Scopes, ", "))
	}
	if p.Probe != "" {
		out = append(out, "  workload probe: GET "+p.Probe)
	}
	out = append(out, fmt.Sprintf("  destinations (%d):", len(p.Destinations)))
	for _, d := range p.Destinations {
		out = append(out, "    - "+d.PlainLabelNamed(names))
	}
	for _, v := range p.Verify {
		out = append(out, fmt.Sprintf("  verify: %s (GET %s, expect %d)", v.Name, rotation.URLWithoutUser(v.URL), v.ExpectStatus))
	}
	if p.NewTokenURL != "" {
		out = append(out, "  create it at: "+p.NewTokenURL)
	}
	for _, w := range p.Warnings {
		out = append(out, "  ⚠ "+w)
	}
	return out
}
