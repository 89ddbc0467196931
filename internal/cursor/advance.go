package cursor

import "context"

// AdvanceTo acknowledges every event with Seq <= seq, like AckUpTo, but
// keeps a pending batch that reaches past seq: its remaining events stay
// pending under the same batch id, so a client that holds the id can still
// acknowledge it and is never handed those events again under another id.
// A batch that seq covers entirely is acknowledged with it. It is for
// consumers that delete single events (Jetstream's EventIds) and move the
// position over a deleted prefix of what is pending.
func (s *Store) AdvanceTo(ctx context.Context, id string, seq uint64) (State, error) {
	return s.update(ctx, id, func(c *State) error {
		if seq > c.Acked {
			c.Acked = seq
			if c.Batch != nil && c.Batch.Through <= seq {
				c.Batch = nil
			}
		}
		c.LastActive = s.cfg.Now()
		return nil
	})
}
