// Package timeseries records device health, states, readings and incident
// steps in InfluxDB (1.8 or 2.x) and answers uptime reports from it.
//
// Producers never wait for InfluxDB: Record appends to an on-disk spool
// and returns; one goroutine posts batches from the spool, in order, and
// keeps them there while InfluxDB is down, slow or restarting, across hub
// restarts too.
package timeseries

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/prometheus/client_golang/prometheus"

	"snowhub/configs"
	"snowhub/internal/event"
)

// Options configure the writer.
type Options struct {
	Config   configs.InfluxConfig
	Dir      string // spool directory
	Logger   *slog.Logger
	Registry prometheus.Registerer
	Now      func() time.Time
	// Hub, in a prefecture, tags every point with the hub that wrote it
	// (hub.id), so uptime and figures over the shared InfluxDB can be
	// read per hub or across them. Empty: no tag (a county hub).
	Hub string
}

// Stats describe the writer for /readyz and the pages.
type Stats struct {
	SpoolBytes   int64  `json:"spool_bytes"`
	Backlog      int64  `json:"backlog_points"`
	Written      uint64 `json:"written_points"`
	Rejected     uint64 `json:"rejected_points"`
	DroppedBytes int64  `json:"dropped_sample_bytes"`
	LastError    string `json:"last_error,omitempty"`
}

// Writer is the time-series sink.
type Writer struct {
	o      Options
	log    *slog.Logger
	client influxdb2.Client
	write  api.WriteAPIBlocking
	query  api.QueryAPI

	events  *spool // transitions, readings, incident steps: never dropped
	samples *spool // health samples: the oldest go first when the spool is full

	tsMu  sync.Mutex
	taken takenTimes // instants of each series written lately, so no two points collide

	wake     chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{}
	closed   atomic.Bool
	ok       atomic.Bool
	lastErr  atomic.Pointer[string]
	written  atomic.Uint64
	rejected atomic.Uint64
	dropped  atomic.Int64

	rejectMu sync.Mutex
	m        metrics
	startMu  sync.Mutex // Start against Close

	spoolErr atomic.Pointer[string] // the last append the disk refused; nil once one succeeds
}

type metrics struct {
	points   *prometheus.CounterVec
	spool    prometheus.GaugeFunc
	backlog  prometheus.GaugeFunc
	capped   prometheus.Counter
	duration prometheus.Histogram
	corrupt  prometheus.Counter
	refused  prometheus.Counter
}

const segmentSize = 16 << 20

// New opens the spool (what a previous run left is replayed) and the client.
func New(o Options) (*Writer, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := o.Config
	if c.BatchSize <= 0 {
		c.BatchSize = 5000
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = time.Second
	}
	if c.SpoolMaxBytes <= 0 {
		c.SpoolMaxBytes = 1 << 30
	}
	o.Config = c
	w := &Writer{o: o, log: o.Logger, wake: make(chan struct{}, 1), done: make(chan struct{})}
	var err error
	if w.events, err = openSpool(filepath.Join(o.Dir, "events"), segmentSize); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if w.samples, err = openSpool(filepath.Join(o.Dir, "samples"), segmentSize); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	for _, sp := range []*spool{w.events, w.samples} {
		sp.onCorrupt = func(seg, off, n int64, file string) {
			w.m.corrupt.Inc()
			w.log.Error("spool corruption: a damaged record was skipped and its bytes moved aside; the records after it are kept",
				"segment", seg, "offset", off, "bytes", n, "quarantined", file)
		}
	}
	opts := influxdb2.DefaultOptions().SetUseGZip(true).SetHTTPRequestTimeout(30)
	w.client = influxdb2.NewClientWithOptions(c.URL, c.Token, opts)
	w.write = w.client.WriteAPIBlocking(c.Org, c.Bucket)
	w.query = w.client.QueryAPI(c.Org)
	why := "no write yet"
	w.lastErr.Store(&why)
	w.m = metrics{
		points: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "snowhub_timeseries_points_total",
			Help: "Points by outcome: written, rejected (malformed, kept in rejected.log), dropped (spool full)."}, []string{"outcome"}),
		spool: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "snowhub_timeseries_spool_bytes",
			Help: "Bytes waiting in the write spool on disk."}, func() float64 { return float64(w.events.size() + w.samples.size()) }),
		backlog: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "snowhub_timeseries_backlog_points",
			Help: "Points not yet in InfluxDB."}, func() float64 { return float64(w.events.backlog() + w.samples.backlog()) }),
		capped: prometheus.NewCounter(prometheus.CounterOpts{Name: "snowhub_timeseries_spool_full_total",
			Help: "Times the spool reached its size cap and dropped the oldest health samples."}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "snowhub_timeseries_write_seconds",
			Help: "Duration of batch writes to InfluxDB.", Buckets: prometheus.DefBuckets}),
		corrupt: prometheus.NewCounter(prometheus.CounterOpts{Name: "snowhub_timeseries_spool_corrupt_total",
			Help: "Damaged spool spans skipped and moved to the spool's quarantine/ directory."}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{Name: "snowhub_timeseries_spool_write_errors_total",
			Help: "Appends the disk refused (full, read-only): the event was not accepted and its source keeps it."}),
	}
	for _, outcome := range []string{"written", "rejected", "dropped"} {
		w.m.points.WithLabelValues(outcome) // exported at 0 from the start
	}
	if o.Registry != nil {
		for _, col := range []prometheus.Collector{w.m.points, w.m.spool, w.m.backlog, w.m.capped, w.m.duration, w.m.corrupt, w.m.refused} {
			if err := o.Registry.Register(col); err != nil {
				return nil, err
			}
		}
	}
	return w, nil
}

