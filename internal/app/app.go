// Package app assembles the hub: it loads the configuration, starts the
// components against the data flow (store and sinks first, ingest last),
// reloads the configuration on SIGHUP or file change, and stops them along
// the data flow (ingest first, then alerts drain, the time series flushes,
// and websocket clients get a close frame).
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"snowhub/alerts"
	"snowhub/configs"
	"snowhub/ingest/mqttacl"
	"snowhub/internal/password"
)

// Options are the command line's choices.
type Options struct {
	ConfigPath string
	Check      bool
	Demo       bool
	Listen     string // overrides cfg.Listen when set (tests use 127.0.0.1:0)
	// MosquittoACL, when set, writes Mosquitto's password and ACL files
	// for the configuration into this directory and exits.
	MosquittoACL string
	// MosquittoReadFrom is where Mosquitto will read those files (a path
	// in its container); "" for MosquittoACL itself.
	MosquittoReadFrom string
	// HashPassword reads a password on Stdin and prints its argon2id hash
	// for users[].password_hash, then exits.
	HashPassword bool
	// CheckAudit verifies the audit trail's hash chain under the
	// configuration's data_dir (the hub stopped) and exits: 0 intact, 1 broken.
	CheckAudit bool
	Stdin      io.Reader
	Reload     <-chan os.Signal // SIGHUP
	Stdout     io.Writer
	Stderr     io.Writer
	// Ready, when set, is called once the hub serves, with its address.
	Ready func(h *Hub)
	// Stopping, when set, is called once ctx ends, before the hub closes
	// (the demo stops its simulated sensors while their broker still runs).
	Stopping func()
	// Transitions replaces the closed loop's table (nil: alerts.Transitions):
	// tests change a rule and see the API and the pages follow.
	Transitions []alerts.Transition
}

// exitError carries a process exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// ExitCode maps an error from Run to the process exit status: 2 for usage
// and configuration errors, 1 otherwise.
func ExitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

// Run runs the hub until ctx is cancelled, or validates the configuration
// when o.Check is set.
func Run(ctx context.Context, o Options) error {
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	switch {
	case o.HashPassword:
		if o.Stdin == nil {
			o.Stdin = strings.NewReader("")
		}
		if err := password.Command(o.Stdin, o.Stdout, password.Default); err != nil {
			return &exitError{2, err}
		}
		return nil
	case o.Check:
		if o.ConfigPath == "" {
			return &exitError{2, errors.New("-check needs -config FILE")}
		}
		return Check(o.ConfigPath, o.Stdout, o.Stderr)
	case o.CheckAudit:
		if o.ConfigPath == "" {
			return &exitError{2, errors.New("-check-audit needs -config FILE")}
		}
		return checkAudit(o.ConfigPath, o.Stdout)
	case o.MosquittoACL != "":
		if o.ConfigPath == "" {
			return &exitError{2, errors.New("-mosquitto-acl needs -config FILE")}
		}
		return writeMosquitto(o)
	case o.Demo:
		return runDemo(ctx, o)
	case o.ConfigPath == "":
		return &exitError{2, errors.New("no configuration: use -config FILE, or -demo for the demo")}
	}
	cfg, data, err := configs.LoadFile(o.ConfigPath)
	if err != nil {
		// A file that no longer loads (a refused reload, then a crash or a
		// reboot) must not keep cameras, MQTT and walls down until someone
		// edits it: the hub starts on the last file that loaded, and says
		// so. -check still fails on the file.
		good, saved, lgErr := configs.LoadLastGood(o.ConfigPath, err)
		if lgErr != nil {
			fmt.Fprintln(o.Stderr, err)
			fmt.Fprintln(o.Stderr, lgErr)
			return &exitError{2, fmt.Errorf("configuration %s is not valid", o.ConfigPath)}
		}
		return serve(ctx, good, o, startedOn{fileErr: err, saved: saved})
	}
	return serve(ctx, cfg, o, startedOn{data: data})
}

