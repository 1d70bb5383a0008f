// A live player for one tile: fragmented MP4 over a websocket into Media
// Source Extensions. It starts at a keyframe (the server sends one first),
// keeps within about a second of live, trims old buffer so memory stays
// flat over days, and reconnects by itself.
import { token } from './common.js';

export class Player {
  constructor(video, cameraId) {
    this.video = video;
    this.id = cameraId;
    this.delay = 1000;
    this.stopped = true;
    this.stream = ''; // '' the grid stream (the sub-stream when there is one), 'main' the main stream
  }

  // setStream switches between the sub-stream (grid tiles) and the main
  // stream (a focused or single tile), at once if playing.
  setStream(stream) {
    if (stream === this.stream) return;
    this.stream = stream;
    if (!this.stopped) { this.stop(); this.start(); }
  }

  // play (re)starts on a stream, also after a codec this browser could not play.
  play(stream) {
    this.stop();
    this.stream = stream;
    this.start();
  }

  start() {
    if (!this.stopped || !window.MediaSource) return;
    this.stopped = false;
    this.open();
  }

  stop() {
    this.stopped = true;
    this.ws?.close();
    this.cleanup();
  }

  cleanup() {
    if (this.url) { URL.revokeObjectURL(this.url); this.url = null; }
    this.sb = null; this.queue = []; this.ms = null;
    this.video.removeAttribute('src');
  }

  open() {
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host +
      `/api/v1/cameras/${encodeURIComponent(this.id)}/live?token=${encodeURIComponent(token())}` +
      (this.stream ? `&stream=${this.stream}` : ''));
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.queue = [];
    ws.onmessage = (e) => {
      if (typeof e.data === 'string') {
        const m = JSON.parse(e.data);
        if (m.type === 'init') {
          this.video.dispatchEvent(new CustomEvent('streamok'));
          this.setup(m.codec);
        }
        // Why the stream could not open (a camera down, another hub
        // unreachable): said on the tile while the player keeps retrying.
        if (m.type === 'error') this.video.dispatchEvent(new CustomEvent('streamerror', { detail: m.error }));
        return;
      }
      this.queue.push(e.data);
      this.pump();
    };
    ws.onclose = () => {
      if (ws !== this.ws) return; // replaced by a switch of stream
      this.cleanup();
      if (!this.stopped) {
        // Capped near 4 s with jitter: a tile is back within seconds of a hub restart.
        setTimeout(() => !this.stopped && this.open(), this.delay * (0.75 + Math.random() * 0.5));
        this.delay = Math.min(this.delay * 2, 4000);
      }
    };
  }

  // setup starts a new MediaSource for an init segment: the first, or a new
  // one when the camera's parameters changed (another resolution), which
  // resets the decoder cleanly instead of feeding it a stream it was not
  // set up for. A codec the browser cannot play (H.265 in many browsers)
  // is said on the tile instead of waiting for video that never plays.
  setup(codec) {
    const type = `video/mp4; codecs="${codec}"`;
    if (!MediaSource.isTypeSupported(type)) {
      this.stopped = true;
      this.ws?.close();
      this.cleanup();
      this.video.dispatchEvent(new CustomEvent('unsupported', { detail: codec }));
      return;
    }
    if (this.url) URL.revokeObjectURL(this.url);
    this.sb = null; this.queue = [];
    this.ms = new MediaSource();
    this.url = URL.createObjectURL(this.ms);
    this.video.src = this.url;
    this.ms.addEventListener('sourceopen', () => {
      try {
        this.sb = this.ms.addSourceBuffer(type);
        this.sb.mode = 'segments';
        this.sb.addEventListener('updateend', () => this.pump());
        this.delay = 1000;
        this.pump();
      } catch (err) { this.ws.close(); }
    }, { once: true });
  }

  pump() {
    const sb = this.sb;
    if (!sb || sb.updating || this.queue.length === 0) return;
    const v = this.video;
    if (sb.buffered.length > 0) {
      const end = sb.buffered.end(sb.buffered.length - 1);
      if (end - v.currentTime > 1.5) v.currentTime = end - 0.3; // back to the live edge
      const start = sb.buffered.start(0);
      if (v.currentTime - start > 10) { sb.remove(start, v.currentTime - 5); return; }
    }
    try {
      sb.appendBuffer(this.queue.shift());
      if (v.paused) v.play().catch(() => {});
    } catch (err) { this.ws.close(); }
  }
}
