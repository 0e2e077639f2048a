package audit

import (
	"fmt"
	"os/user"
	"strings"
)

// Approver is who decides an out-of-band approval request: an identity
// established by whoever calls Approve or Deny, never one a person
// asserts (DESIGN §7). Locally it is the OS user running `gatehouse
// approvals` (OSApprover); over HTTP (team mode) it will be the identity
// of the request's API key or token, established by the server.
type Approver struct {
	// Name is the user name that policies' approvers lists name.
	Name string
	// Via says how Name was established: ApproverViaOS locally.
	Via string
}

// ApproverViaOS is the Via of an approver established as the OS user of
// the process.
const ApproverViaOS = "os user"

// OSApprover is the OS user running this process, as the approver.
func OSApprover() (Approver, error) {
	u, err := user.Current()
	if err != nil {
		return Approver{}, fmt.Errorf("%w: cannot tell which OS user runs this: %w", ErrNotApprover, err)
	}
	return Approver{Name: u.Username, Via: ApproverViaOS}, nil
}

// check refuses an approver with no name, or one whose identity nobody
// says how it was established.
func (a Approver) check() error {
	switch {
	case strings.TrimSpace(a.Name) == "":
		return fmt.Errorf("%w: no approver named", ErrNotApprover)
	case a.Via == "":
		return fmt.Errorf("%w: %s: how the approver's identity was established is not said", ErrNotApprover, a.Name)
	}
	return nil
}

// String is the approver's name and how it was established.
func (a Approver) String() string { return a.Name + " (" + a.Via + ")" }