// startedOn says what a start's configuration came from: the file's bytes
// as they loaded (saved as the last good copy once the hub runs), or the
// last good copy because the file did not load (fileErr, saved then).
type startedOn struct {
	data    []byte
	fileErr error
	saved   time.Time
}

// Check validates the file at path: the one-line summary on stdout and nil
// when valid; every problem as FILE:LINE: key.path: message on stderr when not.
func Check(path string, stdout, stderr io.Writer) error {
	cfg, err := configs.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, strings.TrimRight(err.Error(), "\n"))
		return &exitError{2, fmt.Errorf("%s is not valid", path)}
	}
	fmt.Fprintln(stdout, cfg.Summary())
	return nil
}

// writeMosquitto writes the broker files of the configuration (see
// docs/mqtt.md, "Mosquitto").
func writeMosquitto(o Options) error {
	cfg, err := configs.Load(o.ConfigPath)
	if err != nil {
		fmt.Fprintln(o.Stderr, strings.TrimRight(err.Error(), "\n"))
		return &exitError{2, fmt.Errorf("%s is not valid", o.ConfigPath)}
	}
	if err := mqttacl.WriteMosquitto(cfg, o.MosquittoACL, o.MosquittoReadFrom); err != nil {
		return &exitError{2, fmt.Errorf("mosquitto files: %w", err)}
	}
	fmt.Fprintf(o.Stdout, "wrote %s/{passwd,acl,snowhub.conf}: the hub and %d device users; include snowhub.conf in mosquitto.conf\n",
		o.MosquittoACL, len(cfg.MQTT.DeviceUsers))
	return nil
}

// Serve runs a hub on cfg until ctx is cancelled.
func Serve(ctx context.Context, cfg *configs.Config, o Options) error {
	return serve(ctx, cfg, o, startedOn{})
}

func serve(ctx context.Context, cfg *configs.Config, o Options, on startedOn) error {
	asFiled := *cfg // what the file says: a reload compares against it
	if o.Listen != "" {
		cfg.Listen = o.Listen
	}
	rw := newRedactWriter(o.Stderr, cfg)
	log := newLogger(cfg.Log, rw)
	h, err := newHub(cfg, log, o.Transitions)
	if err != nil {
		return err
	}
	h.started, h.filed = &asFiled, &asFiled
	h.logSecrets = rw
	if on.fileErr != nil {
		h.onLastGood(on.fileErr, on.saved)
	}
	if err := h.Start(ctx); err != nil {
		h.Close()
		return err
	}
	if on.data != nil {
		h.saveLastGood(cfg.Path, on.data)
	}
	// Serving, not ready: the broker session and the cameras come up in the
	// background, and "MQTT connected and subscribed" follows; /readyz
	// says when everything is.
	log.Info("snowhub serving (readiness: /readyz)", "listen", "http://"+h.Addr(), "config", cfg.Path, "summary", cfg.Summary())
	if o.Ready != nil {
		o.Ready(h)
	}
	stopWatch := h.watchConfig(ctx, o.Reload)
	<-ctx.Done()
	if o.Stopping != nil {
		o.Stopping()
	}
	stopWatch()
	log.Info("shutting down")
	start := time.Now()
	h.Close()
	log.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

func newLogger(c configs.LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// checkAudit verifies the audit chain of the data_dir of the file at path:
// one line saying how many records and the last one's hash (keep it
// elsewhere: a cut tail is seen only against it), or the first broken one.
func checkAudit(path string, out io.Writer) error {
	cfg, err := configs.Load(path)
	if err != nil {
		return &exitError{2, err}
	}
	c, err := alerts.VerifyAudit(cfg.DataDir)
	if err != nil {
		return &exitError{1, err}
	}
	legacy := ""
	if c.Legacy > 0 {
		legacy = fmt.Sprintf(", %d earlier records unchained", c.Legacy)
	}
	if c.Pruned > 0 {
		legacy += fmt.Sprintf(", %d older records removed past audit.keep", c.Pruned)
	}
	fmt.Fprintf(out, "ok: %d audit records, chain intact%s, last sha256 %s\n", c.Records, legacy, c.Last)
	return nil
}
