package notify

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"snowhub/configs"
)

type kind int

const (
	kindRobot   kind = iota // group robots: rate-limited, digests
	kindMachine             // webhook, MQTT: every step on its own, in order
	kindSMS                 // per-number budgets
)

// worker delivers one channel's queue. Only its goroutine touches the
// delivery state; status fields are under mu.
type worker struct {
	n    *Notifier
	ch   configs.NotifyChannel
	kind kind
	snd  sender
	r    *renderer
	wake chan struct{}
	tr   *http.Transport // nil when the caller gave the HTTP client

	// delivery state (the worker goroutine's own)
	sends        []time.Time // recent accepted sends, for the rate window
	sms          map[string]*smsBudget
	blockedUntil time.Time
	retryAt      time.Time
	backoff      time.Duration
	maxBytes     int

	mu      sync.Mutex
	state   string
	since   time.Time
	lastErr string
	sent    int64
}

func (n *Notifier) newWorker(ch configs.NotifyChannel, r *renderer) (*worker, error) {
	hc := n.o.HTTP
	var tr *http.Transport
	if hc == nil {
		// The channel's own connections, closed with it.
		tr = http.DefaultTransport.(*http.Transport).Clone()
		hc = &http.Client{Timeout: ch.Timeout, Transport: tr}
	}
	w := &worker{n: n, ch: ch, r: r, wake: make(chan struct{}, 1), state: "ok", maxBytes: ch.MaxBytes}
	if ch.Type == "dingtalk" {
		// DingTalk counts the whole request body: leave room for the
		// JSON around the text and its escaped line breaks.
		w.maxBytes = ch.MaxBytes * 9 / 10
	}
	switch ch.Type {
	case "wecom":
		w.kind, w.snd = kindRobot, &wecomSender{ch: ch, hc: hc}
	case "dingtalk":
		w.kind, w.snd = kindRobot, &dingSender{ch: ch, hc: hc, now: n.now, block: n.o.DingTalkBlock}
	case "sms":
		w.kind = kindSMS
		switch ch.Provider {
		case "alibaba":
			w.snd = &alibabaSender{ch: ch, hc: hc, now: n.now}
		case "tencent":
			w.snd = &tencentSender{ch: ch, hc: hc, now: n.now}
		default:
			w.snd = &gatewaySender{ch: ch, hc: hc}
		}
	case "webhook":
		w.kind, w.snd = kindMachine, &webhookSender{ch: ch, hc: hc, r: r}
	case "mqtt":
		o := n.o.MQTT
		if ch.URL != "" {
			o.Broker = ch.URL
		}
		if o.ClientID == "" {
			o.ClientID = "snowhub"
		}
		o.ClientID += "-notify-" + ch.ID
		if o.TopicPrefix == "" {
			o.TopicPrefix = "snowbright"
		}
		w.kind, w.snd = kindMachine, newMQTTSender(ch, o, r)
	default:
		return nil, &VendorError{Class: ClassRejected, Code: "type", Msg: "unknown channel type " + ch.Type}
	}
	w.sends, w.sms = n.store.limits(ch.ID)
	w.tr = tr
	return w, nil
}

// stop closes the channel's sender and idle connections.
func (w *worker) stop() {
	w.snd.close()
	if w.tr != nil {
		w.tr.CloseIdleConnections()
	}
}

func (w *worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *worker) status() ChannelStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	return ChannelStatus{ID: w.ch.ID, Name: w.ch.Name, Type: w.ch.Type, State: w.state, Since: w.since,
		LastError: w.lastErr, Sent: w.sent}
}

func (w *worker) setState(state, errText string) {
	w.mu.Lock()
	if w.state != state {
		w.state, w.since = state, w.n.now()
		lvl := "info"
		if state == "failing" {
			lvl = "error"
		}
		if lvl == "error" {
			w.n.log.Error("通知渠道失败，继续排队 (notify channel failing; notices stay queued)", "channel", w.ch.ID, "err", errText)
		} else {
			w.n.log.Info("notify channel state", "channel", w.ch.ID, "state", state, "err", errText)
		}
	}
	w.lastErr = errText
	w.mu.Unlock()
	f := 0.0
	if state == "failing" {
		f = 1
	}
	w.n.m.failing.WithLabelValues(w.ch.ID).Set(f)
}

func (w *worker) run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-t.C:
		}
		wait := w.step(ctx)
		if ctx.Err() != nil {
			return
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(max(wait, 0))
	}
}

const idle = time.Hour