// Start runs the writing goroutine until Close (not until ctx ends: the
// hub stops the writer after its sources, so what they sent is spooled).
func (w *Writer) Start(ctx context.Context) error {
	w.startMu.Lock()
	defer w.startMu.Unlock()
	if w.closed.Load() || w.cancel != nil {
		return errors.New("time series writer: Start after Start or Close")
	}
	w.ctx, w.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go w.run()
	return nil
}

// Record converts an event to points and appends them to the spool. When it
// returns nil the points survive a crash of the process; they are fsynced
// within 100 ms against a power cut. It never waits for InfluxDB.
func (w *Writer) Record(_ context.Context, ev event.Event) error {
	if w.closed.Load() {
		return errors.New("time series writer closed")
	}
	lines, sample := w.encode(ev)
	if len(lines) == 0 {
		return nil
	}
	sp := w.events
	if sample {
		sp = w.samples
		if w.events.size()+w.samples.size() > w.o.Config.SpoolMaxBytes {
			w.makeRoom()
		}
	}
	if err := sp.append(lines...); err != nil {
		w.m.refused.Inc()
		msg := "数据目录磁盘拒绝写入 (the spool's disk refuses writes): " + err.Error()
		if w.spoolErr.Swap(&msg) == nil {
			w.log.Error("time series spool refuses writes; sources keep their events unacknowledged", "err", err)
		}
		return err
	}
	if w.spoolErr.Load() != nil && w.spoolErr.Swap(nil) != nil {
		w.log.Info("time series spool takes writes again")
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// makeRoom drops the oldest health samples when the spool is at its cap:
// state transitions and incident steps are never dropped.
func (w *Writer) makeRoom() {
	n := w.samples.dropOldest()
	if n > 0 {
		w.dropped.Add(n)
		w.m.capped.Inc()
		w.m.points.WithLabelValues("dropped").Add(float64(n / 100)) // about 100 bytes a sample
		w.log.Warn("time series spool full: oldest health samples dropped", "bytes", n, "cap", w.o.Config.SpoolMaxBytes)
	}
}

func (w *Writer) run() {
	defer close(w.done)
	flush := time.NewTicker(w.o.Config.FlushInterval)
	defer flush.Stop()
	syncT := time.NewTicker(100 * time.Millisecond)
	defer syncT.Stop()
	ping := time.NewTicker(10 * time.Second)
	defer ping.Stop()
	// retry fires a second after a failed batch, and each second after
	// that while InfluxDB does not answer its ping: the spool drains the
	// moment InfluxDB is back, not after a back-off grown during the
	// outage. Only when InfluxDB answers but refuses the batch (overloaded,
	// a wrong token) do the writes back off, exponentially with jitter.
	// retry is kept across loop turns so the other tickers do not reset it.
	backoff := time.Duration(0)
	var notBefore time.Time
	var retry <-chan time.Time
	w.checkPing()
	for {
		if retry == nil {
			progressed, err := w.drain()
			if err != nil {
				backoff = max(min(backoff*2, 30*time.Second), time.Second)
				notBefore = time.Now().Add(backoff/2 + rand.N(backoff/2+1))
				retry = time.After(outageRecheck)
			} else {
				backoff = 0
				if progressed {
					continue // more may be waiting: do not wait for a tick
				}
			}
		}
		select {
		case <-w.ctx.Done():
			return
		case <-syncT.C:
			w.syncAll()
			continue
		case <-flush.C:
		case <-w.wake:
			// Fill a batch rather than post each point alone, unless the
			// interval passes first.
			if w.events.backlog()+w.samples.backlog() < int64(w.o.Config.BatchSize) {
				continue
			}
		case <-ping.C:
			if retry == nil {
				w.checkPing()
			}
			continue
		case <-retry:
			if !w.answers() {
				// Down: the back-off is for an InfluxDB that answers and
				// refuses, not for one that is away.
				notBefore = time.Time{}
				retry = time.After(outageRecheck)
				continue
			}
			if time.Now().Before(notBefore) {
				retry = time.After(outageRecheck)
				continue
			}
			retry = nil
		}
	}
}

func (w *Writer) syncAll() {
	for _, sp := range []*spool{w.events, w.samples} {
		if err := sp.sync(); err != nil {
			w.log.Error("spool fsync failed", "err", err)
		}
	}
}

// drain posts what the spool holds, events first. It stops at the first
// batch InfluxDB could not take.
func (w *Writer) drain() (bool, error) {
	progressed := false
	for _, sp := range []*spool{w.events, w.samples} {
		recs, next, err := sp.read(w.o.Config.BatchSize)
		if err != nil {
			w.log.Error("spool read failed", "err", err)
			return progressed, err
		}
		if len(recs) == 0 {
			continue
		}
		// A full batch means a backlog (InfluxDB was away, or slow):
		// the batch after it goes in flight beside it, so InfluxDB parses
		// one while it writes the other and the backlog drains at bulk
		// speed. The cursor still moves in order, past a batch only once
		// it and every one before it are written.
		var more [][]byte
		var after cursor
		if len(recs) == w.o.Config.BatchSize {
			if more, after, err = sp.readFrom(next, w.o.Config.BatchSize); err != nil {
				w.log.Error("spool read failed", "err", err)
				more = nil
			}
		}
		var errMore error
		var wg sync.WaitGroup
		if len(more) > 0 {
			wg.Add(1)
			go func() { defer wg.Done(); errMore = w.post(more) }()
		}
		err = w.post(recs)
		wg.Wait()
		if err != nil {
			return progressed, err // more, if written, is posted again: the same points
		}
		n := len(recs)
		if len(more) > 0 && errMore == nil {
			next, n = after, n+len(more)
		}
		if err := sp.commit(next, n); err != nil {
			w.log.Error("spool cursor not saved; the batch may be written twice (harmless: same points)", "err", err)
		}
		progressed = true
		if errMore != nil {
			return progressed, errMore
		}
	}
	return progressed, nil
}

// post writes one batch. Malformed points (4xx other than 429) are
// isolated by halving the batch and go to rejected.log; anything else is
// an outage: the batch stays in the spool.
func (w *Writer) post(recs [][]byte) error {
	lines := make([]string, len(recs))
	for i, r := range recs {
		lines[i] = string(r)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(w.ctx, 30*time.Second)
	// A write still running after slowWrite (InfluxDB hung, its disk
	// stalled) makes the store unready now, not at the write's timeout.
	slow := time.AfterFunc(slowWrite, func() {
		w.setErr(fmt.Sprintf("InfluxDB 写入缓慢，超过 %s 未完成 (InfluxDB write slower than %s: hung or overloaded)", slowWrite, slowWrite))
	})
	err := w.write.WriteRecord(ctx, lines...)
	slow.Stop()
	cancel()
	w.m.duration.Observe(time.Since(start).Seconds())
	if err == nil {
		w.written.Add(uint64(len(lines)))
		w.m.points.WithLabelValues("written").Add(float64(len(lines)))
		w.setOK()
		return nil
	}
	var he *influxhttp.Error
	if errors.As(err, &he) && he.StatusCode >= 400 && he.StatusCode < 500 && he.StatusCode != http.StatusTooManyRequests &&
		he.StatusCode != http.StatusUnauthorized && he.StatusCode != http.StatusForbidden && he.StatusCode != http.StatusNotFound {
		w.setOK() // InfluxDB answered: it is up
		if len(recs) == 1 {
			w.reject(lines[0], he.Message)
			return nil
		}
		half := len(recs) / 2
		if err := w.post(recs[:half]); err != nil {
			return err
		}
		return w.post(recs[half:])
	}
	w.setErr(fmt.Sprintf("InfluxDB write failed: %v", err))
	return err
}

func (w *Writer) reject(line, reason string) {
	w.rejected.Add(1)
	w.m.points.WithLabelValues("rejected").Inc()
	w.rejectMu.Lock()
	defer w.rejectMu.Unlock()
	f, err := os.OpenFile(filepath.Join(w.o.Dir, "rejected.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		w.log.Error("rejected point not saved", "err", err)
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "# %s %s\n%s\n", w.o.Now().UTC().Format(time.RFC3339), strings.ReplaceAll(reason, "\n", " "), line)
	w.log.Warn("InfluxDB rejected a point; saved to rejected.log", "reason", reason)
}

func (w *Writer) checkPing() {
	if w.answers() {
		w.setOK()
	}
}

// answers pings InfluxDB (a hung one gets pingTimeout), recording why when
// it does not answer. An answer does not make the writer ready: a batch
// written does (InfluxDB may answer pings and refuse writes).
func (w *Writer) answers() bool {
	ctx, cancel := context.WithTimeout(w.ctx, pingTimeout)
	defer cancel()
	ok, err := w.client.Ping(ctx)
	if !ok {
		w.setErr(fmt.Sprintf("InfluxDB at %s not reachable: %v", w.o.Config.URL, err))
	}
	return ok
}

const (
	// outageRecheck is how often a writer whose batch failed checks
	// whether InfluxDB is back.
	outageRecheck = 250 * time.Millisecond
	// pingTimeout bounds a ping of a hung InfluxDB.
	pingTimeout = 2 * time.Second
	// slowWrite is how long a write may take before InfluxDB counts as
	// degraded in /readyz.
	slowWrite = 3 * time.Second
)

func (w *Writer) setOK() {
	w.ok.Store(true)
	w.lastErr.Store(nil)
}

func (w *Writer) setErr(msg string) {
	if w.closed.Load() {
		return // a batch cut short by Close stays in the spool; not an outage
	}
	if w.ok.Swap(false) || w.lastErr.Load() == nil {
		w.log.Warn("time series not reachable; writes are spooled", "err", msg)
	}
	w.lastErr.Store(&msg)
}

// Ready is nil while InfluxDB takes writes.
func (w *Writer) Ready() error {
	if w.ok.Load() {
		return nil
	}
	if p := w.lastErr.Load(); p != nil {
		// The backlog as it is now, not as it was at the first failure.
		return fmt.Errorf("%s; 缓存待写 %d 点 (%d points kept in the spool)", w.unnamed(*p), w.backlog(), w.backlog())
	}
	return errors.New("not started")
}

// anyURL matches an address inside an error text.
var anyURL = regexp.MustCompile(`[a-z][a-z0-9+.-]*://[^\s"']+`)

// unnamed is an error text for /readyz, which needs no token: without
// InfluxDB's address, org or bucket (the log has the whole text).
func (w *Writer) unnamed(msg string) string {
	msg = anyURL.ReplaceAllString(msg, "InfluxDB")
	for _, s := range []string{w.o.Config.Org, w.o.Config.Bucket, strings.TrimPrefix(strings.TrimPrefix(w.o.Config.URL, "http://"), "https://")} {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "…")
		}
	}
	return msg
}

// SpoolReady is nil while the spool's disk takes writes.
func (w *Writer) SpoolReady() error {
	if p := w.spoolErr.Load(); p != nil {
		return errors.New(*p)
	}
	return nil
}

// Quarantined lists the damaged spool spans moved aside (since start).
func (w *Writer) Quarantined() []string {
	return append(w.events.quarantinedFiles(), w.samples.quarantinedFiles()...)
}

func (w *Writer) backlog() int64 { return w.events.backlog() + w.samples.backlog() }

// Stats reports the spool and counters.
func (w *Writer) Stats() Stats {
	s := Stats{SpoolBytes: w.events.size() + w.samples.size(), Backlog: w.events.backlog() + w.samples.backlog(),
		Written: w.written.Load(), Rejected: w.rejected.Load(), DroppedBytes: w.dropped.Load()}
	if p := w.lastErr.Load(); p != nil {
		s.LastError = *p
	}
	return s
}

// Close stops accepting, gives InfluxDB a few seconds to take what is
// spooled, and keeps the rest on disk for the next start.
func (w *Writer) Close() error {
	w.startMu.Lock()
	defer w.startMu.Unlock()
	if w.closed.Swap(true) {
		return nil
	}
	if w.cancel != nil {
		w.cancel()
		<-w.done
		if w.ok.Load() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			w.ctx = ctx
			for {
				progressed, err := w.drain()
				if err != nil || !progressed {
					break
				}
			}
			cancel()
		}
	}
	err := errors.Join(w.events.close(), w.samples.close())
	w.client.Close()
	return err
}
