package rtsp

import (
	"context"
	"fmt"

	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
)

// Check is the cheap liveness check: connect, OPTIONS and DESCRIBE (with
// the camera's credentials), no media. It answers whether the camera is
// there and describes a video track, at the cost of two round trips and
// no video over the camera's uplink.
func Check(ctx context.Context, o Options) error {
	u, err := base.ParseURL(o.URL)
	if err != nil {
		return fmt.Errorf("bad url: %w", err)
	}
	c := o.client(u)
	if err := c.Start2(); err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, c.Close)
	defer stop()
	// DESCRIBE sends OPTIONS first on a new connection.
	desc, _, err := c.Describe(u)
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if err != nil {
		return err
	}
	if !hasVideo(desc) {
		return ErrNoVideo
	}
	return nil
}

func hasVideo(desc *description.Session) bool {
	var h264 *format.H264
	var h265 *format.H265
	return desc.FindFormat(&h264) != nil || desc.FindFormat(&h265) != nil
}
