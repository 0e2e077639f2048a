package main

import "encoding/json"

// The tools of the generated calls, with the descriptions their servers
// give.
const (
	descSQL      = "Run a SQL query against the database"
	descShell    = "Run a shell command on the host and return stdout, stderr and the exit code"
	descHTTP     = "Make an HTTP request to a URL and return the status, headers and body"
	descEmail    = "Send an email with optional attachments from the connected mailbox"
	descWrite    = "Create a new file or completely overwrite an existing file with new content"
	descTransfer = "Transfer money from a company account, either to a saved payee (saved_payee_id) or to a new beneficiary (beneficiary)"
	descExport   = "Export a database table to a file or a remote destination (s3://, https://, sftp://)"
	descDeploy   = "Deploy a service version to an environment"
)

// sqlCall is a query on the postgres server.
func sqlCall(ws, user, client, sql string) call {
	return call{ws, user, client, "postgres", "query", descSQL, js(map[string]string{"sql": sql})}
}

// shellCall is a command on the shell server.
func shellCall(ws, user, client, command string) call {
	return call{ws, user, client, "shell", "run_command", descShell, js(map[string]string{"command": command})}
}

// httpCall is a request on the http server.
func httpCall(ws, user, client string, args json.RawMessage) call {
	return call{ws, user, client, "http", "http_request", descHTTP, args}
}

// emailCall sends e-mail through the gmail server.
func emailCall(ws, user, client string, args json.RawMessage) call {
	return call{ws, user, client, "gmail", "send_email", descEmail, args}
}

// writeCall writes a file through the filesystem server.
func writeCall(ws, user, client, path, content string) call {
	return call{ws, user, client, "filesystem", "write_file", descWrite, js(map[string]string{"path": path, "content": content})}
}

// transferCall moves money through the bank-api server.
func transferCall(ws, user, client string, args json.RawMessage) call {
	return call{ws, user, client, "bank-api", "transfer_funds", descTransfer, args}
}

// exportCall exports a table through the postgres server.
func exportCall(ws, user, client string, args json.RawMessage) call {
	return call{ws, user, client, "postgres", "export_table", descExport, args}
}

// cloudCall is a cloud CLI command on the cloud server.
func cloudCall(ws, user, client, command string) call {
	return call{ws, user, client, "cloud", "cloud_cli", "Run an aws, gcloud, az, terraform, kubectl or pulumi command with the workspace's credentials", js(map[string]string{"command": command})}
}

// gitCall is a git command in a repository checkout.
func gitCall(ws, user, client, repo, command string) call {
	return call{ws, user, client, "git", "git", "Run a git command in a repository checkout", js(map[string]string{"repo": repo, "command": command})}
}
