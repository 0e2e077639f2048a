package upstreamtest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// The tools a Server offers, by base name (before ToolPrefix).
const (
	// ToolEcho returns its message as text, with _meta {"upstreamtest/echo": true}.
	ToolEcho = "echo"
	// ToolAdd returns a+b as text and as structuredContent {"sum": a+b}.
	ToolAdd = "add"
	// ToolKinds returns one content item of every kind.
	ToolKinds = "kinds"
	// ToolFail returns its message as a tool-level error (isError: true).
	ToolFail = "fail"
	// ToolJSONRPCError returns a Go error, which mcp-go sends as a JSON-RPC
	// error with code -32603 (internal error) and the error text as message.
	ToolJSONRPCError = "jsonrpc_error"
	// ToolSlow takes ms milliseconds in steps parts, then returns "done".
	// When the call carries a progress token it sends notifications/progress
	// i of steps, message "step i", as part i begins. If the call's context
	// ends first it returns the context's error and counts in Cancelled.
	ToolSlow = "slow"
	// ToolEnv returns the value of an environment variable of the server
	// process, or "<unset>"; with name "*" the sorted names of all variables.
	ToolEnv = "env"
	// ToolCrash exits the stdio child with status 3; elsewhere it fails.
	ToolCrash = "crash"
	// ToolSample asks the client for an LLM completion and returns its text.
	ToolSample = "sample"
	// ToolElicit asks the user a yes/no question through the client.
	ToolElicit = "elicit"
	// ToolLog sends notifications/message at a level, then returns "logged".
	ToolLog = "log"
	// ToolNotifyToolsChanged adds ToolExtra, which makes the server send
	// notifications/tools/list_changed.
	ToolNotifyToolsChanged = "notify_tools_changed"
	// ToolBig returns a text of bytes 'x' characters.
	ToolBig = "big"
	// ToolTouch sends notifications/resources/updated for a URI to the
	// clients subscribed to it, and returns "notified N".
	ToolTouch = "touch"
	// ToolExtra exists only after ToolNotifyToolsChanged ran; it echoes.
	ToolExtra = "extra"
)

// ToolNames returns the base names of the tools a new Server offers, sorted
// (ToolExtra is not among them).
func ToolNames() []string {
	names := []string{
		ToolEcho, ToolAdd, ToolKinds, ToolFail, ToolJSONRPCError, ToolSlow,
		ToolEnv, ToolCrash, ToolSample, ToolElicit, ToolLog,
		ToolNotifyToolsChanged, ToolBig, ToolTouch,
	}
	slices.Sort(names)
	return names
}

// EchoMetaKey is the _meta key the echo tool sets to true on its result.
const EchoMetaKey = "upstreamtest/echo"

// KindsMetaKey is the _meta key set on the embedded resource of the kinds
// tool's result.
const KindsMetaKey = "upstreamtest/kind"

// Unset is the env tool's answer for a variable that is not set.
const Unset = "<unset>"

// maxBig bounds the big tool, so that a typo cannot eat the test machine.
const maxBig = 64 << 20

// notificationSettle is how long a tool waits between sending a notification
// and returning. mcp-go's streamable HTTP transport can drop a notification
// that races the final response: its forwarder takes the notification off
// the session's channel, then finds the request finished. A short wait lets
// the forwarder write it first.
const notificationSettle = 25 * time.Millisecond

// Input request keys of the multi round-trip tools.
const (
	sampleKey = "sample"
	elicitKey = "ok"
)

// errNotChild is the crash tool's error outside the stdio child.
var errNotChild = errors.New("crash: not running as the stdio child")

// errJSONRPC is the jsonrpc_error tool's error.
var errJSONRPC = errors.New("jsonrpc_error: this tool always fails with a Go error")

