package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/gatehouse-mcp/gatehouse/policy"
	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/spf13/cobra"
)

func newToolsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tools",
		Short: "List the tools a client of a workspace would see",
		Long: `Tools connects to the workspace's upstreams and prints the catalog a client
would see: each exposed tool name, the upstream that serves it and its
description. --json prints the tools as the client gets them, schemas included.`,
		Args: cobra.NoArgs,
		RunE: runTools,
	}
	cmd.Flags().String("workspace", "", "workspace to list (required when the config has several)")
	cmd.Flags().Bool("json", false, "print JSON")
	return cmd
}

func runTools(cmd *cobra.Command, _ []string) error {
	s := newSettings(cmd)
	cfg, err := s.load()
	if err != nil {
		return err
	}
	name := s.v.GetString("workspace")
	specs, err := pickWorkspace(cfg, name)
	if err != nil {
		return err
	}
	g, err := startGateway(cmd.Context(), s, cfg, specs[0].Name)
	if err != nil {
		return err
	}
	defer g.Close()
	ws, _ := g.Workspace(specs[0].Name)
	cat := ws.Catalog()
	out := cmd.OutOrStdout()

	if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
		type entry struct {
			Upstream string          `json:"upstream"`
			Tool     json.RawMessage `json:"tool"`
		}
		entries := make([]entry, 0, len(cat.Tools))
		for _, t := range cat.Tools {
			def := t.Tool
			def.Name = t.Exposed
			b, err := json.Marshal(def)
			if err != nil {
				return runtimeError(fmt.Errorf("encode tool %q: %w", t.Exposed, err))
			}
			entries = append(entries, entry{Upstream: t.Upstream, Tool: b})
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(entries); err != nil {
			return runtimeError(err)
		}
	} else {
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TOOL\tUPSTREAM\tDESCRIPTION")
		for _, t := range cat.Tools {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Exposed, t.Upstream, firstLine(t.Tool.Description, 80))
		}
		_ = tw.Flush()
	}
	var down []string
	for _, st := range g.Status() {
		for _, u := range st.Upstreams {
			if u.Status.Err != nil {
				why := fmt.Sprint(u.Status.Err)
				if lines := upstream.Stderr(u.Status.Err); len(lines) > 0 {
					why += ": " + lines[len(lines)-1] // its last word on stderr
				}
				why = policy.MaskText(why) // a child may print its token
				down = append(down, fmt.Sprintf("%s (%s)", u.Name, why))
			}
		}
	}
	if len(down) > 0 {
		return runtimeError(errors.New("upstreams not reached, their tools are missing: " + strings.Join(down, "; ")))
	}
	return nil
}

func firstLine(s string, max int) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}
