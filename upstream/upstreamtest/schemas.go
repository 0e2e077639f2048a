package upstreamtest

import "encoding/json"

// The tools' input schemas, given as raw JSON so that they reach the wire
// unchanged. Between them they use the schema features a decode into
// mcp.ToolInputSchema would lose or flatten: top-level $schema, title and
// description, $defs with $ref, anyOf, enum, const, pattern, minimum and
// maximum, nested objects and additionalProperties: false.
//
// Tests compare the tools/list wire JSON against these values; see
// InputSchema.

// EchoSchema is the input schema of the echo tool. Only message is used;
// the other properties exist so that the schema carries every feature.
const EchoSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "echo arguments",
  "description": "Arguments of the echo tool.",
  "type": "object",
  "$defs": {
    "text": {
      "type": "string",
      "maxLength": 1048576,
      "description": "Text returned verbatim."
    }
  },
  "properties": {
    "message": {"$ref": "#/$defs/text"},
    "style": {
      "type": "string",
      "enum": ["plain", "loud"],
      "default": "plain",
      "description": "Accepted and ignored."
    },
    "tag": {
      "type": "string",
      "pattern": "^[a-z]{1,8}$",
      "description": "Accepted and ignored."
    },
    "repeat": {
      "type": "integer",
      "minimum": 1,
      "maximum": 3,
      "description": "Accepted and ignored."
    },
    "options": {
      "type": "object",
      "description": "Accepted and ignored.",
      "properties": {
        "trace": {
          "anyOf": [
            {"type": "boolean"},
            {"type": "string", "enum": ["on", "off"]}
          ]
        }
      },
      "additionalProperties": false
    }
  },
  "required": ["message"],
  "additionalProperties": false
}`

const addSchema = `{
  "type": "object",
  "description": "Two numbers to add.",
  "properties": {
    "a": {"type": "number", "description": "First addend."},
    "b": {"type": "number", "description": "Second addend."}
  },
  "required": ["a", "b"],
  "additionalProperties": false
}`

// AddOutputSchema is the output schema of the add tool.
const AddOutputSchema = `{
  "type": "object",
  "properties": {
    "sum": {"type": "number", "description": "a + b"}
  },
  "required": ["sum"],
  "additionalProperties": false
}`

const emptySchema = `{
  "type": "object",
  "properties": {},
  "additionalProperties": false
}`

const messageSchema = `{
  "type": "object",
  "properties": {
    "message": {"type": "string", "description": "The message."}
  },
  "required": ["message"],
  "additionalProperties": false
}`

const slowSchema = `{
  "type": "object",
  "properties": {
    "ms": {"type": "integer", "minimum": 0, "maximum": 60000, "description": "Total run time in milliseconds."},
    "steps": {"type": "integer", "minimum": 0, "maximum": 1000, "description": "Progress notifications to send."}
  },
  "additionalProperties": false
}`

const envSchema = `{
  "type": "object",
  "properties": {
    "name": {
      "type": "string",
      "pattern": "^(\\*|[A-Za-z_][A-Za-z0-9_]*)$",
      "description": "Variable name, or * for the sorted names of all variables."
    }
  },
  "required": ["name"],
  "additionalProperties": false
}`

const promptSchema = `{
  "type": "object",
  "properties": {
    "prompt": {"type": "string", "description": "What to ask the client's model."}
  },
  "required": ["prompt"],
  "additionalProperties": false
}`

const questionSchema = `{
  "type": "object",
  "properties": {
    "question": {"type": "string", "description": "What to ask the user."}
  },
  "required": ["question"],
  "additionalProperties": false
}`

const logSchema = `{
  "type": "object",
  "properties": {
    "level": {
      "type": "string",
      "enum": ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
    },
    "message": {"type": "string"}
  },
  "required": ["level", "message"],
  "additionalProperties": false
}`

const bigSchema = `{
  "type": "object",
  "properties": {
    "bytes": {"type": "integer", "minimum": 0, "maximum": 67108864, "description": "Length of the text."}
  },
  "required": ["bytes"],
  "additionalProperties": false
}`

const touchSchema = `{
  "type": "object",
  "properties": {
    "uri": {
      "description": "Resource whose subscribers get notifications/resources/updated.",
      "anyOf": [
        {"type": "string", "pattern": "^test://static/[1-5]$"},
        {"type": "string", "const": "test://blob"},
        {"type": "string", "pattern": "^test://dyn/.+$"}
      ]
    }
  },
  "required": ["uri"],
  "additionalProperties": false
}`

// InputSchema returns the raw input schema of the tool called base (without
// prefix), or nil if there is no such tool.
func InputSchema(base string) json.RawMessage {
	schema, ok := inputSchemas[base]
	if !ok {
		return nil
	}
	return json.RawMessage(schema)
}

var inputSchemas = map[string]string{
	ToolEcho:               EchoSchema,
	ToolAdd:                addSchema,
	ToolKinds:              emptySchema,
	ToolFail:               messageSchema,
	ToolJSONRPCError:       emptySchema,
	ToolSlow:               slowSchema,
	ToolEnv:                envSchema,
	ToolCrash:              emptySchema,
	ToolSample:             promptSchema,
	ToolElicit:             questionSchema,
	ToolLog:                logSchema,
	ToolNotifyToolsChanged: emptySchema,
	ToolBig:                bigSchema,
	ToolTouch:              touchSchema,
	ToolExtra:              messageSchema,
}
