package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"
)

// stepSMS texts each notice's people, within each number's daily budget
// and the same-content spacing; a number over budget falls to the route's
// next channel.
func (w *worker) stepSMS(ctx context.Context, pend []*Notice) time.Duration {
	loc := w.r.loc
	var soonest time.Duration
	for _, no := range pend {
		if ctx.Err() != nil {
			return 0
		}
		now := w.n.now()
		day := now.In(loc).Format("2006-01-02")
		text := w.r.smsText(no)
		sum := sha256.Sum256([]byte(text))
		h := hex.EncodeToString(sum[:8])
		var ok, over, later []Person
		for _, p := range no.People {
			b := w.sms[p.Phone]
			if b == nil || b.Day != day {
				b = &smsBudget{Day: day, Last: map[string]time.Time{}}
				w.sms[p.Phone] = b
			}
			switch {
			case w.ch.DailyBudget > 0 && b.Count >= w.ch.DailyBudget:
				over = append(over, p)
			case now.Sub(b.Last[h]) < w.ch.Spacing:
				later = append(later, p)
				if d := w.ch.Spacing - now.Sub(b.Last[h]); soonest == 0 || d < soonest {
					soonest = d
				}
			default:
				ok = append(ok, p)
			}
		}
		o := &outcome{channel: w.ch.ID, sms: map[string]*smsBudget{}}
		if len(ok) > 0 {
			m := &message{Text: text, Params: w.r.smsParams(no), Notices: []*Notice{no}}
			for _, p := range ok {
				m.Phones = append(m.Phones, p.Phone)
			}
			sctx, cancel := context.WithTimeout(ctx, w.ch.Timeout)
			err := w.snd.send(sctx, m)
			cancel()
			if ctx.Err() != nil {
				return 0
			}
			if err != nil {
				ve := classify(err)
				w.n.m.failed.WithLabelValues(w.ch.ID, ve.Class.String()).Inc()
				switch ve.Class {
				case ClassBudget:
					// The cloud counts what we did not: take its word.
					for _, p := range ok {
						if slices.Contains(ve.Phones, p.Phone) || len(ve.Phones) == 0 {
							w.sms[p.Phone].Count = max(w.sms[p.Phone].Count, w.ch.DailyBudget)
							o.sms[p.Phone] = w.sms[p.Phone]
						}
					}
					_ = w.n.store.apply(o)
					return 0 // re-plan: those numbers now fall to the next channel
				case ClassRateLimit:
					w.retryAt = now.Add(max(ve.Wait, time.Second))
					w.setState("throttled", ve.Error())
					return max(ve.Wait, time.Second)
				case ClassRejected:
					w.giveUp([]*Notice{no}, now, ve, o)
					continue
				case ClassAuth:
					w.setState("failing", ve.Error())
					return w.retry(now, ve)
				default:
					w.setStateIf("ok", "retrying", ve.Error())
					return w.retry(now, ve)
				}
			}
			w.backoff = 0
			for _, p := range ok {
				b := w.sms[p.Phone]
				b.Count++
				for k, t := range b.Last {
					if now.Sub(t) > w.ch.Spacing {
						delete(b.Last, k)
					}
				}
				b.Last[h] = now
				o.sms[p.Phone] = b
			}
			o.records = append(o.records, w.records(m, now, "delivered", "")...)
			w.mu.Lock()
			w.sent++
			w.mu.Unlock()
			w.n.m.sent.WithLabelValues(w.ch.ID).Inc()
			w.setState("ok", "")
		}
		if len(over) > 0 {
			var phones []string
			for _, p := range over {
				phones = append(phones, p.Phone)
			}
			detail := "超出每日短信预算 (daily budget spent)"
			if len(no.Chain) > 0 {
				cp := *no
				cp.Channel, cp.Chain, cp.People, cp.Key = no.Chain[0], no.Chain[1:], over, 0
				o.move = append(o.move, &cp)
				o.records = append(o.records, w.records(&message{Notices: []*Notice{no}, Phones: phones}, now, "moved", detail)...)
			} else {
				o.records = append(o.records, w.records(&message{Notices: []*Notice{no}, Phones: phones}, now, "failed", detail)...)
			}
		}
		if len(no.People) == 0 {
			o.records = append(o.records, w.records(&message{Notices: []*Notice{no}}, now, "failed", "路由未配置接收号码 (the route names no phone)")...)
		}
		if len(later) > 0 {
			no.People = later
			o.update = append(o.update, no)
		} else {
			o.remove = append(o.remove, no)
		}
		if err := w.n.store.apply(o); err != nil {
			w.n.log.Error("notify queue not updated", "channel", w.ch.ID, "err", err)
			return time.Second
		}
		w.n.wakeChannels(o.move)
	}
	if soonest > 0 {
		return soonest
	}
	return 0
}