// addTools registers every tool but ToolExtra.
func (s *Server) addTools() {
	handlers := map[string]server.ToolHandlerFunc{
		ToolEcho:               s.echo,
		ToolAdd:                s.add,
		ToolKinds:              s.kinds,
		ToolFail:               s.fail,
		ToolJSONRPCError:       s.jsonrpcError,
		ToolSlow:               s.slow,
		ToolEnv:                s.env,
		ToolCrash:              s.crash,
		ToolSample:             s.sample,
		ToolElicit:             s.elicit,
		ToolLog:                s.log,
		ToolNotifyToolsChanged: s.notifyToolsChanged,
		ToolBig:                s.big,
		ToolTouch:              s.touch,
	}
	tools := make([]server.ServerTool, 0, len(handlers))
	for _, base := range ToolNames() {
		tools = append(tools, server.ServerTool{Tool: s.tool(base), Handler: handlers[base]})
	}
	s.MCP.AddTools(tools...)
}

// tool describes the tool called base, with its raw input schema.
func (s *Server) tool(base string) mcp.Tool {
	tool := mcp.NewToolWithRawSchema(s.ToolName(base), toolDescriptions[base], InputSchema(base))
	if base == ToolAdd {
		tool.RawOutputSchema = json.RawMessage(AddOutputSchema)
	}
	return tool
}

var toolDescriptions = map[string]string{
	ToolEcho:               "Returns the message as text.",
	ToolAdd:                "Adds a and b.",
	ToolKinds:              "Returns one content item of every kind.",
	ToolFail:               "Fails with the message as a tool error.",
	ToolJSONRPCError:       "Fails with a JSON-RPC error.",
	ToolSlow:               "Takes ms milliseconds, reporting progress in steps.",
	ToolEnv:                "Returns an environment variable of the server process.",
	ToolCrash:              "Kills the stdio server process.",
	ToolSample:             "Asks the client's model to answer a prompt.",
	ToolElicit:             "Asks the user a yes/no question.",
	ToolLog:                "Sends a log message to the caller.",
	ToolNotifyToolsChanged: "Adds the extra tool, changing the tool list.",
	ToolBig:                "Returns a long text.",
	ToolTouch:              "Reports a resource as updated to its subscribers.",
	ToolExtra:              "Returns the message as text (added at run time).",
}

func (s *Server) echo(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	message, err := req.RequireString("message")
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	result := mcp.NewToolResultText(message)
	result.Meta = mcp.NewMetaFromMap(map[string]any{EchoMetaKey: true})
	return result, nil
}

func (s *Server) add(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a, errA := req.RequireFloat("a")
	b, errB := req.RequireFloat("b")
	if err := errors.Join(errA, errB); err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	sum := a + b
	return mcp.NewToolResultStructured(map[string]any{"sum": sum}, strconv.FormatFloat(sum, 'g', -1, 64)), nil
}

func (s *Server) kinds(_ context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	priority := 0.5
	text := mcp.NewTextContent("kinds")
	text.Annotations = &mcp.Annotations{
		Audience: []mcp.Role{mcp.RoleUser, mcp.RoleAssistant},
		Priority: &priority,
	}
	embedded := mcp.NewEmbeddedResource(mcp.TextResourceContents{
		URI:      staticURI(2),
		MIMEType: "text/plain",
		Text:     staticText(2),
	})
	embedded.Meta = mcp.NewMetaFromMap(map[string]any{KindsMetaKey: "embedded"})
	return &mcp.CallToolResult{Content: []mcp.Content{
		text,
		mcp.NewImageContent(base64.StdEncoding.EncodeToString(tinyPNG), "image/png"),
		mcp.NewAudioContent(base64.StdEncoding.EncodeToString(tinyWAV), "audio/wav"),
		mcp.NewResourceLink(staticURI(1), "static 1", "The first static resource.", "text/plain"),
		embedded,
	}}, nil
}

func (s *Server) fail(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	return mcp.NewToolResultError(req.GetString("message", "fail")), nil
}

func (s *Server) jsonrpcError(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	return nil, errJSONRPC
}

