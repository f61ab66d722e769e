package access

import "airlock/internal/config"

func (s *Service) config() *config.Config { return s.cfg.Load() }

// SetConfig makes cfg the service's configuration (users, policies,
// databases, token and request lifetimes) from now on. The caller then
// calls SyncConfigUsers so that the store follows the new users.
func (s *Service) SetConfig(cfg *config.Config) { s.cfg.Store(cfg) }