// step delivers what it can now and says when to come back.
func (w *worker) step(ctx context.Context) time.Duration {
	now := w.n.now()
	if d := w.blockedUntil.Sub(now); d > 0 {
		return d
	}
	if d := w.retryAt.Sub(now); d > 0 {
		return d
	}
	if w.kind == kindRobot {
		// A full window waits without reading the queue.
		if free, wait := w.free(now); free == 0 {
			w.setStateIf("ok", "throttled", "等待频率窗口 (rate window)")
			return wait
		}
	}
	pend, err := w.n.store.pending(w.ch.ID, 20000)
	if err != nil {
		w.n.log.Error("notify queue unreadable", "channel", w.ch.ID, "err", err)
		return time.Second
	}
	if len(pend) == 0 {
		if w.state != "failing" {
			w.setState("ok", "")
		}
		return idle
	}
	switch w.kind {
	case kindMachine:
		return w.stepMachine(ctx, pend)
	case kindSMS:
		return w.stepSMS(ctx, pend)
	}
	return w.stepRobot(ctx, pend)
}

// free is how many messages the rate window allows now, and when the next
// slot opens if none.
func (w *worker) free(now time.Time) (int, time.Duration) {
	if w.ch.RateLimit <= 0 {
		return 1 << 30, 0
	}
	// A small margin keeps our window a little longer than the vendor's,
	// so clocks a few milliseconds apart do not cost a 130101.
	win := w.ch.RateWindow + w.ch.RateWindow/50
	cut := now.Add(-win)
	i := 0
	for i < len(w.sends) && !w.sends[i].After(cut) {
		i++
	}
	w.sends = w.sends[i:]
	f := w.ch.RateLimit - len(w.sends)
	if f > 0 {
		return f, 0
	}
	return 0, w.sends[0].Add(win).Sub(now) + time.Millisecond
}

func (w *worker) stepRobot(ctx context.Context, pend []*Notice) time.Duration {
	now := w.n.now()
	free, wait := w.free(now)
	if free == 0 {
		w.setStateIf("ok", "throttled", "等待频率窗口 (rate window)")
		return wait
	}
	markdown := w.ch.Format == "markdown"
	var msgs []*message
	// One slot is kept for a digest, so a burst never leaves a group with
	// only single notices and a long wait.
	reserve := 1
	if w.ch.RateLimit <= 0 {
		reserve = 0
	}
	if len(pend) <= free-reserve {
		for _, no := range pend {
			title, text := w.r.noticeText(no, markdown)
			if w.ch.Keyword != "" && !strings.Contains(text, w.ch.Keyword) {
				text = w.ch.Keyword + " " + text
			}
			m := &message{Title: title, Text: truncBytes(text, w.maxBytes), Notices: []*Notice{no}, Mentions: mentions(no)}
			msgs = append(msgs, m)
		}
	} else {
		msgs = w.r.digest(pend, markdown, w.maxBytes, w.ch.Keyword)
		if len(msgs) > free {
			msgs = msgs[:free]
		}
	}
	for _, m := range msgs {
		if ctx.Err() != nil {
			return 0
		}
		d, stop := w.deliver(ctx, m)
		if stop {
			return d
		}
	}
	return 0
}

