package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"snowhub/configs"
)

// reloadDebounce lets an editor finish writing (several events for one
// save) before the file is read.
const reloadDebounce = 500 * time.Millisecond

// watchConfig reloads the configuration on SIGHUP and when its file changes.
// It returns a function that stops watching and waits.
func (h *Hub) watchConfig(ctx context.Context, hup <-chan os.Signal) (stop func()) {
	path := h.cfg.Load().Path
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var changes <-chan fsnotify.Event
	if path != "" {
		w, err := fsnotify.NewWatcher()
		if err == nil {
			// Watch the directory: editors and config managers replace the
			// file by rename, which a watch on the file itself would lose.
			if err = w.Add(filepath.Dir(path)); err == nil {
				changes = w.Events
				wg.Add(1)
				go func() { defer wg.Done(); <-ctx.Done(); w.Close() }()
			} else {
				w.Close()
			}
		}
		if err != nil {
			h.log.Warn("configuration file not watched; reload with SIGHUP", "path", path, "err", err)
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		var debounce <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				h.Reload(path)
			case ev, ok := <-changes:
				if !ok {
					changes = nil
					continue
				}
				if filepath.Clean(ev.Name) == filepath.Clean(path) && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) != 0 {
					debounce = time.After(reloadDebounce)
				}
			case <-debounce:
				debounce = nil
				h.Reload(path)
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// Reload validates the whole file at path first: a bad file keeps the
// running configuration and says why (log, /readyz, metric); a good one
// changes only what changed. Settings that cannot change while running keep
// their old value and are reported as needing a restart.
func (h *Hub) Reload(path string) error {
	if path == "" {
		return nil
	}
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	if h.closed.Load() || !h.running.Load() {
		return errors.New("hub not running: reload refused")
	}
	next, data, err := configs.LoadFile(path)
	if err != nil {
		// /readyz needs no token: it says where the file is wrong, never
		// what it holds; the log has the whole error.
		msg := "配置重载被拒绝，继续使用当前配置 (reload refused, running configuration kept): " + configs.WhereOnly(err)
		h.reloadErr.Store(&msg)
		h.metrics.reloads.WithLabelValues("invalid").Inc()
		h.log.Error("configuration reload refused; the running configuration is kept", "path", path, "err", err)
		return err
	}
	running := h.cfg.Load()
	change := configs.Diff(h.filed, next)
	var pending, applied []string
	for _, k := range changedKeys(h.started, next) {
		if covered(restartKeys, k) {
			pending = append(pending, k)
		}
	}
	for _, k := range changedKeys(h.filed, next) {
		if !covered(restartKeys, k) {
			applied = append(applied, k)
		}
	}
	filed := *next
	h.filed = &filed
	// Settings bound at start stay as they are until a restart (the
	// embedded broker's address and the hub's own login on it included).
	keepRestartKeys(next, running)
	if h.broker != nil {
		h.broker.Update(next)
	}
	if h.logSecrets != nil {
		h.logSecrets.add(next)
	}
	h.setConfig(next)
	h.updateCameras(next)
	h.pref.foreign.Update(next) // before ingest drops what is now another hub's from its unknown list
	h.ingest.Update(next.Owned())
	h.alerts.Update(next.Owned())
	h.reloadNotify(next)
	h.applyMaintenance()
	h.metrics.reloads.WithLabelValues("ok").Inc()
	h.metrics.lastGood.Set(0)
	h.saveLastGood(path, data)
	h.metrics.restartPending.Set(float64(len(pending)))
	if len(pending) > 0 {
		msg := fmt.Sprintf("configuration reloaded, but %s needs restart", strings.Join(pending, ", "))
		h.reloadErr.Store(&msg)
		h.log.Warn("configuration reloaded; some settings need a restart to take effect (their running values are kept)", "keys", pending)
	} else {
		h.reloadErr.Store(nil)
	}
	if len(applied) > 0 {
		h.log.Info("configuration keys applied live", "keys", applied)
	}
	h.log.Info("configuration reloaded", "path", path, "summary", next.Summary(), "change", change.String())
	return nil
}

// saveLastGood keeps the file that just loaded as the one to start on
// should the file stop loading (configs.SaveLastGood). Not saving is no
// reason to stop: the previous copy stays, and the log says why.
func (h *Hub) saveLastGood(path string, data []byte) {
	dir := h.filed.DataDir
	if err := configs.SaveLastGood(dir, path, data); err != nil {
		h.log.Warn("上次有效的配置未能保存 (the last good configuration was not saved; the previous copy is kept)", "err", err)
	}
}

// onLastGood records that the hub starts on the last good configuration
// because the file at its path does not load: in the log with every
// problem of the file, in /readyz by key and line only, and in
// snowhub_config_last_good. A reload of a file that loads ends it.
func (h *Hub) onLastGood(fileErr error, saved time.Time) {
	path := h.cfg.Load().Path
	h.log.Error("配置文件无效，已以上次有效的配置启动；修正文件后重载即可 (the configuration file is not valid; the hub started on the last good configuration; fix the file and reload)",
		"path", path, "last_good", filepath.Join(h.filed.DataDir, configs.LastGoodName), "saved", saved.Format(time.RFC3339), "err", fileErr)
	msg := fmt.Sprintf("配置文件无效，正以上次有效的配置运行（保存于 %s）(configuration file not valid, running on the last good configuration saved %s): %s",
		saved.Format(time.RFC3339), saved.Format(time.RFC3339), configs.WhereOnly(fileErr))
	h.reloadErr.Store(&msg)
	h.metrics.lastGood.Set(1)
}