// slow takes ms milliseconds in steps equal parts. When the request carries
// a progress token it reports progress i as part i begins, so that the last
// notification is not sent just before the result: mcp-go's streamable HTTP
// transport can drop a notification that races the final response.
func (s *Server) slow(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	total := time.Duration(max(req.GetInt("ms", 0), 0)) * time.Millisecond
	steps := max(req.GetInt("steps", 0), 0)
	var token mcp.ProgressToken
	if req.Params.Meta != nil {
		token = req.Params.Meta.ProgressToken
	}

	parts := max(steps, 1)
	interval := total / time.Duration(parts)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := 1; i <= parts; i++ {
		if token != nil && i <= steps {
			err := s.MCP.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress), map[string]any{
				"progressToken": token,
				"progress":      i,
				"total":         steps,
				"message":       fmt.Sprintf("step %d", i),
			})
			if err != nil {
				return nil, fmt.Errorf("send progress %d: %w", i, err)
			}
		}
		timer.Reset(interval)
		select {
		case <-ctx.Done():
			s.cancelled.Add(1)
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
	return mcp.NewToolResultText("done"), nil
}

func (s *Server) env(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	name, err := req.RequireString("name")
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	if name == "*" {
		var names []string
		for _, kv := range os.Environ() {
			key, _, _ := strings.Cut(kv, "=")
			names = append(names, key)
		}
		slices.Sort(names)
		return mcp.NewToolResultText(strings.Join(names, "\n")), nil
	}
	value, ok := os.LookupEnv(name)
	if !ok {
		value = Unset
	}
	return mcp.NewToolResultText(value), nil
}

func (s *Server) crash(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	if s.opts.ExitOnCrash {
		os.Exit(3)
	}
	return nil, errNotChild
}

// sample asks the client's model through a multi round-trip input request.
// Modern clients answer it and retry the call; for legacy clients mcp-go
// sends sampling/createMessage and re-invokes this handler with the answer.
func (s *Server) sample(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	if answer := server.SamplingResponse(req.Params.InputResponses, sampleKey); answer != nil {
		text, err := samplingText(answer.Content)
		if err != nil {
			return mcp.NewToolResultError(err.Error()), nil
		}
		return mcp.NewToolResultText(text), nil
	}
	prompt, err := req.RequireString("prompt")
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	return server.NewInputRequestBuilder("").
		Sample(sampleKey, mcp.CreateMessageParams{
			Messages:  []mcp.SamplingMessage{{Role: mcp.RoleUser, Content: mcp.NewTextContent(prompt)}},
			MaxTokens: 256,
		}).
		ToolResult(), nil
}

// samplingText returns the text of a sampling answer's content, however it
// was decoded.
func samplingText(content any) (string, error) {
	parsed, err := mcp.ParseSamplingContent(content)
	if err != nil {
		return "", fmt.Errorf("sample: parse answer: %w", err)
	}
	switch c := parsed.(type) {
	case mcp.TextContent:
		return c.Text, nil
	case *mcp.TextContent:
		return c.Text, nil
	default:
		return "", fmt.Errorf("sample: answer is %T, not text", parsed)
	}
}

// elicit asks the user through a multi round-trip input request, as sample
// does, with a form of one boolean field ok.
func (s *Server) elicit(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	if answer := server.ElicitationResponse(req.Params.InputResponses, elicitKey); answer != nil {
		switch answer.Action {
		case mcp.ElicitationResponseActionAccept:
			content, err := json.Marshal(answer.Content)
			if err != nil {
				return mcp.NewToolResultError(fmt.Sprintf("elicit: encode answer: %v", err)), nil
			}
			return mcp.NewToolResultText("accepted: " + string(content)), nil
		case mcp.ElicitationResponseActionDecline:
			return mcp.NewToolResultText("declined"), nil
		case mcp.ElicitationResponseActionCancel:
			return mcp.NewToolResultText("cancelled"), nil
		default:
			return mcp.NewToolResultError(fmt.Sprintf("elicit: unknown action %q", answer.Action)), nil
		}
	}
	question, err := req.RequireString("question")
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	return server.NewInputRequestBuilder("").
		Elicit(elicitKey, mcp.ElicitationParams{
			Mode:    mcp.ElicitationModeForm,
			Message: question,
			RequestedSchema: map[string]any{
				"type": "object",
				"properties": map[string]any{
					"ok": map[string]any{"type": "boolean", "description": "Whether to go ahead."},
				},
				"required": []string{"ok"},
			},
		}).
		ToolResult(), nil
}

