package main

import (
	"fmt"
	"os/user"
	"slices"
	"strings"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// selfApprovals warns of the policies whose out-of-band approval the
// agent's own user could give: the approver of `gatehouse approvals` is
// the OS user running it, and an agent with a shell runs as the OS user
// the gateway runs as (runsAs), or is the user the gateway acts for
// (actsFor). For every enabled policy of set that can hold a call for
// approval (require_approval, or plain-English rules, which the judge
// may answer needs_approval) in the global layer or a workspace of
// workspaces, it warns when its approvers list actsFor or runsAs, or,
// when it lists none (anyone but the caller, actsFor), when runsAs is not
// actsFor.
func selfApprovals(set policy.Set, workspaces []string, actsFor, runsAs string) []string {
	var out []string
	check := func(where string, ps []policy.Policy) {
		for _, p := range ps {
			if !p.Enabled || (p.Action != policy.ActionRequireApproval && p.Rules == "") {
				continue
			}
			if w := selfApproval(p.Approval.Approvers, actsFor, runsAs); w != "" {
				out = append(out, fmt.Sprintf("%spolicy %s: %s", where, p.Name, w))
			}
			if len(p.Approval.Approvers) > 0 && !p.Approval.OutOfBandOnly {
				out = append(out, fmt.Sprintf("%spolicy %s: approvers [%s], but the person at the client may also approve (in_client is not false), so the caller can approve its own calls at the client: set in_client: false for only the approvers to decide",
					where, p.Name, strings.Join(p.Approval.Approvers, ", ")))
			}
		}
	}
	check("", set.Global)
	for _, w := range workspaces {
		check("workspace "+w+", ", set.Workspaces[w])
	}
	return out
}

// selfApproval says how the agent's own user satisfies approvers, or ""
// when it does not.
func selfApproval(approvers []string, actsFor, runsAs string) string {
	const agent = "so the agent's own user can approve its calls"
	list := "approvers [" + strings.Join(approvers, ", ") + "]"
	switch {
	case len(approvers) == 0 && runsAs != "" && runsAs != actsFor:
		return fmt.Sprintf("no approvers, so anyone but %s (the user the gateway acts for) may approve — %s, the OS user the gateway runs as, is not %s, %s", actsFor, runsAs, actsFor, agent)
	case slices.Contains(approvers, actsFor):
		return fmt.Sprintf("%s — %s is also the user the gateway acts for, %s", list, actsFor, agent)
	case runsAs != "" && slices.Contains(approvers, runsAs):
		return fmt.Sprintf("%s — %s is also the OS user the gateway runs as, %s", list, runsAs, agent)
	}
	return ""
}

// osUserName is the name of the OS user running this process; "" when it
// cannot be told.
func osUserName() string {
	u, err := user.Current()
	if err != nil {
		return ""
	}
	return u.Username
}
