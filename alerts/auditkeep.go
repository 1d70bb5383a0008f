package alerts

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"snowhub/internal/event"
)

// Keeping the audit trail: records older than audit.keep (at least 180
// days) are removed once an hour, the removal itself recorded, the chain
// still checkable from the anchor it leaves; past audit.max_bytes the hub
// warns, and removes nothing younger than audit.keep.

// AuditPruned is the action of the record a removal leaves in the trail.
const AuditPruned = "audit_pruned"

// auditEvery is how often the trail's age and size are looked at.
const auditEvery = time.Hour

type auditKeep struct {
	checked time.Time
	bytes   prometheus.Gauge
	over    prometheus.Gauge
}

func newAuditKeep(reg prometheus.Registerer) *auditKeep {
	k := &auditKeep{
		bytes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "snowhub_audit_bytes",
			Help: "Bytes the audit trail holds, as of the last hourly look."}),
		over: prometheus.NewGauge(prometheus.GaugeOpts{Name: "snowhub_audit_over_budget",
			Help: "1 while the audit trail holds more than audit.max_bytes of records younger than audit.keep (none is removed: give it more room)."}),
	}
	if reg != nil {
		reg.MustRegister(k.bytes, k.over)
	}
	return k
}

// keepAudit removes what is past audit.keep and looks at the size, at
// most once an hour (called from the timer loop, without e.mu).
func (e *Engine) keepAudit(now time.Time) {
	if now.Sub(e.auditKeep.checked) < auditEvery {
		return
	}
	e.auditKeep.checked = now
	e.mu.Lock()
	cfg := e.cfg.Audit
	e.mu.Unlock()
	if cfg.Keep <= 0 {
		return
	}
	before := now.Add(-cfg.Keep)
	total := 0
	for {
		n, more, err := e.store.pruneAudit(before)
		total += n
		if err != nil {
			e.log.Error("审计记录清理失败 (audit records past audit.keep not removed)", "err", err)
			break
		}
		if !more {
			break
		}
	}
	if total > 0 {
		e.log.Info("已清理过期审计记录 (audit records past audit.keep removed)", "records", total, "before", before)
		if err := e.store.audit(event.AuditEntry{At: now.UTC(), User: "system", Action: AuditPruned,
			Result: fmt.Sprintf("已清理 %s 之前的 %d 条记录（保留 %s）/ %d records before %s removed (audit.keep %s)",
				before.UTC().Format(time.RFC3339), total, cfg.Keep, total, before.UTC().Format(time.RFC3339), cfg.Keep)}); err != nil {
			e.log.Error("审计清理未记入审计 (the removal not audited)", "err", err)
		}
	}
	n, err := e.store.auditBytes()
	if err != nil {
		return
	}
	e.auditKeep.bytes.Set(float64(n))
	if n > cfg.MaxBytes {
		e.auditKeep.over.Set(1)
		e.log.Warn("审计记录超出 audit.max_bytes，180 天内的记录不会删除，请增加空间 (the audit trail is over audit.max_bytes; records younger than audit.keep are kept: give it more room)",
			"bytes", n, "max_bytes", cfg.MaxBytes)
	} else {
		e.auditKeep.over.Set(0)
	}
}
