-- Approvals (issue 6): what became of each call held for approval, on its
-- verdict record, and the out-of-band requests `gatehouse approvals`
-- decides. Times as in 0001. An existing log keeps its records: the new
-- columns read '' (not held) for them.
ALTER TABLE verdicts ADD COLUMN approval_state TEXT NOT NULL DEFAULT ''; -- approved | declined | cancelled | expired | pending | unavailable; '' when not held
ALTER TABLE verdicts ADD COLUMN approval_via   TEXT NOT NULL DEFAULT ''; -- client | out_of_band
ALTER TABLE verdicts ADD COLUMN approval_id    TEXT NOT NULL DEFAULT ''; -- the out-of-band request (approvals.id)
ALTER TABLE verdicts ADD COLUMN approval_by    TEXT NOT NULL DEFAULT ''; -- who approved or denied
CREATE INDEX verdicts_approval ON verdicts (approval_id) WHERE approval_id != '';

-- One row per call parked for an out-of-band decision. A request is
-- expired when it is pending or approved and its expires time has passed;
-- that is computed when read, never stored.
CREATE TABLE approvals (
	id              TEXT PRIMARY KEY,        -- "ap-" and 10 random base32 characters
	created         TEXT NOT NULL,           -- when the call was parked
	expires         TEXT NOT NULL,           -- pending: when the request lapses; approved: when the approval does
	workspace       TEXT NOT NULL,
	user            TEXT NOT NULL,           -- the caller
	tool            TEXT NOT NULL,           -- the upstream's name of the tool
	exposed         TEXT NOT NULL,           -- the name the client called
	upstream        TEXT NOT NULL,
	args_hash       TEXT NOT NULL,           -- policy.HashArguments of the call's arguments
	arguments       TEXT NOT NULL,           -- as the verdict log keeps them (masked): what the approver is shown
	policy          TEXT NOT NULL,           -- the policy that holds the call
	reason          TEXT NOT NULL,
	approvers       TEXT NOT NULL,           -- JSON array of users; [] for anyone but the caller
	verdict         TEXT NOT NULL,           -- the verdict id of the parked call
	status          TEXT NOT NULL,           -- pending | approved | denied | used
	decided_by      TEXT NOT NULL DEFAULT '',
	decided_at      TEXT NOT NULL DEFAULT '',
	decision_reason TEXT NOT NULL DEFAULT '',
	used_at         TEXT NOT NULL DEFAULT '',
	used_verdict    TEXT NOT NULL DEFAULT '' -- the verdict id of the call that used it, when known
);
CREATE INDEX approvals_key ON approvals (workspace, user, tool, args_hash, status);
CREATE INDEX approvals_status_created ON approvals (status, created);
CREATE INDEX approvals_created ON approvals (created);
