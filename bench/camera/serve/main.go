// Command serve runs simulated cameras in their own process, so a camera
// benchmark measures the hub's CPU alone: gortsplib's server streaming the
// demo clip (or a 2 Mbit/s clip) on n paths, or with -raw the small
// net.Conn server answering any path cheaply (for probe benchmarks).
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"time"

	"snowhub/camera/simcam"
	"snowhub/camera/simcam/rawrtsp"
)

func main() {
	n := flag.Int("n", 100, "cameras")
	listen := flag.String("listen", "127.0.0.1:18554", "address")
	raw := flag.Bool("raw", false, "answer any path with the net.Conn server (probe benchmarks)")
	clip := flag.String("clip", "", "an Annex-B H.264 file with access unit delimiters to stream instead of the demo clip")
	drop := flag.Float64("drop", 0, "with -raw: the share of connections closed at accept (a lossy network)")
	delayMin := flag.Duration("delay-min", 0, "with -raw: each DESCRIBE answered after delay-min..delay-max (a slow link)")
	delayMax := flag.Duration("delay-max", 0, "with -raw: see delay-min")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *raw {
		cam := simcam.ProbeCamera()
		s, err := rawrtsp.Listen(*listen, func(string) *rawrtsp.Camera { return cam })
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		f := rawrtsp.Faults{Drop: *drop}
		if *delayMax > 0 {
			lo, span := *delayMin, max(*delayMax-*delayMin, 1)
			f.Delay = func() time.Duration { return lo + rand.N(span) }
		}
		s.SetFaults(f)
		fmt.Println("ready")
		<-ctx.Done()
		s.Close()
		return
	}
	var cams []simcam.Camera
	for i := 0; i < *n; i++ {
		cams = append(cams, simcam.Camera{Path: fmt.Sprintf("/cam-%04d", i), Behaviour: simcam.Normal})
	}
	o := simcam.Options{Listen: *listen, Cameras: cams}
	if *clip != "" {
		b, err := os.ReadFile(*clip)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		o.Clip = b
	}
	s, err := simcam.New(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := s.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("ready")
	<-ctx.Done()
	s.Close()
}
