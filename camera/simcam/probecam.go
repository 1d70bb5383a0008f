package simcam

import "snowhub/camera/simcam/rawrtsp"

// probeSDP is a plain single-track H.264 description, the answer of a
// camera that behaves.
const probeSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\na=control:trackID=1\r\n"

// ProbeCamera is the cheap camera of the probe-mode tests and benchmarks:
// rawrtsp (not gortsplib) answering DESCRIBE with a plain H.264
// description and streaming the clip on PLAY, so one server can stand for
// thousands of cameras at little cost. Each call returns a new value the
// caller may adjust (Delay, AUs) before serving it.
func ProbeCamera() *rawrtsp.Camera {
	aus, _, _ := Clip()
	return &rawrtsp.Camera{Headers: []byte("Content-Type: application/sdp\r\n"), Codec: "H264", AUs: aus, SDP: []byte(probeSDP)}
}