var logLevels = []mcp.LoggingLevel{
	mcp.LoggingLevelDebug, mcp.LoggingLevelInfo, mcp.LoggingLevelNotice, mcp.LoggingLevelWarning,
	mcp.LoggingLevelError, mcp.LoggingLevelCritical, mcp.LoggingLevelAlert, mcp.LoggingLevelEmergency,
}

// log sends a log message to the caller. mcp-go drops it when it is below
// the level the client asked for: logging/setLevel on a legacy session
// (default error), the per-request _meta level on a modern request (none
// means no log messages at all).
func (s *Server) log(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	level := mcp.LoggingLevel(req.GetString("level", ""))
	if !slices.Contains(logLevels, level) {
		return mcp.NewToolResultError(fmt.Sprintf("log: unknown level %q", level)), nil
	}
	notification := mcp.NewLoggingMessageNotification(level, s.opts.Name, req.GetString("message", ""))
	if err := s.MCP.SendLogMessageToClient(ctx, notification); err != nil {
		return nil, fmt.Errorf("send log message: %w", err)
	}
	settle(ctx)
	return mcp.NewToolResultText("logged"), nil
}

func (s *Server) notifyToolsChanged(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	s.MCP.AddTool(s.tool(ToolExtra), s.echo)
	settle(ctx)
	return mcp.NewToolResultText("ok"), nil
}

func (s *Server) big(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	n, err := req.RequireInt("bytes")
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	if n < 0 || n > maxBig {
		return mcp.NewToolResultError(fmt.Sprintf("big: bytes must be within 0..%d", maxBig)), nil
	}
	return mcp.NewToolResultText(strings.Repeat("x", n)), nil
}

func (s *Server) touch(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	uri, err := req.RequireString("uri")
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	n := s.subscriptions.notify(s.MCP, uri)
	if n > 0 {
		settle(ctx)
	}
	return mcp.NewToolResultText(fmt.Sprintf("notified %d", n)), nil
}

// settle waits notificationSettle, or until ctx ends.
func settle(ctx context.Context) {
	timer := time.NewTimer(notificationSettle)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

// tinyPNG is a 1×1 PNG image, the kinds tool's image.
var tinyPNG = func() []byte {
	img := image.NewGray(image.Rect(0, 0, 1, 1))
	img.SetGray(0, 0, color.Gray{Y: 0x80})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(fmt.Sprintf("upstreamtest: encode png: %v", err))
	}
	return buf.Bytes()
}()

// tinyWAV is a WAV file of eight silent 8-bit mono samples at 8 kHz, the
// kinds tool's audio.
var tinyWAV = func() []byte {
	samples := bytes.Repeat([]byte{0x80}, 8)
	var buf bytes.Buffer
	le := binary.LittleEndian
	buf.WriteString("RIFF")
	buf.Write(le.AppendUint32(nil, uint32(36+len(samples))))
	buf.WriteString("WAVEfmt ")
	buf.Write(le.AppendUint32(nil, 16))   // fmt chunk size
	buf.Write(le.AppendUint16(nil, 1))    // PCM
	buf.Write(le.AppendUint16(nil, 1))    // mono
	buf.Write(le.AppendUint32(nil, 8000)) // sample rate
	buf.Write(le.AppendUint32(nil, 8000)) // byte rate
	buf.Write(le.AppendUint16(nil, 1))    // block align
	buf.Write(le.AppendUint16(nil, 8))    // bits per sample
	buf.WriteString("data")
	buf.Write(le.AppendUint32(nil, uint32(len(samples))))
	buf.Write(samples)
	return buf.Bytes()
}()
