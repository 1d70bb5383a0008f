// Command snowhub runs the Snow-Bright video-and-sensor integration hub.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"snowhub/internal/app"
)

func main() {
	// The hub speaks UTC whatever the machine's TZ: every time of its API,
	// exports, websocket, store and logs is RFC 3339 with Z, so several hubs'
	// answers and sheets never mix offsets. The county's clock is named
	// where a time of day matters (alerts.calendar.time_zone for working
	// days, rule windows and the backlog's midnights; notify.time_zone in
	// messages), and the pages show the browser's local time.
	time.Local = time.UTC
	var o app.Options
	flag.StringVar(&o.ConfigPath, "config", "", "configuration `file` (YAML)")
	flag.BoolVar(&o.Check, "check", false, "validate the configuration and exit")
	flag.BoolVar(&o.Demo, "demo", false, "run the demo: embedded broker, simulated cameras and sensors, local InfluxDB")
	flag.StringVar(&o.Listen, "listen", "", "override the listen address (host:port)")
	flag.StringVar(&o.MosquittoACL, "mosquitto-acl", "", "write Mosquitto's passwd, acl and snowhub.conf for -config into `dir` and exit")
	flag.StringVar(&o.MosquittoReadFrom, "mosquitto-dir", "", "the `dir` Mosquitto reads those files from (default: -mosquitto-acl)")
	flag.BoolVar(&o.HashPassword, "hash-password", false, "read a password on stdin, print its argon2id hash for users[].password_hash and exit")
	flag.BoolVar(&o.CheckAudit, "check-audit", false, "verify the audit trail's hash chain under data_dir of -config (hub stopped) and exit")
	flag.Parse()
	o.Stdin, o.Stdout, o.Stderr = os.Stdin, os.Stdout, os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	o.Reload = hup

	if err := app.Run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "snowhub:", err)
		os.Exit(app.ExitCode(err))
	}
}
