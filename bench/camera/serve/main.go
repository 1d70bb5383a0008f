// Command serve runs simulated cameras in their own process, so a camera
// benchmark measures the hub's CPU alone: gortsplib's server streaming the
// demo clip (or a 2 Mbit/s clip) on n paths, or with -raw the small
// net.Conn server answering any path cheaply (for probe benchmarks).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"snowhub/camera/simcam"
	"snowhub/camera/simcam/rawrtsp"
)

func main() {
	n := flag.Int("n", 100, "cameras")
	listen := flag.String("listen", "127.0.0.1:18554", "address")
	raw := flag.Bool("raw", false, "answer any path with the net.Conn server (probe benchmarks)")
	clip := flag.String("clip", "", "an Annex-B H.264 file with access unit delimiters to stream instead of the demo clip")
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
