package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"snowhub/camera/simcam"
	"snowhub/configs"
	"snowhub/ingest/simsensor"
	"snowhub/internal/auth"
	"snowhub/internal/demo"
)

// runDemo runs a whole county on one machine with nothing to set up: a local
// InfluxDB child process (when `make run` has built it), simulated cameras
// over RTSP, simulated sensors over the embedded MQTT broker, and the hub.
func runDemo(ctx context.Context, o Options) error {
	log := slog.New(slog.NewTextHandler(o.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	base := filepath.Join("var", "demo")
	started := time.Now()

	influxURL := "http://127.0.0.1:8086"
	db, err := demo.StartInfluxd(ctx, demo.InfluxdPath(), filepath.Join("var", "influxdb"), "snowhub", log.With("component", "influxd"))
	if err != nil {
		// The hub still runs: its writes wait in the spool and /readyz says why.
		log.Warn("demo runs without a time series; points are spooled until InfluxDB is reachable", "err", err)
	} else {
		influxURL = db.URL
		defer db.Stop()
	}

	rtspAddr, err := demo.FreeAddr(8554)
	if err != nil {
		return err
	}
	var cams []simcam.Camera
	for path, b := range demo.CameraPaths() {
		cams = append(cams, simcam.Camera{Path: path, Behaviour: simcam.Behaviour(b)})
	}
	sc, err := simcam.New(simcam.Options{Listen: rtspAddr, Cameras: cams, Logger: log.With("component", "simcam"),
		FlapEvery: 3 * time.Minute, FlapDown: 20 * time.Second})
	if err != nil {
		return fmt.Errorf("simulated cameras: %w", err)
	}
	if err := sc.Start(ctx); err != nil {
		return fmt.Errorf("simulated cameras: %w", err)
	}
	defer sc.Close()

	mqttAddr, err := demo.FreeAddr(1883)
	if err != nil {
		return err
	}
	listen := "127.0.0.1:8080"
	if o.Listen != "" {
		listen = o.Listen
	}
	yaml := demo.Config(listen, base, strings.TrimSuffix(sc.URL("/"), "/"), mqttAddr, influxURL)
	cfg, err := configs.Parse("demo.yaml", yaml)
	if err != nil {
		return fmt.Errorf("demo configuration: %w", err)
	}

	var sensors *simsensor.Simulator
	ready := o.Ready
	o.Ready = func(h *Hub) {
		sensors, err = simsensor.New(simsensor.Options{Broker: h.Config().MQTT.Broker, Sensors: cfg.Sensors,
			AlarmEvery: demoAlarmEvery, Logger: log.With("component", "simsensor")})
		if err == nil {
			err = sensors.Start(ctx)
		}
		if err != nil {
			log.Error("simulated sensors did not start", "err", err)
		}
		printDemo(o, h, time.Since(started))
		if ready != nil {
			ready(h)
		}
	}
	o.Stopping = func() {
		// Before the hub and its embedded broker stop: the sensors' last
		// "offline" still has a broker to go to.
		if sensors != nil {
			sensors.Close()
		}
	}
	o.Listen = ""
	err = Serve(ctx, cfg, o)
	if sensors != nil {
		sensors.Close()
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// demoAlarmEvery: the simulated sensors raise an alarm every 2.5 to 7.5
// minutes, each of another kind and place than the last, so the wall
// shows a county's day rather than a column of the same red title (the
// printed mosquitto_pub raises one at once).
const demoAlarmEvery = 5 * time.Minute

func printDemo(o Options, h *Hub, took time.Duration) {
	base := "http://" + h.Addr()
	w := o.Stdout
	fmt.Fprintf(w, "\nsnowhub demo ready in %s: county %s, %d cameras, %d sensors\n\n", took.Round(100*time.Millisecond),
		h.Config().County.Name, len(h.Config().Cameras), len(h.Config().Sensors))
	var ops string
	for _, u := range demo.Tokens {
		if u.Role == auth.RoleOperator {
			ops = u.Token
		}
	}
	fmt.Fprintf(w, "  the wall          %s/?token=%s\n", base, ops)
	fmt.Fprintf(w, "  county workbench  %s/county?token=%s\n", base, ops)
	fmt.Fprintf(w, "  考单 board        %s/stats?token=%s\n", base, ops)
	// One desk of each kind: a township's, a village's (the same page,
	// its own village only) and a department's.
	var desk, village, dept bool
	for _, u := range demo.Tokens {
		switch {
		case u.Role == auth.RoleTownship && !desk:
			desk = true
			fmt.Fprintf(w, "  township desk     %s/township/%s?token=%s\n", base, u.Township, u.Token)
		case u.Role == auth.RoleVillage && !village:
			village = true
			fmt.Fprintf(w, "  village desk      %s/township/%s?token=%s\n", base, configs.NewTopology(h.Config()).VillageTownship[u.Village], u.Token)
		case u.Role == auth.RoleDepartment && !dept:
			dept = true
			fmt.Fprintf(w, "  department desk   %s/department?token=%s\n", base, u.Token)
		}
	}
	fmt.Fprintf(w, "  uptime            %s/uptime?token=%s\n", base, ops)
	fmt.Fprintf(w, "  accounts (login)  %s/login?next=/admin\n", base)
	fmt.Fprintf(w, "  MQTT broker       %s\n  raise an alarm    %s\n", h.Config().MQTT.Broker, demo.MQTTCommand(h.Config().MQTT.Broker))
	fmt.Fprintf(w, "\n  demo tokens:\n")
	for _, u := range demo.Tokens {
		fmt.Fprintf(w, "    %-15s %-10s %-9s %s\n", u.Name, u.Role, u.Township+u.Village+u.Department, u.Token)
	}
	fmt.Fprintf(w, "\n  demo logins (demo only: a real configuration has no password in it):\n")
	for _, l := range demo.Logins {
		fmt.Fprintf(w, "    %-15s %-14s %s\n", l.Name, l.Role, l.Password)
	}
	fmt.Fprintln(w, "\nCtrl-C stops the demo and its InfluxDB.")
}
