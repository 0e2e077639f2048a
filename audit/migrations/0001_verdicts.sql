-- The verdict log: one row per tools/call that reached the gateway.
-- Times are UTC text of fixed width (2006-01-02T15:04:05.000000Z), so they
-- sort as text and SQLite's date functions read them. Lists are JSON arrays.
CREATE TABLE verdicts (
	seq                  INTEGER PRIMARY KEY,  -- insertion order, across processes
	id                   TEXT NOT NULL UNIQUE, -- the verdict id (ULID) the client saw
	time                 TEXT NOT NULL,        -- when the call reached the gateway
	pid                  INTEGER NOT NULL,     -- the gateway process that decided
	workspace            TEXT NOT NULL,
	user                 TEXT NOT NULL,
	client               TEXT NOT NULL,
	session              TEXT NOT NULL,
	upstream             TEXT NOT NULL,
	tool                 TEXT NOT NULL,        -- the upstream's name of the tool
	exposed              TEXT NOT NULL,        -- the name the client called
	arguments            TEXT,                 -- as arguments_form says; NULL for none
	arguments_form       TEXT NOT NULL,        -- masked | hash | none
	decision             TEXT NOT NULL,        -- allow | require_approval | block
	policy               TEXT NOT NULL,        -- the deciding policy, '' when none
	layer                TEXT NOT NULL,        -- its layer: global | workspace
	reason               TEXT NOT NULL,
	message              TEXT NOT NULL,        -- what the client read when not allowed
	results              TEXT NOT NULL,        -- [{policy, layer, kind, outcome, why}]
	warnings             TEXT NOT NULL,        -- [{policy, message}]
	redactions           TEXT NOT NULL,        -- [{policy, path, what}]
	findings             TEXT NOT NULL,        -- [{threat, kind, severity, path, masked}]
	risk                 REAL NOT NULL,
	judge_asked          INTEGER NOT NULL,
	judge_model          TEXT NOT NULL,
	judge_prompt_version TEXT NOT NULL,
	judge_latency_ms     REAL,                 -- NULL when the judge was not asked
	judge_cached         INTEGER NOT NULL,
	judge_error          TEXT NOT NULL,
	fail_open            INTEGER NOT NULL,     -- allowed although a non-strict policy could not be judged
	policy_version       TEXT NOT NULL,        -- hash of the effective policies that decided
	upstream_outcome     TEXT NOT NULL,        -- not_run | ok | tool_error | transport_error | cancelled
	upstream_error       TEXT NOT NULL,
	upstream_latency_ms  REAL,                 -- NULL when not run
	overhead_ms          REAL NOT NULL         -- the gateway's own time
);
CREATE INDEX verdicts_time ON verdicts (time);
CREATE INDEX verdicts_workspace_time ON verdicts (workspace, time);
