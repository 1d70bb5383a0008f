#!/usr/bin/env python3
"""A real RTSP server (GStreamer's gst-rtsp-server) serving a live test pattern.

Used by the integration tests as a camera that is not built on gortsplib.
Prints "ready" on stdout once it listens.
"""
import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", default="8554")
    p.add_argument("--path", default="/cam")
    p.add_argument("--codec", default="h264", choices=["h264", "h265"])
    p.add_argument("--fps", type=int, default=25)
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.add_argument("--user", default="")
    p.add_argument("--password", default="")
    a = p.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(a.port))

    gop = a.fps * 2
    if a.codec == "h264":
        enc = f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bitrate=500 ! rtph264pay name=pay0 pt=96 config-interval=1"
    else:
        enc = f"x265enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bitrate=500 ! rtph265pay name=pay0 pt=96 config-interval=1"
    launch = (
        f"( videotestsrc is-live=true pattern=ball ! video/x-raw,width={a.width},height={a.height},framerate={a.fps}/1 "
        f"! videoconvert ! {enc} )"
    )
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    # One pipeline per client: a shared media cannot serve TCP and UDP
    # clients at once (the second gets 503).
    factory.set_shared(False)

    if a.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", a.user)
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(a.user, a.password), token)
        server.set_auth(auth)
        perms = GstRtspServer.RTSPPermissions()
        perms.add_permission_for_role(a.user, "media.factory.access", True)
        perms.add_permission_for_role(a.user, "media.factory.construct", True)
        factory.set_permissions(perms)

    server.get_mount_points().add_factory(a.path, factory)
    if server.attach(None) == 0:
        print("cannot listen", file=sys.stderr)
        sys.exit(1)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
