package llmjudge

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// canary is the small judgment Check asks, and the judge asks when a call
// failed without an answer, to tell an outage from a failure of that
// call: its content is the judge's own, never a client's.
var canary = policy.JudgeRequest{
	Call: policy.Call{
		Workspace: "gatehouse-check", User: "gatehouse", Client: "gatehouse check",
		Upstream: "gatehouse", Tool: "echo", Description: "Echoes its text back.",
		Arguments: []byte(`{"text":"hello"}`),
	},
	Policies: []policy.JudgedPolicy{{ID: "check", Name: "check", Rules: "Echoing a greeting is always allowed."}},
}

// ErrUnfit is Check's failure when the model answers, validly, a verdict
// no sound judge would give.
var ErrUnfit = errors.New("the model does not judge as it must")

// Check asks the model one small judgment, through the whole path a call
// takes (prompt, request, strict reading), without the cache or the
// breaker: `gatehouse check` uses it to say whether the judge is reachable
// and answers as it must.
// With a second opinion configured, the second model is checked too.
func (j *Judge) Check(ctx context.Context) error {
	models := []Model{j.model}
	if j.opts.Confirm != nil {
		models = append(models, j.opts.Confirm)
	}
	for _, m := range models {
		ans, err := j.attemptWith(ctx, m, canary)
		if err != nil {
			return err
		}
		if ans.Results[0].Verdict != policy.JudgeComply { // parseAnswer gave one result per policy
			return fmt.Errorf("%w: %s answered %q for a call that plainly complies", ErrUnfit, m.Name(), ans.Results[0].Verdict)
		}
	}
	return nil
}
