package camera

import "fmt"

// SourceGB28181 is Spec.Source of a GB/T 28181 channel.
const SourceGB28181 = "gb28181"

// Report sets the state of a camera whose Spec.Source reports it (a GB/T
// 28181 channel: its device's registration and keepalives, its catalog
// Status), with the cause and the reason in words. It goes through the
// same model as a probed camera's verdict: a transition is reported by
// OnTransition, maintenance wins, the history counts for the uptime. A
// state the camera package does not know is unknown.
func (m *Manager) Report(id, state, cause, reason string) error {
	if err := m.begin(); err != nil {
		return err
	}
	defer m.calls.Done()
	w, err := m.worker(id)
	if err != nil {
		return err
	}
	if w.spec.Source == "" {
		return fmt.Errorf("camera %s: pulled by the hub, its state is not reported", id)
	}
	switch state {
	case StateOnline, StateDegraded, StateOffline:
	default:
		state = StateUnknown
	}
	w.mu.Lock()
	w.reported.state, w.reported.cause, w.reported.reason = state, cause, reason
	w.mu.Unlock()
	w.evaluate()
	return nil
}
