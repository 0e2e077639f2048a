package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/gatehouse-mcp/gatehouse/config"
)

// settings are the command line's own knobs, read through viper so that
// each flag can also come from its GATEHOUSE_ variable. (The config file
// itself is decoded strictly by config.Load.)
type settings struct {
	v   *viper.Viper
	cmd *cobra.Command
}

func newSettings(cmd *cobra.Command) settings {
	v := viper.New()
	v.SetEnvPrefix("GATEHOUSE")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	_ = v.BindPFlags(cmd.Flags())
	_ = v.BindPFlags(cmd.InheritedFlags())
	return settings{v: v, cmd: cmd}
}

// configPath is --config, else $GATEHOUSE_CONFIG, else ./gatehouse.yaml,
// else gatehouse.yaml in the user's config folder (userConfigPath): what
// is named for this run or this shell comes before what happens to lie
// in the working directory, as most tools do it, and that before the
// user's own.
func (s settings) configPath() (string, error) {
	if f := s.cmd.Flag("config"); f != nil && f.Changed {
		return f.Value.String(), nil
	}
	if p := s.v.GetString("config"); p != "" { // $GATEHOUSE_CONFIG
		return p, nil
	}
	if _, err := os.Stat("gatehouse.yaml"); err == nil {
		return "gatehouse.yaml", nil
	}
	file, err := userConfigPath()
	if err != nil {
		return "", usageError(fmt.Errorf("no config file: pass --config FILE, set GATEHOUSE_CONFIG, or create ./gatehouse.yaml (%w)", err))
	}
	if _, err := os.Stat(file); err == nil {
		return file, nil
	}
	return "", usageError(fmt.Errorf("no config file: pass --config FILE, set GATEHOUSE_CONFIG, or create ./gatehouse.yaml or %s", file))
}

// userConfigPath is gatehouse.yaml in the user's config folder, as
// os.UserConfigDir finds it: %APPDATA%\gatehouse on Windows,
// ~/Library/Application Support/gatehouse on macOS,
// $XDG_CONFIG_HOME/gatehouse or ~/.config/gatehouse elsewhere. The
// verdict database is beside it (audit.database defaults to gatehouse.db
// in the config's folder).
func userConfigPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no user config folder: %w", err)
	}
	return filepath.Join(dir, "gatehouse", "gatehouse.yaml"), nil
}

// load reads and validates the config; every failure is a usage error.
func (s settings) load() (*config.Config, error) {
	path, err := s.configPath()
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, usageError(err)
	}
	return cfg, nil
}

// user is who the gateway acts for: --user, $GATEHOUSE_USER, else the OS
// user.
func (s settings) user() string {
	if u := s.v.GetString("user"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

// logger writes text logs to w (stderr: stdout belongs to the protocol).
func (s settings) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s.v.GetString("log-level"))); err != nil {
		return nil, usageError(fmt.Errorf("--log-level %q: want debug, info, warn or error", s.v.GetString("log-level")))
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), nil
}
