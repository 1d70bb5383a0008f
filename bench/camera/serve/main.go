// Command serve runs simulated cameras in their own process, so a camera
// benchmark measures the hub's CPU alone.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"snowhub/internal/simcam"
)

func main() {
	n := flag.Int("n", 100, "cameras")
	listen := flag.String("listen", "127.0.0.1:18554", "address")
	flag.Parse()
	var cams []simcam.Camera
	for i := 0; i < *n; i++ {
		cams = append(cams, simcam.Camera{Path: fmt.Sprintf("/cam-%04d", i), Behaviour: simcam.Normal})
	}
	s, err := simcam.New(simcam.Options{Listen: *listen, Cameras: cams})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := s.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("ready")
	<-ctx.Done()
	s.Close()
}
