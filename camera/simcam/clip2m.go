package simcam

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Clip2M makes, once, a 10 s 720p H.264 clip at 2 Mbit/s with a keyframe
// every 25 frames (the size of a county road camera's main stream) in dir,
// with GStreamer's x264enc, and returns its path. Benchmarks stream it
// with the serve command (bench/camera/serve -clip); dir is meant to be
// outside git (var/).
func Clip2M(dir string) (string, error) {
	path, err := filepath.Abs(filepath.Join(dir, "clip-720p-2mbit.h264"))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	cmd := exec.Command("gst-launch-1.0", "-q", "videotestsrc", "num-buffers=250", "pattern=snow", "!",
		"video/x-raw,format=I420,width=1280,height=720,framerate=25/1", "!",
		"x264enc", "speed-preset=veryfast", "key-int-max=25", "bitrate=2000", "pass=cbr", "vbv-buf-capacity=1000",
		"aud=true", "byte-stream=true", "tune=zerolatency", "!",
		"video/x-h264,stream-format=byte-stream,profile=main", "!", "filesink", "location="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(path)
		return "", fmt.Errorf("make the 2 Mbit/s clip with GStreamer: %v %s", err, out)
	}
	return path, nil
}