// deliver sends one message and writes what followed; stop says the channel
// must wait d before the next.
func (w *worker) deliver(ctx context.Context, m *message) (d time.Duration, stop bool) {
	sctx, cancel := context.WithTimeout(ctx, w.ch.Timeout)
	err := w.snd.send(sctx, m)
	cancel()
	if ctx.Err() != nil {
		return 0, true // closing: the notice stays queued
	}
	now := w.n.now()
	o := &outcome{channel: w.ch.ID}
	if err == nil {
		w.backoff = 0
		w.sends = append(w.sends, now)
		o.remove = m.Notices
		o.sends = w.sends
		o.records = w.records(m, now, "delivered", "")
		if e := w.n.store.apply(o); e != nil {
			w.n.log.Error("delivered notices not recorded (they may be sent again)", "channel", w.ch.ID, "err", e)
		}
		w.mu.Lock()
		w.sent++
		w.mu.Unlock()
		w.n.m.sent.WithLabelValues(w.ch.ID).Inc()
		if m.Digest {
			w.n.m.digests.WithLabelValues(w.ch.ID).Inc()
		}
		w.setState("ok", "")
		return 0, false
	}
	ve := classify(err)
	w.n.m.failed.WithLabelValues(w.ch.ID, ve.Class.String()).Inc()
	switch ve.Class {
	case ClassRateLimit:
		// Wait for the window's end (DingTalk: its block), then what piled
		// up goes as a digest. The vendor counted sends we did not see
		// (another sender on the same robot): fill our window too.
		wait := max(ve.Wait, w.ch.RateWindow)
		w.blockedUntil = now.Add(wait)
		w.setState("throttled", ve.Error())
		return wait, true
	case ClassTooLong:
		w.maxBytes = max(w.maxBytes*3/4, 256)
		w.n.log.Warn("message over the vendor's size cap; splitting smaller", "channel", w.ch.ID, "max_bytes", w.maxBytes)
		return 0, true
	case ClassAuth:
		w.setState("failing", ve.Error())
		// Somebody must still hear: a copy goes down the route's chain
		// once, and the notice stays queued here for when it is fixed.
		for _, no := range m.Notices {
			if !no.Copied && len(no.Chain) > 0 {
				cp := *no
				cp.Channel, cp.Chain, cp.Key = no.Chain[0], no.Chain[1:], 0
				o.move = append(o.move, &cp)
				no.Copied = true
				o.update = append(o.update, no)
			}
		}
		if len(o.move) > 0 {
			o.records = w.records(&message{Notices: o.update, Digest: m.Digest}, now, "moved", ve.Code+" "+ve.Msg)
			_ = w.n.store.apply(o)
			w.n.wakeChannels(o.move)
		}
		return w.retry(now, ve), true
	case ClassRejected, ClassBudget:
		w.giveUp(m.Notices, now, ve, o)
		return 0, false
	default:
		w.setStateIf("ok", "retrying", ve.Error())
		return w.retry(now, ve), true
	}
}

// giveUp moves notices this channel cannot deliver to the route's next
// channel, or records the failure when the chain ends.
func (w *worker) giveUp(ns []*Notice, now time.Time, ve *VendorError, o *outcome) {
	for _, no := range ns {
		o.remove = append(o.remove, no)
		if len(no.Chain) > 0 {
			cp := *no
			cp.Channel, cp.Chain, cp.Key = no.Chain[0], no.Chain[1:], 0
			o.move = append(o.move, &cp)
		}
	}
	res := "failed"
	if len(o.move) > 0 {
		res = "moved"
	}
	o.records = append(o.records, w.records(&message{Notices: ns}, now, res, ve.Code+" "+ve.Msg)...)
	if err := w.n.store.apply(o); err != nil {
		w.n.log.Error("notify queue not updated", "channel", w.ch.ID, "err", err)
	}
	w.n.log.Warn("notify: notice refused by the vendor", "channel", w.ch.ID, "code", ve.Code, "msg", ve.Msg, "moved", len(o.move))
	w.n.wakeChannels(o.move)
}

func (w *worker) setStateIf(from, to, errText string) {
	w.mu.Lock()
	cur := w.state
	w.mu.Unlock()
	if cur == from {
		w.setState(to, errText)
	}
}

// retry is a jittered, doubling back-off.
func (w *worker) retry(now time.Time, ve *VendorError) time.Duration {
	if w.backoff == 0 {
		w.backoff = w.n.o.BackoffMin
	} else {
		w.backoff = min(w.backoff*2, w.n.o.BackoffMax)
	}
	d := w.backoff/2 + rand.N(w.backoff/2+1)
	w.retryAt = now.Add(d)
	w.n.log.Debug("notify retry", "channel", w.ch.ID, "in", d, "err", ve.Error())
	return d
}

func (w *worker) records(m *message, now time.Time, result, detail string) []Record {
	to := w.ch.Name
	if len(m.Phones) > 0 {
		to = strings.Join(m.Phones, ",")
	}
	out := make([]Record, 0, len(m.Notices))
	for _, no := range m.Notices {
		out = append(out, Record{Incident: no.Step.Incident, StepID: no.Step.ID, Action: no.Step.Action,
			Channel: w.ch.ID, ChannelName: w.ch.Name, Type: w.ch.Type, To: to, At: now, Result: result,
			Detail: detail, Digest: m.Digest, Repeat: no.Repeat})
	}
	return out
}

// stepMachine sends each step on its own, in queue order: receivers
// (12345 platforms, MQTT subscribers) see an incident's steps in order.
func (w *worker) stepMachine(ctx context.Context, pend []*Notice) time.Duration {
	for _, no := range pend {
		if ctx.Err() != nil {
			return 0
		}
		if d, stop := w.deliver(ctx, &message{Notices: []*Notice{no}}); stop {
			return d
		}
	}
	return 0
}
