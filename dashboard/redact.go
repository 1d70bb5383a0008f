package dashboard

import (
	"sync"

	"snowhub/configs"
)

// redactor keeps a redactor of the configuration in force, rebuilt when a
// reload puts a new one in force.
type redactor struct {
	mu  sync.Mutex
	cfg *configs.Config
	r   *configs.Redactor
}

func (x *redactor) of(cfg *configs.Config) *configs.Redactor {
	x.mu.Lock()
	defer x.mu.Unlock()
	if cfg != x.cfg || x.r == nil {
		x.cfg, x.r = cfg, configs.NewRedactor(cfg.Secrets())
	}
	return x.r
}
